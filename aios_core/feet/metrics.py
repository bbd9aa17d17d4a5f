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
