"""Frame-to-frame multi-person tracking by optimal assignment.

Each frame, every live track predicts where its person is now (constant velocity of
the box centre), and detections are matched to tracks by minimising a cost that mixes
box overlap (1 - IoU) and the keypoint distance normalised by the person's size. Pairs
above ``max_cost`` are never matched; unmatched detections start new tracks. Track ids
are never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

_FORBIDDEN_COST = 1e6  # stands in for +inf, which linear_sum_assignment rejects


@dataclass(frozen=True)
class TrackerConfig:
    iou_weight: float = 1.0
    keypoint_weight: float = 1.0
    # Mean keypoint distance, in units of sqrt(box area), at which that cost term is 1.
    keypoint_distance_scale: float = 0.5
    max_cost: float = 0.75  # gate: costlier pairs are never matched (costs lie in [0, 1])
    max_age: int = 15  # consecutive frames a track may go undetected and still be matched
    use_velocity: bool = True  # predict unmatched/moving tracks with constant velocity
    velocity_smoothing: float = 0.5  # weight of the newest velocity measurement
    min_new_track_score: float = 0.0  # weaker unmatched detections get id -1, no track

    def __post_init__(self) -> None:
        if self.iou_weight < 0 or self.keypoint_weight < 0:
            raise ValueError("cost weights must be >= 0")
        if self.iou_weight + self.keypoint_weight == 0:
            raise ValueError("at least one cost weight must be positive")
        if self.max_age < 0:
            raise ValueError("max_age must be >= 0")
        if not 0.0 < self.velocity_smoothing <= 1.0:
            raise ValueError("velocity_smoothing must be in (0, 1]")


@dataclass
class Track:
    track_id: int
    box_xyxy: np.ndarray  # (4,) px, last observed
    keypoints_px: np.ndarray | None  # (K, 2), last observed
    velocity_px: np.ndarray  # (2,) box-centre motion per frame
    last_frame: int
    hits: int = 1

    def predict(self, frame: int, use_velocity: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Box and keypoints expected at ``frame``."""
        if not use_velocity:
            return self.box_xyxy, self.keypoints_px
        shift = self.velocity_px * (frame - self.last_frame)
        box = self.box_xyxy + np.concatenate([shift, shift])
        keypoints = None if self.keypoints_px is None else self.keypoints_px + shift
        return box, keypoints


