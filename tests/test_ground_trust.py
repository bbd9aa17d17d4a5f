"""`aios ground` is a function of the network's output and its options: it keeps the network's
camera-frame output in the file, so grounding again, or with corrected options, gives what
grounding once gives; places it cannot write are one line and exit 2 before any work."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from aios_cli.main import cli
from aios_core.results.results_file import NETWORK_FOCAL_KEY, load_results, save_results
from tests.synthetic_world import load_world_body_model, make_world, observe


@pytest.fixture(scope="module")
def observed(world_smplx_dir, tmp_path_factory):
    world = make_world(load_world_body_model(world_smplx_dir), frames=30, num_people=2)
    path = tmp_path_factory.mktemp("observed") / "clip.aios.npz"
    return world, save_results(observe(world).results, path)


def _ground(path, smplx_dir, *options: str):
    outcome = CliRunner().invoke(cli, ["ground", str(path), "--camera", "static",
                                       "--smplx-dir", str(smplx_dir), *options])
    return outcome


def _arrays(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _assert_same_file(first, second) -> None:
    a, b = _arrays(first), _arrays(second)
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_grounding_twice_or_with_new_options_equals_grounding_once(observed, world_smplx_dir,
                                                                   tmp_path):
    world, raw = observed
    focal = ["--focal-px", str(world.camera.focal_px)]
    once, twice, corrected = (shutil.copy(raw, tmp_path / name) for name in ("1.npz", "2.npz",
                                                                               "3.npz"))
    assert _ground(once, world_smplx_dir, *focal).exit_code == 0
    for _ in range(2):
        assert _ground(twice, world_smplx_dir, *focal).exit_code == 0
    assert _ground(corrected, world_smplx_dir, "--fov", "70").exit_code == 0
    assert _ground(corrected, world_smplx_dir, *focal).exit_code == 0
    _assert_same_file(once, twice)
    _assert_same_file(once, corrected)

    # The network's own output is still in the file, untouched.
    network, grounded = load_results(raw), load_results(once)
    np.testing.assert_array_equal(grounded.network["transl_m"], network.detections["transl_m"])
    np.testing.assert_array_equal(grounded.network[NETWORK_FOCAL_KEY],
                                  network.focal_px_per_frame)
    assert grounded.world.focal_source == "user"


def test_grounding_a_grounded_file_without_a_focal_assumes_the_networks(observed,
                                                                        world_smplx_dir,
                                                                        tmp_path):
    world, raw = observed
    plain, regrounded = shutil.copy(raw, tmp_path / "a.npz"), shutil.copy(raw, tmp_path / "b.npz")
    assert _ground(plain, world_smplx_dir).exit_code == 0
    assert _ground(regrounded, world_smplx_dir, "--focal-px",
                   str(world.camera.focal_px)).exit_code == 0
    assert _ground(regrounded, world_smplx_dir).exit_code == 0
    _assert_same_file(plain, regrounded)
    assert load_results(regrounded).world.focal_source == "assumed"


@pytest.mark.parametrize("where", ["a folder", "under a file"])
def test_an_out_that_cannot_be_written_is_one_line_and_exit_2(observed, world_smplx_dir,
                                                              tmp_path, where):
    _, raw = observed
    out = tmp_path / "folder"
    out.mkdir()
    if where == "under a file":
        (tmp_path / "plain").write_text("a file")
        out = tmp_path / "plain" / "grounded.npz"
    before = raw.read_bytes()
    outcome = _ground(raw, world_smplx_dir, "--out", str(out))
    assert outcome.exit_code == 2
    [line] = outcome.output.strip().splitlines()
    assert line.startswith(f"aios ground: cannot write --out {out}: ")
    assert raw.read_bytes() == before


def test_grounding_a_read_only_file_in_place_is_one_line(observed, world_smplx_dir, tmp_path,
                                                         monkeypatch):
    import os

    import aios_core.io.output_paths as output_paths

    _, raw = observed
    target = shutil.copy(raw, tmp_path / "kept.npz")
    target.chmod(0o444)
    # root may write anything: answer for the file as a normal user's system would
    real_access = os.access
    def access(path, mode):
        return real_access(path, mode) and not (Path(path) == target and mode == os.W_OK)

    monkeypatch.setattr(output_paths.os, "access", access)
    outcome = _ground(target, world_smplx_dir)
    assert outcome.exit_code == 2
    assert outcome.output.strip() == f"aios ground: cannot write RESULTS {target}: it is read-only"
    assert target.read_bytes() == raw.read_bytes()
