"""The world stage of `aios run` / `aios ground`: the real camera, the floor, the world frame.

Order: background feature tracks -> the camera's motion (``static``, ``rotating``: rotation
per frame, ``moving``: rotation and translation, ``auto``: chooses and says why) -> the focal
length (user > metadata > self-calibration from the camera's motion > the assumption, with a
warning) -> translations re-derived for it -> for a moving camera, the metric scale of its
path from planted feet -> sole points of planted feet in the first frame's camera frame ->
robust floor plane -> each body moved along its
viewing ray so that its planted foot stands on the floor (removes per-frame and per-person
depth error) -> the world frame (see ``aios_core.results.world_frame``). When no floor is found the
results stay in the camera frame, with a warning; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from aios_core.choices import CAMERA_CHOICES
from aios_core.results.results_file import RunResults
from aios_core.results.world_frame import WorldFrame
from aios_core.world.camera_motion import (
    STATIC_BELOW_DEG,
    CameraMotion,
    rotation_focal_px,
    rotation_from_tracks,
)
from aios_core.world.camera_trajectory import (
    CameraTrajectory,
    TrajectoryFailed,
    estimate_trajectory,
)
from aios_core.world.errors import WorldInputError, WorldOptionError
from aios_core.world.feature_tracks import track_background
from aios_core.world.feet import (
    FOOT_JOINTS,
    PELVIS,
    FootPoints,
    body_up,
    floor_candidates,
    footprints,
)
from aios_core.world.focal_from_people import focal_from_people, vertical_vanishing_point
from aios_core.world.ground_plane import (
    FloorPlane,
    NoFloorFound,
    body_distance_scale,
    fit_floor,
)
from aios_core.world.intrinsics import FocalChoice, choose_focal
from aios_core.world.metric_scale import (
    MetricScale,
    NoScaleFound,
    scale_from_floor,
    scale_from_planted_feet,
)
from aios_core.world.rescale import rescale_depth, scale_along_rays
from aios_core.world.world_axes import bodies_in_world, camera_poses, reference_to_world

# rows (results-file fields, leading axis N) -> (N, >= 66, 3) posed joints in the body
# model's order, without translation (``body_points.SkeletonPoints``)
BodyJoints = Callable[[dict[str, np.ndarray]], np.ndarray]
JOINT_BATCH = 256
HEAD = 15  # SMPL-X skeleton joint
FLOOR_SCALE_RANGE = (0.7, 1.4)  # a floor-based depth correction beyond this is not trusted


@dataclass
class WorldOptions:
    fov_deg: float | None = None
    focal_px: float | None = None
    camera: str = "auto"  # "static" | "rotating" | "moving" | "auto"
    floor_depth_correction: bool = True  # move bodies along their rays onto the floor

    def check(self) -> None:
        if self.camera not in CAMERA_CHOICES:
            raise WorldOptionError(f"--camera {self.camera} is not one of "
                                   f"{', '.join(CAMERA_CHOICES)}")
        from aios_core.world.intrinsics import check_camera_options

        check_camera_options(self.fov_deg, self.focal_px)


@dataclass
class WorldReport:
    focal: FocalChoice
    camera_mode: str
    camera_note: str  # what --camera chose and why
    floor: FloorPlane | None = None
    motion: CameraMotion | None = None
    trajectory: CameraTrajectory | None = None  # moving camera
    scale: MetricScale | None = None  # moving camera: metres per reconstruction unit
    warnings: list[str] = field(default_factory=list)


def _posed_joints(results: RunResults, body_joints: BodyJoints) -> np.ndarray:
    count = results.num_detections
    chunks = [
        body_joints({key: value[start:start + JOINT_BATCH]
                     for key, value in results.detections.items()})
        for start in range(0, count, JOINT_BATCH)
    ]
    return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros((0, 66, 3))


def _frame_rows(results: RunResults) -> np.ndarray:
    """(D,) row of the per-frame arrays for each detection."""
    lookup = {int(f): row for row, f in enumerate(results.frame_index_per_frame)}
    return np.array([lookup[int(f)] for f in results.detections["frame_index"]], np.int64)


def _real_focal(results: RunResults, focal: FocalChoice) -> np.ndarray:
    """(F,) focal length per frame for the chosen source (the assumed one where none)."""
    return np.array([
        focal.focal_for(int(w), int(h)) or float(assumed[0])
        for (w, h), assumed in zip(results.image_size_wh_per_frame, results.focal_px_per_frame,
                                   strict=True)
    ])


@dataclass
class CameraPath:
    """Each frame's camera in the first frame's: ``x_ref = R[k] @ x_cam + centre[k]``."""

    camera_to_ref_R: np.ndarray  # (F, 3, 3)
    centre: np.ndarray | None = None  # (F, 3) moving camera, reconstruction units; else None


def _boxes_per_frame(results: RunResults) -> list[np.ndarray]:
    rows = {int(f): row for row, f in enumerate(results.frame_index_per_frame)}
    boxes = [[] for _ in range(results.num_frames)]
    for frame, box in zip(results.detections["frame_index"],
                          results.detections["body_box_xyxy_px"], strict=True):
        boxes[rows[int(frame)]].append(box)
    return [np.reshape(b, (-1, 4)) for b in boxes]


def _self_calibrated(focal_px: float, sigma: float, how: str) -> FocalChoice:
    return FocalChoice("camera_motion", focal_px=float(focal_px), uncertainty=float(sigma),
                       how=how)


def _camera_motion(
    results: RunResults, options: WorldOptions, frames: Iterable[np.ndarray] | None,
    report: WorldReport,
) -> CameraPath:
    """The camera's motion; sets the report's mode, note and (self-calibrated) focal."""
    identity = CameraPath(np.tile(np.eye(3), (results.num_frames, 1, 1)))
    if options.camera == "static":
        report.camera_mode, report.camera_note = "static", "static (--camera static)"
        return identity
    if frames is None:
        if options.camera != "auto":
            raise WorldInputError(f"--camera {options.camera} needs the input's frames: run "
                                  "`aios ground` with --input VIDEO (or put the video next to "
                                  "the results)")
        report.camera_mode = "static"
        report.camera_note = "auto chose static: the input's frames are not available"
        report.warnings.append("the input's frames are not available, so the camera is taken "
                               "as static; if it moves, pass --input VIDEO")
        return identity
    tracks = track_background(frames, _boxes_per_frame(results))
    principal = results.principal_point_px_per_frame[0].astype(np.float64)
    focal_per_frame = _real_focal(results, report.focal)
    motion = rotation_from_tracks(tracks, focal_per_frame, results.principal_point_px_per_frame)
    report.motion = motion
    mode = options.camera
    if mode == "auto":
        turn = motion.max_turn_deg
        if motion.translates:
            mode = "moving"
            report.camera_note = (f"auto chose moving: only {motion.homography_inlier_fraction:.0%}"
                                  " of background points follow one homography (parallax)")
        elif turn < STATIC_BELOW_DEG:
            report.camera_mode = "static"
            report.camera_note = f"auto chose static: the background turns {turn:.2f} deg at most"
            return identity
        else:
            mode = "rotating"
            report.camera_note = "auto chose rotating: the background follows one homography"
    else:
        report.camera_note = f"{mode} (--camera {mode})"
    if mode == "moving":
        given = report.focal.focal_for(*tracks.image_size_wh[0])
        try:
            trajectory = estimate_trajectory(tracks, principal, given)
        except TrajectoryFailed as reason:
            report.warnings.append(f"the camera's translation could not be recovered ({reason}):"
                                   " it is taken as only turning; world positions are "
                                   "approximate")
            mode = "rotating"
        else:
            report.trajectory = trajectory
            report.camera_mode = "moving"
            if given is None:
                report.focal = _self_calibrated(trajectory.focal_px, trajectory.focal_sigma,
                                                "bundle adjustment of the moving camera")
            return CameraPath(trajectory.camera_to_ref_R, trajectory.camera_centre)
    report.camera_mode = "rotating"
    if report.focal.source == "assumed":
        found = rotation_focal_px(tracks, principal, tracks.image_size_wh[0][0])
        if found is not None:
            report.focal = _self_calibrated(*found, "the turning camera's rotation fit")
            motion = rotation_from_tracks(tracks, _real_focal(results, report.focal),
                                          results.principal_point_px_per_frame)
            report.motion = motion
    report.camera_note += f"; it turns up to {motion.max_turn_deg:.1f} deg"
    if motion.translates:
        report.warnings.append(
            f"the camera seems to move, not only turn (only {motion.homography_inlier_fraction:.0%}"
            " of background points follow one homography): world positions are approximate; "
            "try --camera moving")
    if motion.unreliable_pairs:
        report.warnings.append(f"{motion.unreliable_pairs} frame pairs had too little background "
                               "to see the camera turn; taken as not turning")
    return CameraPath(motion.camera_to_ref_R)


def _feet_at(results: RunResults, joints: np.ndarray, rows: np.ndarray,
             focal_per_frame: np.ndarray, detection_R: np.ndarray
             ) -> tuple[np.ndarray, FootPoints]:
    """Translations re-derived for ``focal_per_frame`` (F,) and the feet they give, in the
    reference camera's axes (camera-relative: no camera translation added)."""
    rest_pelvis = joints[:, PELVIS]
    transl = rescale_depth(results.detections["transl_m"], rest_pelvis,
                           focal_per_frame[rows] / results.focal_px_per_frame[rows, 0])
    feet_cam = joints[:, np.array(FOOT_JOINTS)] + transl[:, None, None]  # (D, 2, 3, 3)
    return transl, FootPoints(
        points_m=np.einsum("dij,dfpj->dfpi", detection_R, feet_cam),
        pelvis_m=np.einsum("dij,dj->di", detection_R, rest_pelvis + transl),
        track_id=results.detections["track_id"], time_s=results.detections["timestamp_s"],
    )


