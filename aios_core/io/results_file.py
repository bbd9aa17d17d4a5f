"""The results file of `aios run` (``results.npz``): one row per detected person per frame.

Schema version 1. Every per-detection array has a leading axis of length D (all detections of
all frames, sorted by frame then by descending score):

=====================  ============  =========================================================
key                    shape/dtype   meaning
=====================  ============  =========================================================
schema_version         () int64      1
source                 () str        input file or folder name (no directories)
fps                    () float64    frames per second of the input (images: nominal)
num_frames             () int64      frames processed
image_size_wh          (2,) int64    frame width, height in pixels
focal_px               (2,) float32  fx, fy of the pinhole camera the results live in
principal_point_px     (2,) float32  cx, cy
frame_index            (D,) int64    index of the frame in the input
timestamp_s            (D,) float64  presentation time of the frame
track_id               (D,) int64    person identity across frames (>= 0)
score                  (D,) float32  detection confidence in [0, 1]
body_box_xyxy_px       (D, 4)        person box; lhand_/rhand_/face_box_xyxy_px likewise
body_keypoints_px      (D, 17, 2)    COCO body keypoints; lhand_/rhand_/face_keypoints_px (D, 6, 2)
global_orient          (D, 3)        SMPL-X root orientation, axis-angle, camera frame
body_pose              (D, 21, 3)    axis-angle per body joint (SMPL-X order)
left_hand_pose         (D, 15, 3)    axis-angle, RELATIVE TO THE MEAN HAND (flat_hand_mean=False)
right_hand_pose        (D, 15, 3)    likewise
jaw_pose               (D, 3)        axis-angle
betas                  (D, 10)       SMPL-X neutral shape coefficients
expression             (D, 10)       SMPL-X expression coefficients
transl_m               (D, 3)        body-model origin to camera frame translation, metres
=====================  ============  =========================================================

The camera frame is x right, y down, z forward (OpenCV). Pixel coordinates are in the input
frame as decoded (after applying rotation metadata).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from aios_core.errors import AiosError
from aios_core.io.atomic import atomic_write_bytes
from aios_core.io.file_kind import describe_file
from aios_core.person import PERSON_SHAPES

SCHEMA_VERSION = 1

# Per-detection keys: where and when, then the person record (aios_core.person).
PER_DETECTION_SHAPES: dict[str, tuple[int, ...]] = {
    "frame_index": (),
    "timestamp_s": (),
    "track_id": (),
    **PERSON_SHAPES,
}
_INTEGER_KEYS = {"frame_index", "track_id"}
_FLOAT64_KEYS = {"timestamp_s"}


class ResultsFileError(AiosError, ValueError):
    """A results file that is missing, corrupt, or of an unsupported schema."""


@dataclass
class RunResults:
    """A whole run in memory; ``detections`` maps each PER_DETECTION_SHAPES key to its array."""

    source: str
    fps: float
    num_frames: int
    image_size_wh: tuple[int, int]
    focal_px: np.ndarray  # (2,)
    principal_point_px: np.ndarray  # (2,)
    detections: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        missing = set(PER_DETECTION_SHAPES) - set(self.detections)
        if missing:
            raise ResultsFileError(f"results lack per-detection fields: {sorted(missing)}")
        count = len(self.detections["frame_index"])
        for key, tail in PER_DETECTION_SHAPES.items():
            array = np.asarray(self.detections[key])
            if array.shape != (count, *tail):
                raise ResultsFileError(
                    f"results field '{key}' has shape {array.shape}, expected {(count, *tail)}"
                )
            dtype = np.int64 if key in _INTEGER_KEYS else (
                np.float64 if key in _FLOAT64_KEYS else np.float32
            )
            self.detections[key] = array.astype(dtype, copy=False)

    @property
    def num_detections(self) -> int:
        return len(self.detections["frame_index"])

    def track_ids(self) -> list[int]:
        return sorted(int(t) for t in np.unique(self.detections["track_id"]))

    def select(self, mask: np.ndarray) -> RunResults:
        """A copy keeping only the detections where ``mask`` is true."""
        kept = {key: value[mask] for key, value in self.detections.items()}
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "detections"}
        return RunResults(**values, detections=kept)


def save_results(results: RunResults, path: str | os.PathLike) -> Path:
    """Write atomically: a temporary file in the same folder, renamed over ``path`` when whole."""
    path = Path(path)
    header = {
        "schema_version": np.int64(SCHEMA_VERSION),
        "source": np.str_(results.source),
        "fps": np.float64(results.fps),
        "num_frames": np.int64(results.num_frames),
        "image_size_wh": np.asarray(results.image_size_wh, dtype=np.int64),
        "focal_px": np.asarray(results.focal_px, dtype=np.float32),
        "principal_point_px": np.asarray(results.principal_point_px, dtype=np.float32),
    }
    atomic_write_bytes(path, lambda stream: np.savez(stream, **header, **results.detections))
    return path


def load_results(path: str | os.PathLike) -> RunResults:
    """Read and validate a results file; every problem is one ResultsFileError sentence."""
    path = Path(path)
    if not path.is_file():
        raise ResultsFileError(f"results file not found: {path}")
    if not zipfile.is_zipfile(path):  # an .npz is a zip; anything else is not ours
        raise ResultsFileError(
            f"{path} is not an aios results file: it is {describe_file(path)}"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        # numpy's own words would suggest allow_pickle=True, i.e. running untrusted code.
        reason = "it holds Python objects" if "pickle" in str(err) else "it is damaged"
        raise ResultsFileError(
            f"{path} is not a readable aios results file: {reason}"
        ) from None
    version = arrays.get("schema_version")
    if version is None:
        found = ", ".join(sorted(arrays)[:8]) + (", ..." if len(arrays) > 8 else "")
        raise ResultsFileError(
            f"{path} is not an aios results file (no schema_version; it holds: "
            f"{found or 'nothing'}): results files are written by `aios run`"
        )
    if int(version) != SCHEMA_VERSION:
        raise ResultsFileError(
            f"{path} uses results schema {int(version)}; this aios reads schema {SCHEMA_VERSION}. "
            "Re-run `aios run` with this version to regenerate it."
        )
    try:
        return RunResults(
            source=str(arrays["source"]),
            fps=float(arrays["fps"]),
            num_frames=int(arrays["num_frames"]),
            image_size_wh=tuple(int(v) for v in arrays["image_size_wh"]),
            focal_px=arrays["focal_px"],
            principal_point_px=arrays["principal_point_px"],
            detections={key: arrays[key] for key in PER_DETECTION_SHAPES if key in arrays},
        )
    except KeyError as err:
        raise ResultsFileError(f"{path} lacks the header field {err}") from None
