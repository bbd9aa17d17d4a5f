import numpy as np
import pytest

from aios_core.io.results_file import (
    PER_DETECTION_SHAPES,
    ResultsFileError,
    RunResults,
    load_results,
    save_results,
)


def make_results(num_detections: int = 5, seed: int = 0) -> RunResults:
    rng = np.random.default_rng(seed)
    detections = {
        key: rng.normal(size=(num_detections, *tail)).astype(np.float32)
        for key, tail in PER_DETECTION_SHAPES.items()
    }
    detections["frame_index"] = np.arange(num_detections) // 2
    detections["track_id"] = np.arange(num_detections) % 2
    detections["timestamp_s"] = detections["frame_index"] / 25.0
    return RunResults(
        source="clip.mp4", fps=25.0, num_frames=3, image_size_wh=(640, 480),
        focal_px=np.array([5000.0, 5000.0]), principal_point_px=np.array([320.0, 240.0]),
        detections=detections,
    )


def test_round_trip_keeps_every_field(tmp_path):
    original = make_results()
    path = save_results(original, tmp_path / "results.npz")
    loaded = load_results(path)
    assert (loaded.source, loaded.fps, loaded.num_frames) == ("clip.mp4", 25.0, 3)
    assert loaded.image_size_wh == (640, 480)
    for key in PER_DETECTION_SHAPES:
        np.testing.assert_array_equal(loaded.detections[key], original.detections[key])
    assert loaded.detections["track_id"].dtype == np.int64
    assert loaded.track_ids() == [0, 1]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_select_filters_rows(tmp_path):
    results = make_results()
    only_track_1 = results.select(results.detections["track_id"] == 1)
    assert only_track_1.num_detections == 2
    assert set(only_track_1.detections["track_id"]) == {1}


def test_wrong_shape_is_named():
    results = make_results()
    results.detections["betas"] = np.zeros((5, 11))
    with pytest.raises(ResultsFileError, match="betas"):
        RunResults(**{**results.__dict__})


def test_older_schema_is_refused_with_advice(tmp_path):
    path = save_results(make_results(), tmp_path / "r.npz")
    with np.load(path) as data:
        arrays = dict(data)
    arrays["schema_version"] = np.int64(0)
    np.savez(path, **arrays)
    with pytest.raises(ResultsFileError, match="schema 0.*Re-run"):
        load_results(path)


def test_corrupt_and_missing_files_give_one_sentence(tmp_path):
    corrupt = tmp_path / "bad.npz"
    corrupt.write_bytes(b"not a zip at all")
    with pytest.raises(ResultsFileError, match="not a readable"):
        load_results(corrupt)
    with pytest.raises(ResultsFileError, match="not found"):
        load_results(tmp_path / "absent.npz")
