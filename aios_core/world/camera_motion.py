"""The camera's rotation per frame from background feature tracks (a camera turning on a
tripod or in a hand that pans), and whether it also translates.

Per pair of consecutive frames: the tracks seen in both (``feature_tracks``), RANSAC on the
homography drops the points that moved on their own, and the rotation that best maps the
inliers' viewing rays onto each other (Kabsch) is the camera's turn. Pure rotation moves every
background point by one homography whatever its depth, for any focal length; a camera that
translates leaves points off the homography between frames further apart (parallax), which is
what ``--camera auto`` reads as a moving camera. Over a turn, the rays fit one rotation only
with the right focal length: ``rotation_focal_px`` searches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core.body.camera import pixel_rays
from aios_core.world.feature_tracks import FeatureTracks

MIN_TRACKED_POINTS = 12
RANSAC_REPROJECTION_PX = 2.0
ROTATION_INLIER_PX = 2.5
STATIC_BELOW_DEG = 0.5  # --camera auto: a total turn below this is a static camera
PARALLAX_GAP_FRAMES = 8  # homographies are checked between frames this far apart
PARALLAX_PX = 2.0  # a point further than this off the homography shows parallax
TRANSLATING_BELOW_FRACTION = 0.9  # fewer points than this on the homography: it translates


@dataclass
class CameraMotion:
    camera_to_ref_R: np.ndarray  # (F, 3, 3): x_ref = R[k] @ x_cam_k (reference: first frame)
    rotation_inlier_fraction: float  # median over frame pairs
    unreliable_pairs: int  # pairs with too few background points (rotation taken as none)
    homography_inlier_fraction: float = 1.0  # median over pairs PARALLAX_GAP_FRAMES apart

    @property
    def max_turn_deg(self) -> float:
        angles = np.arccos(np.clip((np.trace(self.camera_to_ref_R, axis1=1, axis2=2) - 1) / 2,
                                   -1.0, 1.0))
        return float(np.degrees(angles.max()))

    @property
    def translates(self) -> bool:
        """Background points off one homography between frames: parallax, the camera moves."""
        return self.homography_inlier_fraction < TRANSLATING_BELOW_FRACTION


def _rays(points_px: np.ndarray, focal_px: float, principal_px: np.ndarray) -> np.ndarray:
    """(N, 2) pixels -> (N, 3) unit viewing rays."""
    rays = pixel_rays(points_px, focal_px, principal_px)
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation R (3, 3) minimising sum |target - R source|^2 over (N, 3) unit vectors."""
    u, _, vt = np.linalg.svd(target.T @ source)
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    return u @ fix @ vt


def _homography_inliers(start: np.ndarray, end: np.ndarray, threshold_px: float
                        ) -> np.ndarray | None:
    import cv2

    if len(start) < MIN_TRACKED_POINTS:
        return None
    _, inliers = cv2.findHomography(start, end, cv2.RANSAC, threshold_px)
    if inliers is None or inliers.sum() < MIN_TRACKED_POINTS:
        return None
    return inliers.reshape(-1).astype(bool)


def _fit_rotation(rays_prev: np.ndarray, rays_cur: np.ndarray, focal: float,
                  inlier_px: float, rotation: np.ndarray) -> tuple[np.ndarray, float]:
    """(R_cur<-prev, fraction of the points on it) from (N, 3) unit rays and a first guess."""
    for _ in range(2):  # refit on the points the rotation itself explains
        residual_px = np.linalg.norm(rays_cur - rays_prev @ rotation.T, axis=1) * focal
        on_rotation = residual_px < inlier_px
        if on_rotation.sum() < MIN_TRACKED_POINTS:
            break
        rotation = kabsch(rays_prev[on_rotation], rays_cur[on_rotation])
    residual_px = np.linalg.norm(rays_cur - rays_prev @ rotation.T, axis=1) * focal
    return rotation, float((residual_px < inlier_px).mean())


def _pixel_scale(tracks: FeatureTracks, frame: int) -> float:
    """Tracking-resolution pixels per frame pixel (thresholds are set at that resolution)."""
    from aios_core.world.feature_tracks import MAX_WIDTH_PX

    return min(1.0, MAX_WIDTH_PX / tracks.image_size_wh[frame][0])


