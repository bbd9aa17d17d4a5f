"""Results schema 2: per-frame cameras, the world block, and schema 1 files still loading."""

import numpy as np
import pytest

from aios_core.results.results_file import (
    PER_FRAME_SHAPES,
    ResultsFileError,
    RunResults,
    load_results,
    save_results,
)
from aios_core.results.world_frame import WorldFrame
from tests.test_results_file import make_results


def with_world(results: RunResults) -> RunResults:
    rng = np.random.default_rng(1)
    frames, count = results.num_frames, results.num_detections
    rotations = np.stack([np.linalg.qr(rng.normal(size=(3, 3)))[0] for _ in range(frames)])
    results.world = WorldFrame(
        camera_to_world_R=rotations, camera_position_m=rng.normal(size=(frames, 3)),
        global_orient=rng.normal(size=(count, 3)), transl_m=rng.normal(size=(count, 3)),
        camera_mode="rotating", focal_source="user",
    )
    return results


def test_world_block_and_per_frame_cameras_round_trip(tmp_path):
    original = with_world(make_results())
    original.image_size_wh_per_frame = np.array([[640, 480], [320, 200], [640, 480]])
    original.focal_px_per_frame = np.array([[500, 500], [250, 250], [500, 500]], np.float32)
    loaded = load_results(save_results(original, tmp_path / "r.npz"))
    for key in PER_FRAME_SHAPES:
        np.testing.assert_array_equal(getattr(loaded, key), getattr(original, key), err_msg=key)
    assert loaded.image_size_wh_per_frame[1].tolist() == [320, 200]
    for name in ("camera_to_world_R", "camera_position_m", "global_orient", "transl_m"):
        np.testing.assert_array_equal(getattr(loaded.world, name), getattr(original.world, name))
    assert (loaded.world.camera_mode, loaded.world.focal_source, loaded.world.up_axis) == (
        "rotating", "user", "y")


def test_schema_1_file_loads_with_its_camera_on_every_frame(tmp_path):
    path = save_results(make_results(), tmp_path / "r.npz")
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files if key not in PER_FRAME_SHAPES}
    arrays["schema_version"] = np.int64(1)
    np.savez(tmp_path / "v1.npz", **arrays)
    loaded = load_results(tmp_path / "v1.npz")
    assert loaded.world is None
    assert loaded.frame_index_per_frame.tolist() == [0, 1, 2]
    assert loaded.focal_px_per_frame.tolist() == [[5000.0, 5000.0]] * 3
    assert loaded.image_size_wh_per_frame.tolist() == [[640, 480]] * 3


def test_select_keeps_world_rows_with_their_detections():
    results = with_world(make_results())
    kept = results.select(results.detections["track_id"] == 1)
    np.testing.assert_array_equal(kept.world.transl_m, results.world.transl_m[[1, 3]])
    assert kept.world.num_frames == results.num_frames


def test_mismatched_world_and_bad_world_block_are_refused(tmp_path):
    results = with_world(make_results())
    results.world.global_orient = results.world.global_orient[:2]
    results.world.transl_m = results.world.transl_m[:2]
    with pytest.raises(ResultsFileError, match="2 rows for 5 detections"):
        RunResults(**{**results.__dict__})
    path = save_results(with_world(make_results()), tmp_path / "r.npz")
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["world_camera_mode"] = np.str_("sideways")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ResultsFileError, match="malformed world block.*sideways"):
        load_results(tmp_path / "bad.npz")


def test_schema_arrays_are_float32_and_wrong_shapes_are_named():
    import numpy as np

    from aios_core.io.arrays import float32_array

    array = float32_array("world transl_m", [[1, 2, 3]], (1, 3))
    assert array.dtype == np.float32 and array.tolist() == [[1.0, 2.0, 3.0]]
    with pytest.raises(ValueError, match=r"world transl_m must be \(2, 3\), got \(1, 3\)"):
        float32_array("world transl_m", [[1, 2, 3]], (2, 3))
