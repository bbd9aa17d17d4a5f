import numpy as np
import pytest

from aios_core.results.results_file import (
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
    with pytest.raises(ResultsFileError, match="not an aios results file: it is a text file"):
        load_results(corrupt)
    with pytest.raises(ResultsFileError, match="not found"):
        load_results(tmp_path / "absent.npz")


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"", "it is an empty file"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "it is an MP4/MOV video"),
        (b"HIERARCHY\nROOT pelvis\n", "it is a text file starting 'HIERARCHY'"),
        (b"\x80\x04\x95\x10\x00", "it is a Python pickle"),
        (b"PK\x03\x04 cut short", "it is a damaged (truncated?) zip archive"),
    ],
)
def test_a_file_that_is_not_a_results_file_is_named_for_what_it_is(tmp_path, content, found):
    # numpy's own message advised loading the file with allow_pickle=True: never pass it on.
    path = tmp_path / "input.npz"
    path.write_bytes(content)
    with pytest.raises(ResultsFileError) as excinfo:
        load_results(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path} is not an aios results file") and found in message
    assert "allow_pickle" not in message and "\n" not in message


def test_npy_array_and_foreign_npz_are_refused_with_what_they_hold(tmp_path):
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(ResultsFileError, match=r"it is a single NumPy array \(\.npy\)"):
        load_results(tmp_path / "array.npy")
    np.savez(tmp_path / "other.npz", poses=np.zeros((2, 165)), trans=np.zeros((2, 3)))
    with pytest.raises(ResultsFileError, match="no schema_version; it holds: poses, trans"):
        load_results(tmp_path / "other.npz")
    np.savez(tmp_path / "objects.npz", names=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ResultsFileError, match="it holds Python objects") as excinfo:
        load_results(tmp_path / "objects.npz")
    assert "allow_pickle" not in str(excinfo.value)
