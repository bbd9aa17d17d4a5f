"""Per-person SMPL-X motion from a run's results: what every export format writes.

``build_motion`` turns the rows of a results file into one ``TrackMotion`` per track:

* Poses (T, 55, 3) axis-angle in SMPL-X joint order (pelvis/global orientation, 21 body joints,
  jaw, left eye, right eye, 15 left-hand, 15 right-hand joints). Hand poses are ABSOLUTE: the
  results store them relative to the model's mean hand (flat_hand_mean=False), and the model's
  ``hands_meanl/r`` is added here, so a consumer poses a flat-hand-mean SMPL-X (AMASS, the
  SMPL-X Blender add-on, a BVH/glTF rig whose rest pose has flat hands). Eyes are zero.
* Betas: one (10,) vector per track, the per-coefficient MEDIAN over the track's detections
  (a body does not change shape; the median ignores the odd bad frame).
* Translation: ``trans`` as in SMPL-X, so that the posed pelvis is ``J_pelvis(betas, expression)
  + trans``. It is re-derived for the track's betas so the pelvis stays exactly where each
  frame's own prediction put it.
* Coordinates: ``"y_up"`` is the camera frame turned 180 degrees about x: x right,
  y up, z towards the viewer; the camera sits at the origin looking down -z (OpenGL), people
  stand upright, as glTF, BVH importers and the Blender add-on's "SMPL-X" format expect.
  ``"camera"`` keeps the results' OpenCV camera frame (x right, y down, z forward).
  ``"world"`` is the results' world frame (``aios ground`` / the world stage: y up, the floor
  at y = 0, metres; see ``aios_core.results.world_frame``), with the foot-locked motion when
  the foot stage locked it, and the camera moving in it (``Motion.camera``); ``"world_z_up"``
  is the same turned to z up (x, y, z) -> (x, -z, y), the AMASS convention.
* Time grid: without ``fps`` every frame index from the track's first to its last detection;
  with ``fps`` the times k / fps (k integer) within the track's span. Values between
  detections (gaps in a track, or a new frame rate) are interpolated: rotations by slerp,
  pelvis position and expression linearly; those frames have ``interpolated`` set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.spatial.transform import Rotation

from aios_core.errors import AiosError
from aios_core.export.rest_shape import RestShape
from aios_core.results.results_file import RunResults

CoordinateFrame = Literal["y_up", "camera", "world", "world_z_up"]
WORLD_FRAMES = ("world", "world_z_up")
NUM_JOINTS = 55
_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
_FRAME_ROTATIONS = {"y_up": np.diag([1.0, -1.0, -1.0]), "camera": np.eye(3),
                    "world": np.eye(3), "world_z_up": _Y_UP_TO_Z_UP}
NO_WORLD_HINT = "run `aios ground` on it first (or export with --camera-frame)"
_SAME_TIME_S = 1e-9


class ExportError(AiosError, ValueError):
    """The results cannot be exported as asked (unknown track, nothing to export, ...)."""


@dataclass(frozen=True)
class TrackMotion:
    """One person's motion on the export time grid (T frames)."""

    track_id: int
    frame_index: np.ndarray  # (T,) int64 frame number on the export grid (input frame w/o --fps)
    timestamp_s: np.ndarray  # (T,) float64
    interpolated: np.ndarray  # (T,) bool, True where no detection of this track gave the values
    score: np.ndarray  # (T,) float32 detection score, NaN where interpolated
    poses: np.ndarray  # (T, 55, 3) float64 axis-angle, absolute hand poses
    trans_m: np.ndarray  # (T, 3) float64
    betas: np.ndarray  # (10,) float64
    expression: np.ndarray  # (T, 10) float64

    @property
    def num_frames(self) -> int:
        return len(self.frame_index)


@dataclass(frozen=True)
class CameraPath:
    """The camera of a world export, one pose per processed frame (C frames)."""

    timestamp_s: np.ndarray  # (C,) float64
    camera_to_world_R: np.ndarray  # (C, 3, 3) OpenCV camera axes -> export frame
    position_m: np.ndarray  # (C, 3) camera centre in the export frame
    yfov_rad: float  # vertical field of view
    aspect: float  # width / height


@dataclass(frozen=True)
class Motion:
    """Every exported track plus what all formats share."""

    tracks: tuple[TrackMotion, ...]
    fps: float
    coordinate_frame: CoordinateFrame
    source: str
    image_size_wh: tuple[int, int]
    focal_px: np.ndarray  # (2,)
    principal_point_px: np.ndarray  # (2,)
    camera: CameraPath | None = None  # world exports: the moving camera (else it is the origin)