def _focal_from_people(results: RunResults, joints: np.ndarray, rows: np.ndarray,
                       report: WorldReport) -> None:
    """A static camera's focal length from its people (``focal_from_people``), if they give
    one; sets ``report.focal``."""
    sizes = {tuple(size) for size in results.image_size_wh_per_frame}
    if len(sizes) != 1 or not results.num_detections:
        return
    assumed = results.focal_px_per_frame[rows, 0][:, None].astype(np.float64)
    principal = results.principal_point_px_per_frame[rows].astype(np.float64)
    transl_assumed = np.asarray(results.detections["transl_m"], np.float64)[:, None]
    head = joints[:, HEAD] + transl_assumed[:, 0]
    sole = joints[:, np.array(FOOT_JOINTS).ravel()].mean(1) + transl_assumed[:, 0]
    vanishing = vertical_vanishing_point(head[:, :2] / head[:, 2:] * assumed + principal,
                                         sole[:, :2] / sole[:, 2:] * assumed + principal)
    if vanishing is None:
        return
    identity = np.tile(np.eye(3), (len(rows), 1, 1))

    def floor_up_at(focal_px: float) -> np.ndarray | None:
        _, feet = _feet_at(results, joints, rows, np.full(results.num_frames, focal_px),
                           identity)
        up = body_up(feet)
        try:
            for _ in range(2):
                plane = fit_floor(*footprints(feet, floor_candidates(feet, up)), up)
                up = plane.up
        except NoFloorFound:
            return None
        return up

    width = float(next(iter(sizes))[0])
    found = focal_from_people(vanishing, principal[0], width, floor_up_at)
    if found is not None:
        report.focal = FocalChoice("people", focal_px=found[0], uncertainty=found[1],
                                   how="the people's vertical vanishing point and floor")


