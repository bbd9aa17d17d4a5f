"""The camera's rotation per frame from background image features (a camera turning on a tripod
or in a hand that pans; not one that walks).

Per pair of consecutive frames: corners outside the people's boxes (OpenCV
``goodFeaturesToTrack``) are followed into the next frame (pyramidal Lucas-Kanade), RANSAC on
the homography drops the points that moved on their own, and the rotation that best maps the
inliers' viewing rays onto each other (Kabsch) is the camera's turn. Pure rotation moves every
background point by that one homography whatever its depth; a camera that translates leaves
many points off the rotation (parallax), which is reported, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

MAX_WIDTH_PX = 640  # features are found on frames shrunk to at most this width
MIN_TRACKED_POINTS = 12
RANSAC_REPROJECTION_PX = 2.0
ROTATION_INLIER_PX = 2.5
STATIC_BELOW_DEG = 0.5  # --camera auto: a total turn below this is a static camera
TRANSLATING_BELOW_FRACTION = 0.6  # fewer points than this on the rotation: it translates
BOX_MARGIN = 0.1


@dataclass
class CameraMotion:
    camera_to_ref_R: np.ndarray  # (F, 3, 3): x_ref = R[k] @ x_cam_k (reference: first frame)
    rotation_inlier_fraction: float  # median over frame pairs
    unreliable_pairs: int  # pairs with too few background points (rotation taken as none)

    @property
    def max_turn_deg(self) -> float:
        angles = np.arccos(np.clip((np.trace(self.camera_to_ref_R, axis1=1, axis2=2) - 1) / 2,
                                   -1.0, 1.0))
        return float(np.degrees(angles.max()))

    @property
    def translates(self) -> bool:
        return self.rotation_inlier_fraction < TRANSLATING_BELOW_FRACTION


def _grey(rgb: np.ndarray, scale: float):
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale != 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return grey


def _background_mask(shape_hw, boxes_xyxy: np.ndarray, scale: float) -> np.ndarray:
    mask = np.full(shape_hw, 255, np.uint8)
    for x1, y1, x2, y2 in np.asarray(boxes_xyxy).reshape(-1, 4) * scale:
        pad_x, pad_y = (x2 - x1) * BOX_MARGIN, (y2 - y1) * BOX_MARGIN
        mask[max(0, int(y1 - pad_y)):max(0, int(y2 + pad_y) + 1),
             max(0, int(x1 - pad_x)):max(0, int(x2 + pad_x) + 1)] = 0
    return mask


def _rays(points_px: np.ndarray, focal_px: float, principal_px: np.ndarray) -> np.ndarray:
    rays = np.concatenate([(points_px - principal_px) / focal_px,
                           np.ones((len(points_px), 1))], axis=1)
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation R (3, 3) minimising sum |target - R source|^2 over (N, 3) unit vectors."""
    u, _, vt = np.linalg.svd(target.T @ source)
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    return u @ fix @ vt


def _pair_rotation(prev, cur, mask_prev, mask_cur, focal, principal):
    """(R_cur<-prev, fraction of tracked points on it), or None with too few points."""
    import cv2

    corners = cv2.goodFeaturesToTrack(prev, maxCorners=400, qualityLevel=0.01, minDistance=7,
                                      mask=mask_prev)
    if corners is None or len(corners) < MIN_TRACKED_POINTS:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, corners, None, winSize=(21, 21),
                                                maxLevel=3)
    start, end = corners.reshape(-1, 2), moved.reshape(-1, 2)
    inside = (end >= 0).all(1) & (end[:, 0] < cur.shape[1] - 1) & (end[:, 1] < cur.shape[0] - 1)
    keep = (status.reshape(-1) == 1) & inside
    end_pixels = np.clip(end, 0, None).astype(int)
    keep &= mask_cur[np.minimum(end_pixels[:, 1], cur.shape[0] - 1),
                     np.minimum(end_pixels[:, 0], cur.shape[1] - 1)] > 0
    start, end = start[keep], end[keep]
    if len(start) < MIN_TRACKED_POINTS:
        return None
    _, inliers = cv2.findHomography(start, end, cv2.RANSAC, RANSAC_REPROJECTION_PX)
    if inliers is None or inliers.sum() < MIN_TRACKED_POINTS:
        return None
    inliers = inliers.reshape(-1).astype(bool)
    rays_prev, rays_cur = _rays(start, focal, principal), _rays(end, focal, principal)
    rotation = kabsch(rays_prev[inliers], rays_cur[inliers])
    for _ in range(2):  # refit on the points the rotation itself explains
        residual_px = np.linalg.norm(rays_cur - rays_prev @ rotation.T, axis=1) * focal
        on_rotation = residual_px < ROTATION_INLIER_PX
        if on_rotation.sum() < MIN_TRACKED_POINTS:
            break
        rotation = kabsch(rays_prev[on_rotation], rays_cur[on_rotation])
    residual_px = np.linalg.norm(rays_cur - rays_prev @ rotation.T, axis=1) * focal
    return rotation, float((residual_px < ROTATION_INLIER_PX).mean())


def estimate_rotation(
    frames_rgb: Iterable[np.ndarray],  # F frames (H, W, 3) uint8
    boxes_per_frame: list[np.ndarray],  # F arrays (N, 4) of people's boxes, frame pixels
    focal_px_per_frame: np.ndarray,  # (F,) focal length of each frame
    principal_point_px_per_frame: np.ndarray,  # (F, 2)
) -> CameraMotion:
    """Chain the frame-to-frame rotations into each frame's rotation from the first."""
    rotations = [np.eye(3)]
    fractions, unreliable = [], 0
    prev = prev_mask = None
    for k, rgb in enumerate(frames_rgb):
        scale = min(1.0, MAX_WIDTH_PX / rgb.shape[1])
        grey = _grey(rgb, scale)
        mask = _background_mask(grey.shape, boxes_per_frame[k], scale)
        if prev is not None:
            pair = _pair_rotation(prev, grey, prev_mask, mask, focal_px_per_frame[k] * scale,
                                  principal_point_px_per_frame[k] * scale)
            if pair is None:
                unreliable += 1
                step = np.eye(3)
            else:
                step, fraction = pair
                fractions.append(fraction)
            # x_k = step @ x_(k-1); camera_to_ref: x_ref = R_k x_k = R_(k-1) step^T x_k
            rotations.append(rotations[-1] @ step.T)
        prev, prev_mask = grey, mask
    if len(rotations) != len(boxes_per_frame):
        raise ValueError(f"{len(rotations)} frames decoded for {len(boxes_per_frame)} processed")
    fraction = float(np.median(fractions)) if fractions else 1.0
    return CameraMotion(np.stack(rotations), fraction, unreliable)
