"""`aios export` on the command line: track filter, bad results files, missing SMPL-X."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from aios_cli.main import cli
from aios_core.results.results_file import save_results
from tests.export_synthetic import make_results


@pytest.fixture(scope="module")
def results_path(tmp_path_factory):
    return save_results(make_results(), tmp_path_factory.mktemp("run") / "clip.aios.npz")


def export(*args):
    result = CliRunner().invoke(cli, ["export", *map(str, args)])
    return result.exit_code, result.output.strip()


def test_track_filter_writes_only_that_person(results_path, smplx_model_dir, tmp_path):
    code, output = export(results_path, "--format", "npz", "--out", tmp_path / "p.npz",
                          "--track", 7, "--smplx-dir", smplx_model_dir)
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]
    with np.load(tmp_path / "p.npz") as data:
        assert int(data["track_id"]) == 7 and data["poses"].shape == (5, 165)


def test_unknown_track_names_the_available_ones(results_path, smplx_model_dir, tmp_path):
    code, output = export(results_path, "--format", "json", "--out", tmp_path / "m.json",
                          "--track", 3, "--smplx-dir", smplx_model_dir)
    assert code == 2 and output.startswith("aios export:") and "available: 0, 7" in output
    assert not list(tmp_path.iterdir())


def test_older_schema_is_refused_clearly(results_path, smplx_model_dir, tmp_path):
    with np.load(results_path) as data:
        arrays = dict(data)
    arrays["schema_version"] = np.int64(0)
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    code, output = export(old, "--format", "npz", "--out", tmp_path / "o.npz",
                          "--smplx-dir", smplx_model_dir)
    assert code == 2 and "schema 0" in output and len(output.splitlines()) == 1


def test_corrupt_results_file_is_refused_clearly(smplx_model_dir, tmp_path):
    corrupt = tmp_path / "broken.npz"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    code, output = export(corrupt, "--format", "bvh", "--out", tmp_path / "o.bvh",
                          "--smplx-dir", smplx_model_dir)
    assert code == 2 and output.startswith("aios export:") and "broken.npz" in output
    assert not (tmp_path / "o.bvh").exists()


def test_missing_smplx_folder_says_what_is_expected(results_path, tmp_path):
    code, output = export(results_path, "--format", "glb", "--out", tmp_path / "m.glb",
                          "--smplx-dir", tmp_path)
    assert code == 2 and "SMPLX_NEUTRAL" in output


def test_exported_files_get_normal_permissions(results_path, smplx_model_dir, tmp_path):
    import os

    code, _ = export(results_path, "--format", "bvh", "--out", tmp_path / "m.bvh",
                     "--track", 0, "--smplx-dir", smplx_model_dir)
    umask = os.umask(0)
    os.umask(umask)
    assert code == 0 and (tmp_path / "m.bvh").stat().st_mode & 0o777 == 0o666 & ~umask


def test_fbx_without_blender_explains_both_routes(results_path, smplx_model_dir, tmp_path,
                                                  monkeypatch):
    import importlib.util
    import shutil

    if importlib.util.find_spec("bpy") or shutil.which("blender"):
        pytest.skip("Blender is available here")
    monkeypatch.delenv("AIOS_BLENDER", raising=False)
    code, output = export(results_path, "--format", "fbx", "--out", tmp_path / "m.fbx",
                          "--smplx-dir", smplx_model_dir)
    assert code == 2 and "AIOS_BLENDER" in output and "--format glb" in output
    assert not list(tmp_path.iterdir())


UNWRITABLE = Path("/sys")  # refuses new files even to root (chmod does not stop root)


def one_line_usage_error(code: int, output: str) -> str:
    assert code == 2, output
    assert output.startswith("aios export: ") and len(output.splitlines()) == 1, output
    return output


@pytest.mark.parametrize("content", [b"\x00\x00\x00\x20ftypisom" + b"\x00" * 64, b"notes\n"])
def test_a_video_or_text_file_is_not_a_results_file(smplx_model_dir, tmp_path, content):
    given = tmp_path / "clip.mp4"
    given.write_bytes(content)
    code, output = export(given, "--format", "npz", "--out", tmp_path / "o.npz",
                          "--smplx-dir", smplx_model_dir)
    output = one_line_usage_error(code, output)
    assert f"{given} is not an aios results file: it is " in output
    assert "allow_pickle" not in output and "pickled" not in output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--format", "glb", "--out", "x.bvh"], "ends in .bvh but --format is glb: use --out "
                                                 "x.glb or --format bvh"),
        (["--format", "npz", "--out", "x.txt"], "ends in .txt but --format is npz"),
        (["--format", "obj", "--out", "x.glb"], "--format obj writes a folder"),
        (["--out", "motion.dat"], "no format given and the suffix .dat names none"),
        (["--out", "meshes"], "no format given and the suffix (none) names none"),
    ],
)
def test_an_out_suffix_that_contradicts_the_format_is_refused(results_path, smplx_model_dir,
                                                              tmp_path, monkeypatch, arguments,
                                                              message):
    monkeypatch.chdir(tmp_path)
    code, output = export(results_path, *arguments, "--smplx-dir", smplx_model_dir)
    assert message in one_line_usage_error(code, output)
    assert not list(tmp_path.iterdir())


def test_the_format_is_taken_from_the_suffix_when_not_given(results_path, smplx_model_dir,
                                                            tmp_path):
    code, output = export(results_path, "--out", tmp_path / "m.bvh", "--track", 0,
                          "--smplx-dir", smplx_model_dir)
    assert code == 0, output
    assert (tmp_path / "m.bvh").read_text().startswith("HIERARCHY")


@pytest.mark.parametrize("fps", ["100000", "0.5", "0"])
def test_fps_out_of_range_is_refused_with_the_range(results_path, smplx_model_dir, tmp_path,
                                                    fps):
    code, output = export(results_path, "--format", "npz", "--out", tmp_path / "m.npz",
                          "--fps", fps, "--smplx-dir", smplx_model_dir)
    assert code == 2 and "1.0<=x<=240.0" in output
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not UNWRITABLE.is_dir(), reason="needs Linux's /sys")
@pytest.mark.parametrize(("file_format", "out"), [("bvh", "m.bvh"), ("obj", "meshes")])
def test_an_unwritable_out_folder_is_a_usage_error_before_any_work(results_path, tmp_path,
                                                                   file_format, out):
    # No SMPL-X folder is given: the output place is checked before anything is loaded.
    code, output = export(results_path, "--format", file_format, "--out", UNWRITABLE / out,
                          "--smplx-dir", tmp_path / "no-smplx")
    output = one_line_usage_error(code, output)
    assert f"cannot write --out {UNWRITABLE / out}" in output and "not writable" in output


def test_out_that_is_the_results_file_is_refused(results_path, smplx_model_dir):
    before = results_path.read_bytes()
    code, output = export(results_path, "--format", "npz", "--out", results_path,
                          "--smplx-dir", smplx_model_dir)
    assert "is the results file" in one_line_usage_error(code, output)
    assert results_path.read_bytes() == before


@pytest.mark.parametrize(("options", "message"), [
    (["--format", "json", "--units", "cm"], "--units applies to bvh only, not to --format json"),
    (["--format", "bvh", "--combined"], "--combined applies to glb/fbx only, not to --format bvh"),
    (["--format", "npz", "--skeleton", "mixamo"],
     "--skeleton applies to bvh/glb/fbx only, not to --format npz"),
])
def test_an_option_the_format_does_not_use_is_refused_not_ignored(results_path, smplx_model_dir,
                                                                  tmp_path, options, message):
    code, output = export(results_path, *options, "--out", tmp_path / f"m.{options[1]}",
                          "--smplx-dir", smplx_model_dir)
    assert (code, output) == (2, f"aios export: {message}")
    assert not list(tmp_path.iterdir())


def test_a_mesh_format_into_a_file_name_is_refused_in_plain_words(results_path, tmp_path):
    code, output = export(results_path, "--format", "ply", "--out", tmp_path / "m.obj")
    assert (code, output) == (2, f"aios export: --format ply writes a folder "
                                 f"(track_<ID>/frame_<N>.ply); --out {tmp_path / 'm.obj'} looks "
                                 "like a file (.obj): give a folder")