def _metric_scale(feet: FootPoints, path: CameraPath, rows: np.ndarray, report: WorldReport
                  ) -> MetricScale:
    """Metres per reconstruction unit: the floor among the background points, else the
    planted feet (``aios_core.world.metric_scale``)."""
    up = body_up(feet)
    soles = feet.points_m.reshape(len(rows), -1, 3)
    lowest = soles[np.arange(len(rows)), np.argmin(soles @ up, axis=1)]
    try:
        return scale_from_floor(report.trajectory.points, path.centre[rows], lowest, up)
    except NoScaleFound:
        return scale_from_planted_feet(feet.points_m, path.centre[rows], up, feet.track_id,
                                       feet.time_s)


def _floor_scales(feet: FootPoints, candidates: np.ndarray, plane: FloorPlane,
                  camera_m: np.ndarray) -> np.ndarray:
    """(D,) factor on each body's distance along its viewing ray that puts it on the floor: per
    track, the median over its planted frames of the factor that puts the lowest sole point
    on the floor (1 for tracks that never plant a foot).

    One factor per track, not per frame: a viewing ray meets the floor at a grazing angle, so
    a centimetre of error in a foot's height (pose, orientation) is several centimetres along
    the ray; the median corrects a person's depth bias without adding that noise."""
    heights = plane.heights_m(feet.points_m).reshape(len(feet.points_m), -1)
    lowest = feet.points_m.reshape(len(heights), -1, 3)[np.arange(len(heights)),
                                                       heights.argmin(1)]
    measured = body_distance_scale(plane, lowest, feet.pelvis_m, camera_m)
    lo, hi = FLOOR_SCALE_RANGE
    planted = candidates.any(1) & np.isfinite(measured) & (measured > lo) & (measured < hi)
    scales = np.ones(len(feet.time_s))
    for track in np.unique(feet.track_id):
        rows = np.flatnonzero(feet.track_id == track)
        good = rows[planted[rows]]
        if len(good):
            scales[rows] = np.median(measured[good])
    return scales


