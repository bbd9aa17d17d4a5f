"""Inputs of AiOS's in-process benchmarks that are arithmetic, not data loading.

- :func:`match_by_body_keypoints`: which GT person the evaluated prediction is scored
  against (AiOS ``PostProcess_SMPLX_Multi``; with the top-1 query only, the closest GT).
- :func:`ubody_visible_vertices`: UBody's vertex mask (GT mesh projected with the
  *predicted* camera, kept when strictly inside the image).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from aios_core.body.camera import AIOS_FOCAL_LENGTH_PX, aios_cam_to_translation, project_points


def match_by_body_keypoints(
    pred_kp2d_px: np.ndarray,
    gt_kp2d_px: np.ndarray,
    image_wh: np.ndarray,
    gt_confidence: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian assignment of predictions to GT people on body keypoints.

    pred_kp2d_px: (P, 25, 2), gt_kp2d_px: (G, 25, 2) pixels (the 25 body joints of AiOS's
    137-joint set); image_wh: (2,) the size both are divided by. Cost = L1 distance of the
    normalised keypoints summed over joints and xy. UBody passes gt_confidence (G, 25): each
    joint's term is weighted by it and the cost divided by the total confidence of the image.
    Returns (pred_indices, gt_indices).
    """
    scale = np.asarray(image_wh, dtype=np.float64)
    diff = pred_kp2d_px[:, None] / scale - gt_kp2d_px[None] / scale  # (P, G, 25, 2)
    if gt_confidence is None:
        cost = np.abs(diff).sum(axis=(-2, -1))
    else:
        conf = np.asarray(gt_confidence)[None, :, :, None]
        cost = np.abs(diff * conf).sum(axis=(-2, -1)) / np.asarray(gt_confidence).sum()
    pred_idx, gt_idx = linear_sum_assignment(cost)
    return pred_idx, gt_idx


def project_with_predicted_camera(
    points: np.ndarray,
    pred_cam: np.ndarray,
    image_wh: np.ndarray,
    focal_px: float = AIOS_FOCAL_LENGTH_PX,
) -> np.ndarray:
    """Pixels of (N, K, 3) points under AiOS's camera (s, tx, ty) per person: (N, K, 2).

    The camera translation is (tx/s, ty/s, 1/s) with s offset by 1e-9; principal point is
    image_wh / 2 (image_wh (N, 2) or (2,): the network-input size AiOS uses).
    """
    translation = aios_cam_to_translation(np.asarray(pred_cam))  # (N, 3)
    cam_points = points + translation[:, None, :].astype(points.dtype)
    centre = np.broadcast_to(np.asarray(image_wh, dtype=points.dtype) / 2, (len(points), 2))
    return project_points(cam_points, focal_px, centre[:, None, :])


def ubody_visible_vertices(
    gt_verts: np.ndarray,
    pred_cam: np.ndarray,
    image_wh: np.ndarray,
    focal_px: float = AIOS_FOCAL_LENGTH_PX,
) -> np.ndarray:
    """(N, V) bool: GT vertices whose projection lies strictly inside (0, w) x (0, h)."""
    uv = project_with_predicted_camera(gt_verts, pred_cam, image_wh, focal_px)
    size = np.broadcast_to(np.asarray(image_wh, dtype=uv.dtype), (len(gt_verts), 2))
    inside = (uv - size[:, None, :] < 0) & (uv > 0)
    return inside[..., 0] & inside[..., 1]
