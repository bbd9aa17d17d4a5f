"""The results file of `aios run` (``results.npz``): one row per detected person per frame.

Schema version 2 (version 1 files still load: their single camera is copied to every frame and
``world`` is None). Every per-detection array has a leading axis of length D (all detections of
all frames, sorted by frame then by descending score):

=====================  ============  =========================================================
key                    shape/dtype   meaning
=====================  ============  =========================================================
schema_version         () int64      2
source                 () str        input file or folder name (no directories)
fps                    () float64    frames per second of the input (images: nominal)
num_frames             () int64      frames processed
image_size_wh          (2,) int64    first frame's width, height in pixels
focal_px               (2,) float32  first frame's fx, fy of the pinhole camera the results
                                     live in
principal_point_px     (2,) float32  first frame's cx, cy
=====================  ============  =========================================================

Per processed frame (length F = num_frames, row k = the k-th processed frame; frames of an image
folder may differ in size):

============================  =========  ==================================================
frame_index_per_frame         (F,) int64   index of the frame in the input
image_size_wh_per_frame       (F, 2) int64 width, height in pixels
focal_px_per_frame            (F, 2) f32   fx, fy of that frame's camera
principal_point_px_per_frame  (F, 2) f32   cx, cy
============================  =========  ==================================================

Per detection:

=====================  ============  =========================================================
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

World block (optional: present after the world stage, see ``aios_core.results.world_frame``):

===============================  ============  ==============================================
world_camera_to_world_R          (F, 3, 3) f32  x_world = R[k] @ x_cam + p[k]
world_camera_position_m          (F, 3) f32     p[k], metres
world_global_orient              (D, 3) f32     SMPL-X root orientation in the world, axis-angle
world_transl_m                   (D, 3) f32     SMPL-X ``transl`` in the world, metres
world_up_axis                    () str         "y": y up, floor at y = 0
world_camera_mode                () str         "static" | "rotating" | "moving"
world_focal_source               () str         "assumed" | "user" | "metadata" | "camera_motion"
                                                | "people"
world_focal_px                   () f64         the focal length used (first frame); optional
world_focal_uncertainty          () f64         its relative one-sigma error (0 given, nan unknown);
                                                optional (files before it: nan)
===============================  ============  ==============================================

Foot block (optional: present after the foot stage, which runs after the world stage; see
``aios_core.results.foot_motion``): ``foot_contact`` (D, 4) bool [left_heel, left_toe,
right_heel, right_toe], ``foot_lock_applied`` () bool, and when it is true the foot-locked world
motion ``world_locked_body_pose`` (D, 21, 3) and ``world_locked_transl_m`` (D, 3).

Network block (optional; written by `aios run`, kept by `aios ground`): the network's own
camera-frame output before smoothing and the world stage changed the per-detection fields above,
as ``network_<field>`` for every person field (``network_transl_m`` (D, 3), ...) and
``network_focal_px_per_frame`` (F, 2). `aios ground` starts from it, so grounding again, or with
other options, gives what grounding once gives.

``run_settings`` () str (optional): JSON of the settings that shaped the inference (input,
frame range, threshold, people, precision, checkpoint), written by `aios run` so that
``--resume`` can refuse to mix runs.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from aios_core.errors import AiosError
from aios_core.io.atomic import atomic_write_bytes
from aios_core.io.file_kind import describe_file
from aios_core.person import PERSON_SHAPES
from aios_core.results.foot_motion import FootMotion
from aios_core.results.world_frame import WorldFrame

SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS = (1, 2)

# Per-detection keys: where and when, then the person record (aios_core.person).
PER_DETECTION_SHAPES: dict[str, tuple[int, ...]] = {
    "frame_index": (),
    "timestamp_s": (),
    "track_id": (),
    **PERSON_SHAPES,
}
_INTEGER_KEYS = {"frame_index", "track_id"}
_FLOAT64_KEYS = {"timestamp_s"}

# per-frame key -> (shape tail, dtype)
PER_FRAME_SHAPES: dict[str, tuple[tuple[int, ...], type]] = {
    "frame_index_per_frame": ((), np.int64),
    "image_size_wh_per_frame": ((2,), np.int64),
    "focal_px_per_frame": ((2,), np.float32),
    "principal_point_px_per_frame": ((2,), np.float32),
}
_WORLD_ARRAYS = ("camera_to_world_R", "camera_position_m", "global_orient", "transl_m")
_WORLD_HEADER = ("up_axis", "camera_mode", "focal_source")
_NETWORK_PREFIX = "network_"
NETWORK_FOCAL_KEY = "focal_px_per_frame"  # the network block's per-frame key
_WORLD_NUMBERS = ("focal_px", "focal_uncertainty")  # optional: older files lack them


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
    # Per processed frame (F rows); None: every frame has the header's camera, frames are
    # consecutive from the first detection's frame (what schema 1 files imply).
    frame_index_per_frame: np.ndarray | None = None  # (F,)
    image_size_wh_per_frame: np.ndarray | None = None  # (F, 2)
    focal_px_per_frame: np.ndarray | None = None  # (F, 2)
    principal_point_px_per_frame: np.ndarray | None = None  # (F, 2)
    world: WorldFrame | None = None
    feet: FootMotion | None = None  # the foot stage's block (needs ``world``)
    # The network's camera-frame output where later stages changed it: every person field
    # (D rows) and NETWORK_FOCAL_KEY (F rows); None: the detections are the network's own.
    network: dict[str, np.ndarray] | None = None
    settings: dict[str, object] | None = None  # what shaped the inference (JSON values)

    def __post_init__(self) -> None:
        self._check_detections()
        self._fill_per_frame()
        self._check_network()
        if self.world is not None:
            if self.world.num_frames != self.num_frames:
                raise ResultsFileError(f"world block has {self.world.num_frames} cameras for "
                                       f"{self.num_frames} frames")
            if len(self.world.global_orient) != self.num_detections:
                raise ResultsFileError(f"world block has {len(self.world.global_orient)} rows "
                                       f"for {self.num_detections} detections")
        if self.feet is not None and len(self.feet.contact) != self.num_detections:
            raise ResultsFileError(f"foot block has {len(self.feet.contact)} rows for "
                                   f"{self.num_detections} detections")

    def _fill_per_frame(self) -> None:
        frames = self.num_frames
        first = int(self.detections["frame_index"].min()) if self.num_detections else 0
        defaults = {
            "frame_index_per_frame": np.arange(first, first + frames),
            "image_size_wh_per_frame": np.tile(np.asarray(self.image_size_wh), (frames, 1)),
            "focal_px_per_frame": np.tile(np.asarray(self.focal_px), (frames, 1)),
            "principal_point_px_per_frame": np.tile(np.asarray(self.principal_point_px),
                                                    (frames, 1)),
        }
        for key, (tail, dtype) in PER_FRAME_SHAPES.items():
            value = getattr(self, key)
            array = defaults[key] if value is None else np.asarray(value)
            if array.shape != (frames, *tail):
                raise ResultsFileError(
                    f"results field '{key}' has shape {array.shape}, expected {(frames, *tail)}"
                )
            setattr(self, key, array.astype(dtype, copy=False))

    def frame_row(self, frame_index: int) -> int:
        """Row of the per-frame arrays holding input frame ``frame_index``."""
        rows = np.flatnonzero(self.frame_index_per_frame == frame_index)
        if not len(rows):
            raise KeyError(f"frame {frame_index} was not processed")
        return int(rows[0])

    def _check_detections(self) -> None:
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

    def _check_network(self) -> None:
        if self.network is None:
            return
        expected = {key: (self.num_detections, *shape) for key, shape in PERSON_SHAPES.items()}
        expected[NETWORK_FOCAL_KEY] = (self.num_frames, 2)
        for key, shape in expected.items():
            if key not in self.network:
                raise ResultsFileError(f"network block lacks '{key}'")
            array = np.asarray(self.network[key], dtype=np.float32)
            if array.shape != shape:
                raise ResultsFileError(f"network block field '{key}' has shape {array.shape}, "
                                       f"expected {shape}")
            self.network[key] = array

    def with_network_block(self, network_output: RunResults) -> RunResults:
        """A copy recording ``network_output`` (the same rows before smoothing and the world
        stage) as the network block."""
        block = {key: network_output.detections[key].copy() for key in PERSON_SHAPES}
        block[NETWORK_FOCAL_KEY] = network_output.focal_px_per_frame.copy()
        return replace(self, network=block)

    def network_output(self) -> RunResults:
        """The network's camera-frame output: the network block put back into the detections,
        without the world and foot blocks (a copy; ``self`` when there is nothing to undo)."""
        if self.network is None and self.world is None and self.feet is None:
            return self
        detections = dict(self.detections)
        focal = self.focal_px_per_frame
        if self.network is not None:
            detections.update({key: self.network[key] for key in PERSON_SHAPES})
            focal = self.network[NETWORK_FOCAL_KEY]
        return replace(self, detections=detections, focal_px_per_frame=focal,
                       focal_px=focal[0] if len(focal) else self.focal_px,
                       world=None, feet=None, network=None)

    @property
    def num_detections(self) -> int:
        return len(self.detections["frame_index"])

    def track_ids(self) -> list[int]:
        return sorted(int(t) for t in np.unique(self.detections["track_id"]))

    def select(self, mask: np.ndarray) -> RunResults:
        """A copy keeping only the detections where ``mask`` is true."""
        kept = {key: value[mask] for key, value in self.detections.items()}
        values = {f.name: getattr(self, f.name) for f in fields(self)
                  if f.name not in ("detections", "world", "feet", "network")}
        world = None if self.world is None else self.world.select(mask)
        feet = None if self.feet is None else self.feet.select(mask)
        network = None if self.network is None else {
            key: value if key == NETWORK_FOCAL_KEY else value[mask]
            for key, value in self.network.items()}
        return RunResults(**values, detections=kept, world=world, feet=feet, network=network)


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
        **{key: getattr(results, key) for key in PER_FRAME_SHAPES},
        **_world_arrays(results.world),
        **({} if results.feet is None else results.feet.to_arrays()),
        **{_NETWORK_PREFIX + key: value for key, value in (results.network or {}).items()},
        **({} if results.settings is None else
           {"run_settings": np.str_(json.dumps(results.settings, sort_keys=True))}),
    }
    atomic_write_bytes(path, lambda stream: np.savez(stream, **header, **results.detections))
    return path


def _world_arrays(world: WorldFrame | None) -> dict[str, np.ndarray]:
    if world is None:
        return {}
    arrays = {f"world_{name}": getattr(world, name) for name in _WORLD_ARRAYS}
    arrays.update({f"world_{name}": np.str_(getattr(world, name)) for name in _WORLD_HEADER})
    arrays.update({f"world_{name}": np.float64(getattr(world, name)) for name in _WORLD_NUMBERS})
    return arrays


def _world_from_arrays(arrays: dict[str, np.ndarray], path: Path) -> WorldFrame | None:
    if "world_camera_to_world_R" not in arrays:
        return None
    try:
        return WorldFrame(
            **{name: arrays[f"world_{name}"] for name in _WORLD_ARRAYS},
            **{name: str(arrays[f"world_{name}"]) for name in _WORLD_HEADER},
            **{name: float(arrays[f"world_{name}"]) for name in _WORLD_NUMBERS
               if f"world_{name}" in arrays},
        )
    except KeyError as err:
        raise ResultsFileError(f"{path} has a world block without {err}") from None
    except ValueError as err:
        raise ResultsFileError(f"{path} has a malformed world block ({err})") from None


def _feet_from_arrays(arrays: dict[str, np.ndarray], path: Path) -> FootMotion | None:
    try:
        return FootMotion.from_arrays(arrays)
    except KeyError as err:
        raise ResultsFileError(f"{path} has a foot block without {err}") from None
    except ValueError as err:
        raise ResultsFileError(f"{path} has a malformed foot block ({err})") from None


def _network_from_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    block = {key[len(_NETWORK_PREFIX):]: value for key, value in arrays.items()
             if key.startswith(_NETWORK_PREFIX)}
    return block or None


def _settings_from_arrays(arrays: dict[str, np.ndarray], path: Path) -> dict | None:
    if "run_settings" not in arrays:
        return None
    try:
        settings = json.loads(str(arrays["run_settings"]))
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise ResultsFileError(f"{path} has malformed run settings")
    return settings


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
    if int(version) not in READABLE_SCHEMA_VERSIONS:
        raise ResultsFileError(
            f"{path} uses results schema {int(version)}; this aios reads schemas "
            f"{', '.join(map(str, READABLE_SCHEMA_VERSIONS))}. "
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
            **{key: arrays.get(key) for key in PER_FRAME_SHAPES},
            world=_world_from_arrays(arrays, path),
            feet=_feet_from_arrays(arrays, path),
            network=_network_from_arrays(arrays),
            settings=_settings_from_arrays(arrays, path),
        )
    except KeyError as err:
        raise ResultsFileError(f"{path} lacks the header field {err}") from None
