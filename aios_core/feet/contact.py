"""Foot contact labels: per heel / toe and frame, is it on the floor?

A point touches down when it is low (height above its flat-foot height ``contact_height_m``
under ``height_on_m``) and slow (speed under ``speed_on_m_s``); it stays down until it rises
over ``height_off_m`` or moves faster than ``speed_off_m_s``. The two thresholds per quantity
(hysteresis) keep noise from toggling the label. Speed is the slower of the mean speeds over
the ``speed_span`` samples before and after (``point_speeds``), which averages out per-frame
jitter of the estimates without blurring where a contact starts or ends; runs of contact
shorter than ``min_run`` samples are dropped, gaps of up to ``max_gap`` samples closed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ContactConfig:
    height_on_m: float = 0.05
    height_off_m: float = 0.08
    # Steadied points (see steadied_points) of a walking foot move at 2-4 m/s in swing.
    speed_on_m_s: float = 0.8
    speed_off_m_s: float = 1.2
    speed_span: int = 3
    min_run: int = 3
    max_gap: int = 2


def point_speeds(points_m: np.ndarray, times_s: np.ndarray, span: int) -> np.ndarray:
    """(T, P, 3) positions at ``times_s`` (T,) -> (T, P) speed in m/s: the slower of the
    average speeds over the ``span`` samples before and the ``span`` samples after (so a point
    that stops or starts at t is slow at t, and jitter averages out)."""
    count = len(points_m)
    if count < 2:
        return np.zeros(points_m.shape[:2])
    index = np.arange(count)

    def speed(first: np.ndarray, last: np.ndarray) -> np.ndarray:
        elapsed = np.maximum(times_s[last] - times_s[first], 1e-9)[:, None]
        moved = np.linalg.norm(points_m[last] - points_m[first], axis=-1) / elapsed
        return np.where((last > first)[:, None], moved, np.inf)

    after = speed(index, np.minimum(index + span, count - 1))
    before = speed(np.maximum(index - span, 0), index)
    return np.minimum(after, before)


def _hysteresis(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(T,) on-condition and off-condition -> (T,) state: on at ``low``, off at ``high``."""
    state, on = np.zeros(len(low), bool), False
    for t in range(len(low)):
        on = (not high[t]) if on else bool(low[t])
        state[t] = on
    return state


def _runs(mask: np.ndarray, value: bool) -> list[tuple[int, int]]:
    """[start, end) of each maximal run of ``value`` in (T,) ``mask``."""
    padded = np.concatenate([[0], (mask == value).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2], strict=True))


def _clean(state: np.ndarray, min_run: int, max_gap: int) -> np.ndarray:
    state = state.copy()
    for start, end in _runs(state, False):
        if 0 < start and end < len(state) and end - start <= max_gap:
            state[start:end] = True
    for start, end in _runs(state, True):
        if end - start < min_run:
            state[start:end] = False
    return state


def detect_contacts(points_m: np.ndarray, times_s: np.ndarray, contact_height_m: np.ndarray,
                    config: ContactConfig = ContactConfig()) -> np.ndarray:
    """(T, P, 3) world points (y up, floor y = 0), (T,) times, (P,) flat-foot heights ->
    (T, P) bool contact labels."""
    height = points_m[..., 1] - np.asarray(contact_height_m)[None]  # (T, P)
    speed = point_speeds(points_m, np.asarray(times_s, np.float64), config.speed_span)
    labels = np.zeros(height.shape, bool)
    for p in range(height.shape[1]):
        low = (height[:, p] < config.height_on_m) & (speed[:, p] < config.speed_on_m_s)
        high = (height[:, p] > config.height_off_m) | (speed[:, p] > config.speed_off_m_s)
        labels[:, p] = _clean(_hysteresis(low, high), config.min_run, config.max_gap)
    return labels


def steadied_points(points_m: np.ndarray, pelvis_m: np.ndarray, times_s: np.ndarray,
                    sigma_s: float) -> np.ndarray:
    """(T, P, 3) foot points carried by a pelvis path smoothed over ``sigma_s`` (Gaussian in
    time): each point keeps its place relative to the pelvis (the pose, which per-frame depth or
    translation jitter of an estimate does not touch) and the body as a whole moves smoothly."""
    times_s = np.asarray(times_s, np.float64)
    if sigma_s <= 0 or len(times_s) < 2:
        return points_m
    smooth = np.empty_like(pelvis_m)
    lower = np.searchsorted(times_s, times_s - 3 * sigma_s)
    upper = np.searchsorted(times_s, times_s + 3 * sigma_s, side="right")
    for t in range(len(times_s)):
        window = slice(lower[t], upper[t])
        weight = np.exp(-0.5 * ((times_s[window] - times_s[t]) / sigma_s) ** 2)
        smooth[t] = weight @ pelvis_m[window] / weight.sum()
    return points_m + (smooth - pelvis_m)[:, None]


def contact_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a (T,) label column."""
    return _runs(np.asarray(labels, bool), True)