def add_world_frame(
    results: RunResults,
    body_joints: BodyJoints,
    options: WorldOptions,
    frames: Iterable[np.ndarray] | None = None,
    input_path: Path | None = None,
) -> tuple[RunResults, WorldReport]:
    """``results`` with the real camera's translations and a ``world`` block (or, when no floor
    is found, only the former and a warning). ``frames``: the processed frames in order (for
    ``rotating``/``moving``/``auto``); ``input_path``: where to look for focal-length metadata."""
    options.check()
    report = WorldReport(choose_focal(options.fov_deg, options.focal_px, input_path), "static",
                         "")
    path = _camera_motion(results, options, frames, report)
    rows = _frame_rows(results)
    joints = _posed_joints(results, body_joints)  # (D, 66, 3)
    rest_pelvis = joints[:, PELVIS]
    rotations = path.camera_to_ref_R
    detection_R = rotations[rows]  # (D, 3, 3) camera -> reference
    if report.camera_mode == "static" and report.focal.source == "assumed":
        _focal_from_people(results, joints, rows, report)
    focal = report.focal
    focal_per_frame = _real_focal(results, focal)
    transl, feet = _feet_at(results, joints, rows, focal_per_frame, detection_R)
    if focal.source == "assumed":
        report.warnings.append("the focal length is the network's assumption (neither the "
                               "camera's motion nor the people gave it): pass --fov DEG or "
                               "--focal-px F for right depths and floor")
    centres = np.zeros((results.num_frames, 3))  # camera centres, metres, reference frame
    if path.centre is not None and results.num_detections:
        try:
            report.scale = _metric_scale(feet, path, rows, report)
        except NoScaleFound as reason:
            report.warnings.append(f"the camera's path has no metric scale ({reason}): it is "
                                   "taken as standing still; world positions are approximate")
        else:
            centres = path.centre * report.scale.metres_per_unit
            feet.points_m = feet.points_m + centres[rows][:, None, None]
            feet.pelvis_m = feet.pelvis_m + centres[rows]
    updated = replace(
        results, detections={**results.detections, "transl_m": transl},
        focal_px=np.full(2, focal_per_frame[0], np.float32) if len(focal_per_frame) else
        results.focal_px,
        focal_px_per_frame=np.repeat(focal_per_frame[:, None], 2, 1), world=None,
    )
    try:
        if not results.num_detections:
            raise NoFloorFound("nobody was detected")
        up = body_up(feet)
        plane = None
        for _ in range(2):  # candidates again with the floor's own up
            candidates = floor_candidates(feet, up)
            plane = fit_floor(*footprints(feet, candidates), up)
            up = plane.up
        if report.scale is not None and report.scale.floor_up is not None:
            # A moving camera sees the floor itself: hundreds of background points on it
            # give its tilt and (with the people's metric size) height better than footprints.
            plane = FloorPlane(report.scale.floor_up, report.scale.floor_height_m,
                               plane.inliers, plane.candidates, plane.rms_m)
            candidates = floor_candidates(feet, plane.up)
    except NoFloorFound as reason:
        report.warnings.append(f"no floor found ({reason}): results stay in the camera frame")
        return updated, report
    report.floor = plane
    if options.floor_depth_correction:
        scales = _floor_scales(feet, candidates, plane, centres[rows])
        transl = scale_along_rays(transl, rest_pelvis, scales)
        # bodies move along their pelvis rays, from their frame's camera centre
        shift = (scales[:, None] - 1.0) * (feet.pelvis_m - centres[rows])
        feet.points_m = feet.points_m + shift[:, None, None]
        feet.pelvis_m = feet.pelvis_m + shift

    first = np.lexsort((feet.track_id, feet.time_s, ~candidates.any(1)))[0]
    lowest = np.where(candidates[first][:, None], feet.points_m[first] @ plane.up, np.inf)
    foot, point = np.unravel_index(np.argmin(lowest), lowest.shape)
    ref_to_world, origin = reference_to_world(plane, feet.points_m[first, foot, point])
    to_world, position = camera_poses(ref_to_world, origin, rotations, centres)
    orient_w, transl_w = bodies_in_world(results.detections["global_orient"], transl,
                                         rest_pelvis, to_world[rows], position[rows])
    world = WorldFrame(to_world, position, orient_w, transl_w, report.camera_mode, focal.source,
                       focal_px=float(focal_per_frame[0]) if len(focal_per_frame) else np.nan,
                       focal_uncertainty=focal.uncertainty)
    updated = replace(updated, detections={**updated.detections, "transl_m": transl}, world=world)
    return updated, report
