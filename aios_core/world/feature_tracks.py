"""Background corners followed through the whole clip (one pass over the frames).

Corners outside the people's boxes (OpenCV ``goodFeaturesToTrack``) are followed from frame to
frame with pyramidal Lucas-Kanade, checked by tracking back (a point that does not return
within ``BACK_TRACK_PX`` is dropped), and topped up with new corners where tracks were lost.
Each track keeps its id as long as it lives, so any two frames share the ids seen in both:
the camera-motion estimators (``camera_motion`` for a turning camera, ``camera_trajectory``
for a moving one) work from these tracks, never from the frames themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

MAX_WIDTH_PX = 640  # features are found on frames shrunk to at most this width
MAX_CORNERS = 400
MIN_CORNER_GAP_PX = 8
BACK_TRACK_PX = 1.0
BOX_MARGIN = 0.1


@dataclass
class FeatureTracks:
    """Per processed frame: the ids and pixels (original frame pixels) of the live tracks."""

    ids: list[np.ndarray]  # F arrays (N_k,) int
    points_px: list[np.ndarray]  # F arrays (N_k, 2)
    image_size_wh: list[tuple[int, int]]  # F sizes; a size change cuts every track

    @property
    def num_frames(self) -> int:
        return len(self.ids)

    def common(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Pixels (M, 2), (M, 2) in frames ``a`` and ``b`` of the tracks seen in both."""
        _, in_a, in_b = np.intersect1d(self.ids[a], self.ids[b], return_indices=True)
        return self.points_px[a][in_a], self.points_px[b][in_b]


def grey_frame(rgb: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale != 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return grey


def background_mask(shape_hw, boxes_xyxy: np.ndarray, scale: float) -> np.ndarray:
    """(H, W) uint8: 255 on the background, 0 inside the people's boxes (plus a margin)."""
    mask = np.full(shape_hw, 255, np.uint8)
    for x1, y1, x2, y2 in np.asarray(boxes_xyxy).reshape(-1, 4) * scale:
        pad_x, pad_y = (x2 - x1) * BOX_MARGIN, (y2 - y1) * BOX_MARGIN
        mask[max(0, int(y1 - pad_y)):max(0, int(y2 + pad_y) + 1),
             max(0, int(x1 - pad_x)):max(0, int(x2 + pad_x) + 1)] = 0
    return mask


def _follow(prev: np.ndarray, cur: np.ndarray, points: np.ndarray, mask_cur: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """(new points (N, 2), kept (N,) bool) for ``points`` of ``prev`` found in ``cur``."""
    import cv2

    if not len(points):
        return points, np.zeros(0, bool)
    start = points.reshape(-1, 1, 2).astype(np.float32)
    params = dict(winSize=(21, 21), maxLevel=3)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, start, None, **params)
    back, back_status, _ = cv2.calcOpticalFlowPyrLK(cur, prev, moved, None, **params)
    moved, back = moved.reshape(-1, 2), back.reshape(-1, 2)
    height, width = cur.shape
    inside = ((moved >= 0).all(1) & (moved[:, 0] < width - 1) & (moved[:, 1] < height - 1))
    kept = ((status.reshape(-1) == 1) & (back_status.reshape(-1) == 1) & inside
            & (np.linalg.norm(back - points, axis=1) < BACK_TRACK_PX))
    pixels = np.clip(moved, 0, None).astype(int)
    kept &= mask_cur[np.minimum(pixels[:, 1], height - 1), np.minimum(pixels[:, 0], width - 1)] > 0
    return moved, kept


def _new_corners(grey: np.ndarray, mask: np.ndarray, existing: np.ndarray, wanted: int
                 ) -> np.ndarray:
    import cv2

    mask = mask.copy()
    for x, y in existing.astype(int):
        cv2.circle(mask, (int(x), int(y)), MIN_CORNER_GAP_PX, 0, -1)
    corners = cv2.goodFeaturesToTrack(grey, maxCorners=wanted, qualityLevel=0.01,
                                      minDistance=MIN_CORNER_GAP_PX, mask=mask)
    return np.zeros((0, 2), np.float32) if corners is None else corners.reshape(-1, 2)


def track_background(
    frames_rgb: Iterable[np.ndarray],  # F frames (H, W, 3) uint8
    boxes_per_frame: list[np.ndarray],  # F arrays (N, 4) of people's boxes, frame pixels
) -> FeatureTracks:
    """Follow background corners through every frame (see the module docstring)."""
    ids, points, sizes = [], [], []
    prev = None
    live_ids, live = np.zeros(0, np.int64), np.zeros((0, 2), np.float32)
    next_id = 0
    for k, rgb in enumerate(frames_rgb):
        if k >= len(boxes_per_frame):
            raise ValueError(f"more frames decoded than the {len(boxes_per_frame)} processed")
        scale = min(1.0, MAX_WIDTH_PX / rgb.shape[1])
        grey = grey_frame(rgb, scale)
        mask = background_mask(grey.shape, boxes_per_frame[k], scale)
        if prev is not None and prev.shape == grey.shape:
            live, kept = _follow(prev, grey, live, mask)
            live_ids, live = live_ids[kept], live[kept]
        else:  # first frame, or the frame size changed: start afresh
            live_ids, live = np.zeros(0, np.int64), np.zeros((0, 2), np.float32)
        if len(live) < MAX_CORNERS * 3 // 4:
            fresh = _new_corners(grey, mask, live, MAX_CORNERS - len(live))
            live = np.concatenate([live, fresh]).astype(np.float32)
            live_ids = np.concatenate([live_ids, next_id + np.arange(len(fresh))])
            next_id += len(fresh)
        ids.append(live_ids.copy())
        points.append(live.astype(np.float64) / scale)
        sizes.append((int(rgb.shape[1]), int(rgb.shape[0])))
        prev = grey
    if len(ids) != len(boxes_per_frame):
        raise ValueError(f"{len(ids)} frames decoded for {len(boxes_per_frame)} processed")
    return FeatureTracks(ids, points, sizes)
