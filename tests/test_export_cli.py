"""`aios export` on the command line: track filter, bad results files, missing SMPL-X."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from aios_cli.main import cli
from aios_core.io.results_file import save_results
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