def rotation_from_tracks(
    tracks: FeatureTracks,
    focal_px_per_frame: np.ndarray,  # (F,) focal length of each frame
    principal_point_px_per_frame: np.ndarray,  # (F, 2)
) -> CameraMotion:
    """Chain the frame-to-frame rotations into each frame's rotation from the first."""
    rotations = [np.eye(3)]
    fractions, unreliable = [], 0
    for k in range(1, tracks.num_frames):
        scale = _pixel_scale(tracks, k)
        start, end = tracks.common(k - 1, k)
        inliers = _homography_inliers(start * scale, end * scale, RANSAC_REPROJECTION_PX)
        if inliers is None or tracks.image_size_wh[k] != tracks.image_size_wh[k - 1]:
            unreliable += 1
            step = np.eye(3)
        else:
            focal, principal = focal_px_per_frame[k], principal_point_px_per_frame[k]
            rays_prev, rays_cur = _rays(start, focal, principal), _rays(end, focal, principal)
            step, fraction = _fit_rotation(rays_prev, rays_cur, focal * scale,
                                           ROTATION_INLIER_PX,
                                           kabsch(rays_prev[inliers], rays_cur[inliers]))
            fractions.append(fraction)
        # x_k = step @ x_(k-1); camera_to_ref: x_ref = R_k x_k = R_(k-1) step^T x_k
        rotations.append(rotations[-1] @ step.T)
    fraction = float(np.median(fractions)) if fractions else 1.0
    return CameraMotion(np.stack(rotations), fraction, unreliable,
                        homography_inlier_fraction(tracks))


def gap_pairs(tracks: FeatureTracks, gap: int = PARALLAX_GAP_FRAMES) -> list[tuple[int, int]]:
    """Frame pairs ``gap`` apart (or first and last when the clip is shorter)."""
    last = tracks.num_frames - 1
    if last < 1:
        return []
    gap = min(gap, last)
    return [(k, k + gap) for k in range(0, last - gap + 1, max(1, gap // 2))]


def homography_inlier_fraction(tracks: FeatureTracks) -> float:
    """Median over ``gap_pairs`` of the share of shared tracks on one homography."""
    fractions = []
    for a, b in gap_pairs(tracks):
        scale = _pixel_scale(tracks, b)
        start, end = tracks.common(a, b)
        inliers = _homography_inliers(start * scale, end * scale, PARALLAX_PX)
        if inliers is not None:
            fractions.append(float(inliers.mean()))
    return float(np.median(fractions)) if fractions else 1.0


def rotation_focal_px(tracks: FeatureTracks, principal_px: np.ndarray, width_px: float
                      ) -> tuple[float, float] | None:
    """(focal length, its relative uncertainty) that lets one rotation explain each pair of
    ``gap_pairs`` best (a turning camera's self-calibration); None when the camera turns too
    little for the rays to tell focal lengths apart."""
    from scipy.optimize import minimize_scalar

    pairs = []
    for a, b in gap_pairs(tracks):
        start, end = tracks.common(a, b)
        inliers = _homography_inliers(start, end, RANSAC_REPROJECTION_PX / _pixel_scale(tracks, b))
        if inliers is not None:
            pairs.append((start[inliers], end[inliers]))
    if not pairs:
        return None

    def cost(log_focal: float) -> float:
        focal = float(np.exp(log_focal))
        total = 0.0
        for start, end in pairs:
            rays_a, rays_b = _rays(start, focal, principal_px), _rays(end, focal, principal_px)
            rotation = kabsch(rays_a, rays_b)
            total += float(np.mean(np.linalg.norm(rays_b - rays_a @ rotation.T, axis=1) ** 2)
                           * focal ** 2)
        return total / len(pairs)

    bounds = np.log([0.25 * width_px, 4.0 * width_px])
    best = minimize_scalar(cost, bounds=bounds, method="bounded", options={"xatol": 1e-4})
    grid = np.linspace(*bounds, 25)
    costs = np.array([cost(x) for x in grid])
    if costs.max() < 4.0 * max(best.fun, 1e-6) or not np.isfinite(best.fun):
        return None  # too flat: the camera hardly turns
    # Curvature of the cost at its minimum -> a one-sigma relative focal error.
    step = 0.02
    curvature = (cost(best.x + step) + cost(best.x - step) - 2 * best.fun) / step ** 2
    sigma = float(np.sqrt(2 * best.fun / max(curvature, 1e-12) / max(len(pairs), 1)))
    return float(np.exp(best.x)), sigma


def estimate_rotation(
    frames_rgb,  # F frames (H, W, 3) uint8
    boxes_per_frame: list[np.ndarray],  # F arrays (N, 4) of people's boxes, frame pixels
    focal_px_per_frame: np.ndarray,  # (F,) focal length of each frame
    principal_point_px_per_frame: np.ndarray,  # (F, 2)
) -> CameraMotion:
    """``rotation_from_tracks`` on the background tracks of ``frames_rgb``."""
    from aios_core.world.feature_tracks import track_background

    return rotation_from_tracks(track_background(frames_rgb, boxes_per_frame),
                                focal_px_per_frame, principal_point_px_per_frame)
