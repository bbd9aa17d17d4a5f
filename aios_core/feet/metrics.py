"""How clean a motion's feet are: skate, floor penetration, contact F1, jitter, joint error."""

from __future__ import annotations

import numpy as np

SKATE_LIMIT_CM = 1.0  # per frame: a contact sample moving more than this counts as skating


def foot_skate_cm(points_m: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(T, P, 3) points, (T, P) contact labels -> (mean horizontal motion of points in contact
    at two consecutive frames, cm/frame; share of those steps over SKATE_LIMIT_CM)."""
    step = np.linalg.norm(np.diff(points_m[..., [0, 2]], axis=0), axis=-1) * 100.0  # (T-1, P)
    both = labels[1:] & labels[:-1]
    if not both.any():
        return 0.0, 0.0
    return float(step[both].mean()), float((step[both] > SKATE_LIMIT_CM).mean())


def penetration_cm(points_m: np.ndarray, contact_height_m: np.ndarray) -> float:
    """Mean depth below the floor (0 for points above it) over all samples, cm."""
    depth = np.maximum(np.asarray(contact_height_m)[None] - points_m[..., 1], 0.0)
    return float(depth.mean() * 100.0)


def contact_f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    """F1 of the contact labels over every (frame, point)."""
    hits = float((predicted & truth).sum())
    if hits == 0:
        return 1.0 if not predicted.any() and not truth.any() else 0.0
    precision, recall = hits / predicted.sum(), hits / truth.sum()
    return 2 * precision * recall / (precision + recall)


def jitter_m_s3(joints_m: np.ndarray, fps: float) -> float:
    """Mean magnitude of the third time derivative of (T, J, 3) joint positions, m/s^3."""
    if len(joints_m) < 4:
        return 0.0
    jerk = np.diff(joints_m, n=3, axis=0) * fps ** 3
    return float(np.linalg.norm(jerk, axis=-1).mean())


def joint_error_mm(joints_m: np.ndarray, truth_m: np.ndarray) -> float:
    """Mean per-joint position error, mm."""
    return float(np.linalg.norm(joints_m - truth_m, axis=-1).mean() * 1000.0)


WHAM_STILL_M = 0.01  # WHAM's foot-sliding metric: frames where the true foot moves less


def wham_foot_skate_mm(points_m: np.ndarray, truth_points_m: np.ndarray,
                       steps: np.ndarray | None = None) -> float:
    """WHAM's foot sliding (as WHAM, TRAM and GVHMR report it): mean 3-D displacement of the
    (T, P, 3) estimated foot points between consecutive frames where the true point moves less
    than 1 cm, mm/frame. ``steps`` (T-1,) bool: which frame pairs are consecutive (all)."""
    moved = np.linalg.norm(np.diff(truth_points_m, axis=0), axis=-1)  # (T-1, P)
    still = moved < WHAM_STILL_M
    if steps is not None:
        still &= np.asarray(steps, bool)[:, None]
    if not still.any():
        return 0.0
    step = np.linalg.norm(np.diff(points_m, axis=0), axis=-1)
    return float(step[still].mean() * 1000.0)


def _label_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], labels.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2], strict=True))


def contact_boundary_frames(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per true contact run of (T, P) labels, the frame errors of the predicted run that overlaps
    it most: (N, 2) |start error|, |end error| (a run with none overlapping: its length).
    Starts at the first frame and ends at the last are left out (the clip cuts them)."""
    errors = []
    count = len(truth)
    for p in range(truth.shape[1]):
        ours = _label_runs(predicted[:, p])
        for start, end in _label_runs(truth[:, p]):
            overlap = [min(end, e) - max(start, s) for s, e in ours]
            if not overlap or max(overlap) <= 0:
                errors.append((end - start if start else np.nan,
                               end - start if end < count else np.nan))
                continue
            s, e = ours[int(np.argmax(overlap))]
            errors.append((abs(s - start) if start else np.nan,
                           abs(e - end) if end < count else np.nan))
    return np.array(errors, np.float64).reshape(-1, 2)


def peak_acceleration_m_s2(joints_m: np.ndarray, fps: float,
                           steps: np.ndarray | None = None) -> np.ndarray:
    """(J,) largest acceleration of each of (T, J, 3) joints, m/s^2 (over windows of three
    consecutive frames; ``steps`` (T-1,) says which frame pairs are consecutive)."""
    if len(joints_m) < 3:
        return np.zeros(joints_m.shape[1])
    acceleration = np.linalg.norm(np.diff(joints_m, n=2, axis=0), axis=-1) * fps ** 2
    if steps is not None:
        steps = np.asarray(steps, bool)
        acceleration = acceleration[steps[1:] & steps[:-1]]
    return acceleration.max(0) if len(acceleration) else np.zeros(joints_m.shape[1])