def select_tracks(results: RunResults, track_ids: list[int] | None) -> list[int]:
    """The tracks to export; raises ExportError naming the available ones."""
    available = results.track_ids()
    if not available:
        raise ExportError("the results hold no detected person: nothing to export")
    if not track_ids:
        return available
    unknown = sorted(set(track_ids) - set(available))
    if unknown:
        raise ExportError(f"track(s) {', '.join(map(str, unknown))} not in the results; "
                          f"available: {', '.join(map(str, available))}")
    return sorted(set(track_ids))


def build_motion(
    results: RunResults,
    shape: RestShape,
    track_ids: list[int] | None = None,
    fps: float | None = None,
    coordinate_frame: CoordinateFrame = "y_up",
) -> Motion:
    """Resample each selected track onto the export grid; see the module docstring."""
    if fps is not None and fps <= 0:
        raise ExportError(f"--fps must be positive, got {fps}")
    if coordinate_frame not in _FRAME_ROTATIONS:
        raise ExportError(f"unknown coordinate frame {coordinate_frame!r}")
    camera = None
    if coordinate_frame in WORLD_FRAMES:
        if results.world is None:
            raise ExportError(f"the results ({results.source}) have no world frame: "
                              + NO_WORLD_HINT)
        camera = _camera_path(results, _FRAME_ROTATIONS[coordinate_frame])
        results = _world_motion(results)
    tracks = tuple(
        _track_motion(results, shape, track_id, fps, coordinate_frame)
        for track_id in select_tracks(results, track_ids)
    )
    return Motion(
        tracks=tracks,
        fps=float(fps if fps is not None else results.fps),
        coordinate_frame=coordinate_frame,
        source=results.source,
        image_size_wh=tuple(results.image_size_wh),
        focal_px=np.asarray(results.focal_px, dtype=np.float64),
        principal_point_px=np.asarray(results.principal_point_px, dtype=np.float64),
        camera=camera,
    )


def _world_motion(results: RunResults) -> RunResults:
    """``results`` with the world-frame (and, if the foot stage locked it, foot-locked) root,
    translation and body pose in place of the camera-frame ones."""
    world, feet = results.world, results.feet
    detections = {**results.detections, "global_orient": world.global_orient,
                  "transl_m": world.transl_m}
    if feet is not None and feet.locked:
        detections.update(body_pose=feet.locked_body_pose, transl_m=feet.locked_transl_m)
    return replace(results, detections=detections, world=None, feet=None)


def _camera_path(results: RunResults, to_frame: np.ndarray) -> CameraPath:
    """The world camera of every processed frame, in the export frame."""
    world = results.world
    frames = results.frame_index_per_frame
    known, first = np.unique(results.detections["frame_index"], return_index=True)
    if len(known) > 1:
        times = np.interp(frames, known, results.detections["timestamp_s"][first])
    else:
        times = frames / results.fps
    width, height = results.image_size_wh_per_frame[0]
    focal_y = float(results.focal_px_per_frame[0, 1])
    return CameraPath(
        timestamp_s=np.asarray(times, np.float64),
        camera_to_world_R=to_frame @ world.camera_to_world_R.astype(np.float64),
        position_m=world.camera_position_m.astype(np.float64) @ to_frame.T,
        yfov_rad=float(2 * np.arctan(height / 2 / focal_y)), aspect=float(width / height),
    )


def _track_rows(results: RunResults, track_id: int) -> dict[str, np.ndarray]:
    """The track's detections, one per frame (the best-scored), in frame order."""
    rows = {k: v[results.detections["track_id"] == track_id]
            for k, v in results.detections.items()}
    order = np.lexsort((-rows["score"], rows["frame_index"]))
    rows = {k: v[order] for k, v in rows.items()}
    _, first = np.unique(rows["frame_index"], return_index=True)
    return {k: v[first] for k, v in rows.items()}