class PersonTracker:
    """Assign persistent ids to per-frame person detections; call ``update`` once a frame."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.frame_index = -1
        self._tracks: list[Track] = []
        self._next_id = 0

    @property
    def tracks(self) -> list[Track]:
        """Live tracks (matched within the last max_age + 1 frames)."""
        return list(self._tracks)

    def reset(self) -> None:
        """Forget every track; ids still keep counting up."""
        self._tracks = []
        self.frame_index = -1

    def update(
        self,
        boxes_xyxy: np.ndarray,
        keypoints_px: np.ndarray | None = None,
        scores: np.ndarray | None = None,
    ) -> np.ndarray:
        """Track ids (N,) int64 for this frame's detections; -1 for an untracked detection.

        boxes_xyxy (N, 4) px; keypoints_px (N, K, 2) px, NaN for missing points;
        scores (N,) detection confidences.
        """
        cfg = self.config
        self.frame_index += 1
        frame = self.frame_index
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        n = len(boxes)
        kps = None if keypoints_px is None else np.asarray(keypoints_px, dtype=np.float64)
        if kps is not None and (kps.ndim != 3 or kps.shape[0] != n or kps.shape[2] != 2):
            raise ValueError(f"keypoints must be (N, K, 2) with N={n}, got {kps.shape}")
        det_scores = np.ones(n) if scores is None else np.asarray(scores, dtype=np.float64)

        # Tracks missed for more than max_age frames can no longer be matched.
        self._tracks = [t for t in self._tracks if frame - t.last_frame - 1 <= cfg.max_age]
        ids = np.full(n, -1, dtype=np.int64)
        matched_dets: set[int] = set()
        if self._tracks and n:
            cost = self._cost_matrix(frame, boxes, kps)  # (T, N)
            gated = np.where(cost <= cfg.max_cost, cost, _FORBIDDEN_COST)
            for t_idx, d_idx in zip(*linear_sum_assignment(gated), strict=True):
                if gated[t_idx, d_idx] >= _FORBIDDEN_COST:
                    continue
                track = self._tracks[t_idx]
                self._observe(track, frame, boxes[d_idx], None if kps is None else kps[d_idx])
                ids[d_idx] = track.track_id
                matched_dets.add(int(d_idx))
        for d_idx in range(n):
            if d_idx in matched_dets or det_scores[d_idx] < cfg.min_new_track_score:
                continue
            track = Track(
                track_id=self._next_id,
                box_xyxy=boxes[d_idx].copy(),
                keypoints_px=None if kps is None else kps[d_idx].copy(),
                velocity_px=np.zeros(2),
                last_frame=frame,
            )
            self._next_id += 1
            self._tracks.append(track)
            ids[d_idx] = track.track_id
        return ids

    # ----------------------------------------------------------------------------- internals

    def _cost_matrix(self, frame: int, boxes: np.ndarray, kps: np.ndarray | None) -> np.ndarray:
        """(T, N) matching costs in [0, 1]."""
        cfg = self.config
        predictions = [t.predict(frame, cfg.use_velocity) for t in self._tracks]
        track_boxes = np.stack([box for box, _ in predictions])  # (T, 4)
        iou_cost = 1.0 - box_iou(track_boxes, boxes)  # (T, N)
        kp_cost = np.full_like(iou_cost, np.nan)
        if kps is not None and cfg.keypoint_weight > 0:
            scale = np.sqrt(np.maximum(box_area(track_boxes), 1.0))  # (T,)
            for t_idx, (_, track_kps) in enumerate(predictions):
                if track_kps is None or track_kps.shape != kps.shape[1:]:
                    continue
                distance = _mean_keypoint_distance(track_kps, kps)  # (N,)
                normalised = distance / (scale[t_idx] * cfg.keypoint_distance_scale)
                kp_cost[t_idx] = np.minimum(normalised, 1.0)
        # Where keypoints cannot be compared (absent/NaN), the box term decides alone.
        has_kp = ~np.isnan(kp_cost)
        kp_weight = np.where(has_kp, cfg.keypoint_weight, 0.0)
        weighted = cfg.iou_weight * iou_cost + kp_weight * np.nan_to_num(kp_cost)
        total_weight = cfg.iou_weight + kp_weight
        return np.where(total_weight > 0, weighted / np.maximum(total_weight, 1e-12), 1.0)

    def _observe(
        self, track: Track, frame: int, box: np.ndarray, keypoints: np.ndarray | None
    ) -> None:
        gap = frame - track.last_frame
        measured = (_centre(box) - _centre(track.box_xyxy)) / gap
        if track.hits == 1:  # first motion measurement: nothing to blend with
            track.velocity_px = measured
        else:
            a = self.config.velocity_smoothing
            track.velocity_px = a * measured + (1.0 - a) * track.velocity_px
        track.box_xyxy = box.copy()
        if keypoints is not None:
            track.keypoints_px = keypoints.copy()
        track.last_frame = frame
        track.hits += 1


def box_area(boxes_xyxy: np.ndarray) -> np.ndarray:
    wh = np.clip(boxes_xyxy[..., 2:4] - boxes_xyxy[..., 0:2], 0.0, None)
    return wh[..., 0] * wh[..., 1]


def box_iou(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """Pairwise IoU (A, B) of boxes (A, 4) and (B, 4)."""
    top_left = np.maximum(a_xyxy[:, None, :2], b_xyxy[None, :, :2])
    bottom_right = np.minimum(a_xyxy[:, None, 2:], b_xyxy[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0.0, None), axis=-1)
    union = box_area(a_xyxy)[:, None] + box_area(b_xyxy)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _centre(box_xyxy: np.ndarray) -> np.ndarray:
    return 0.5 * (box_xyxy[:2] + box_xyxy[2:])


def _mean_keypoint_distance(track_kps: np.ndarray, det_kps: np.ndarray) -> np.ndarray:
    """Mean over jointly visible keypoints of the distance (N,); NaN if none are shared."""
    distance = np.linalg.norm(det_kps - track_kps[None], axis=-1)  # (N, K), NaN if missing
    valid = ~np.isnan(distance)
    count = valid.sum(axis=1)
    total = np.where(valid, distance, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)