def _track_motion(results: RunResults, shape: RestShape, track_id: int, fps: float | None,
                  coordinate_frame: CoordinateFrame) -> TrackMotion:
    rows = _track_rows(results, track_id)
    count = len(rows["frame_index"])
    f64 = {k: np.asarray(v, dtype=np.float64) for k, v in rows.items()}
    to_frame = _FRAME_ROTATIONS[coordinate_frame]

    poses = np.zeros((count, NUM_JOINTS, 3))
    poses[:, 0] = f64["global_orient"]
    if coordinate_frame != "camera":
        turn = Rotation.from_matrix(to_frame)
        poses[:, 0] = (turn * Rotation.from_rotvec(poses[:, 0])).as_rotvec()
    poses[:, 1:22] = f64["body_pose"]
    poses[:, 22] = f64["jaw_pose"]
    poses[:, 25:40] = f64["left_hand_pose"] + shape.left_hand_mean
    poses[:, 40:55] = f64["right_hand_pose"] + shape.right_hand_mean
    # Where each frame's own prediction put the pelvis, in the export frame.
    pelvis = shape.rest_joints(f64["betas"], f64["expression"])[:, 0] + f64["transl_m"]
    pelvis = pelvis @ to_frame.T

    frame_index, timestamp_s, source_x, query_x = _time_grid(
        rows["frame_index"], f64["timestamp_s"], fps, results.fps
    )
    lower, weight, exact = _brackets(source_x, query_x)
    poses = _slerp(poses, lower, weight, exact)
    expression = _lerp(f64["expression"], lower, weight)
    pelvis = _lerp(pelvis, lower, weight)
    score = np.where(exact >= 0, rows["score"][np.maximum(exact, 0)], np.nan).astype(np.float32)

    betas = np.median(f64["betas"], axis=0)
    trans = pelvis - shape.rest_joints(np.broadcast_to(betas, expression.shape), expression)[:, 0]
    return TrackMotion(
        track_id=track_id, frame_index=frame_index, timestamp_s=timestamp_s,
        interpolated=exact < 0, score=score, poses=poses, trans_m=trans, betas=betas,
        expression=expression,
    )


def _time_grid(frame_index: np.ndarray, timestamp_s: np.ndarray, fps: float | None,
               input_fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(grid frame numbers, grid times, source coordinate, query coordinate)."""
    if fps is None:
        grid = np.arange(frame_index[0], frame_index[-1] + 1, dtype=np.int64)
        source = frame_index.astype(np.float64)
        if len(timestamp_s) > 1 and np.all(np.diff(timestamp_s) > 0):
            times = np.interp(grid, source, timestamp_s)
        else:  # unusable timestamps: fall back on the nominal rate
            times = grid / input_fps
        return grid, times, source, grid.astype(np.float64)
    first, last = round(timestamp_s[0] * fps), round(timestamp_s[-1] * fps)
    grid = np.arange(first, max(first, last) + 1, dtype=np.int64)
    times = grid / fps
    # Grid points up to half a frame outside the track's span take its first/last values.
    return grid, times, timestamp_s, np.clip(times, timestamp_s[0], timestamp_s[-1])


def _brackets(source: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query: lower source index, weight of the next one, and the source index it hits
    exactly (-1 if none)."""
    if len(source) == 1:
        zeros = np.zeros(len(query), dtype=np.int64)
        return zeros, np.zeros(len(query)), zeros
    lower = np.clip(np.searchsorted(source, query, side="right") - 1, 0, len(source) - 2)
    span = source[lower + 1] - source[lower]
    weight = np.clip((query - source[lower]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    nearest = np.where(weight < 0.5, lower, lower + 1)
    exact = np.where(np.abs(source[nearest] - query) <= _SAME_TIME_S, nearest, -1)
    return lower, np.where(exact >= 0, (exact - lower).astype(np.float64), weight), exact


def _lerp(values: np.ndarray, lower: np.ndarray, weight: np.ndarray) -> np.ndarray:
    upper = np.minimum(lower + 1, len(values) - 1)
    w = weight.reshape(-1, *([1] * (values.ndim - 1)))
    return values[lower] * (1.0 - w) + values[upper] * w


def _slerp(rotvecs: np.ndarray, lower: np.ndarray, weight: np.ndarray,
           exact: np.ndarray) -> np.ndarray:
    """(N, J, 3) axis-angles at the source samples -> (Q, J, 3) at the queries; queries that hit
    a sample keep its axis-angle unchanged."""
    upper = np.minimum(lower + 1, len(rotvecs) - 1)
    joints = rotvecs.shape[1]
    start = Rotation.from_rotvec(rotvecs[lower].reshape(-1, 3))
    end = Rotation.from_rotvec(rotvecs[upper].reshape(-1, 3))
    step = (start.inv() * end).as_rotvec() * np.repeat(weight, joints)[:, None]
    result = (start * Rotation.from_rotvec(step)).as_rotvec().reshape(-1, joints, 3)
    hit = exact >= 0
    result[hit] = rotvecs[exact[hit]]
    return result
