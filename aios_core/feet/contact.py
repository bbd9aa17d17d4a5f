"""Foot contact labels: per heel / toe and frame, is it on the floor?

A point's contact runs from the frame it lands to the frame it lifts. Two passes:

1. Find the runs: a point touches down when it is low (height above its flat-foot height
   ``contact_height_m`` under ``height_on`` foot lengths) and slow (speed under ``speed_on`` leg
   lengths per second); it stays down until it rises over ``height_off`` or moves faster than
   ``speed_off`` (hysteresis: noise between the two thresholds does not toggle the label).
   Speed is the slower of the mean speeds over the ``speed_span`` samples before and after
   (``point_speeds``), which averages out jitter; runs shorter than ``min_run`` samples are
   dropped, gaps of up to ``max_gap`` samples closed.
2. Place each run's ends: the speed windows blur them by a few frames, so each run becomes the
   frames around its middle where the point is at its footprint (the run's median position,
   within ``footprint_tolerance`` foot lengths, or ``footprint_spread`` times the run's own
   spread about it where the input is noisier than that) and low. The first and last
   such frames are the landing and the lift.

Thresholds are in units of the body (``rig.BodyScale``): leg length for speeds, foot length for
heights and distances, so a child and an adult are measured alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core.feet.rig import BodyScale


@dataclass(frozen=True)
class ContactConfig:
    height_on: float = 0.35  # foot lengths above the flat-foot height
    height_off: float = 0.55
    # leg lengths per second; a walking foot moves at 3-5 in swing
    speed_on: float = 1.0
    speed_off: float = 1.5
    speed_span: int = 3
    min_run: int = 3
    max_gap: int = 2
    footprint_tolerance: float = 0.03  # foot lengths from the footprint
    footprint_spread: float = 4.0  # ... or this many times the run's noise (``_footprint_run``)


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


def _footprint_run(points_m: np.ndarray, low: np.ndarray, start: int, end: int,
                   tolerance_m: float, spread: float) -> tuple[int, int]:
    """[start, end) of a run found by speed -> [landing, lift + 1): the frames around the run's
    middle where the (T, 3) point stays at the run's footprint and ``low``; one frame off it
    (noise) is stepped over, two end the run. The footprint is the median position over the
    run's frames where the point stands still (within the tolerance of a neighbour), or over
    the whole run where noise leaves none: the speed windows make a run a few frames longer
    than the contact, and those frames must not move it."""
    run = points_m[start:end]
    steps = np.linalg.norm(np.diff(run, axis=0), axis=1)
    neighbour = np.minimum(np.r_[np.inf, steps], np.r_[steps, np.inf])  # (end - start,)
    still = neighbour < tolerance_m
    footprint = np.median(run[still] if still.sum() >= 2 else run, axis=0)
    distance = np.linalg.norm(points_m - footprint, axis=1)
    # The noise: the median distance over the half of the run nearest the footprint (the
    # other half may be the frames the speed windows added).
    nearest = np.sort(distance[start:end])[:max(2, (end - start) // 2)]
    own_spread = np.median(nearest)
    near = low & (distance < max(tolerance_m, spread * own_spread))
    middle = start + int(np.argmin(distance[start:end]))
    bounds = []
    for step in (-1, 1):
        last, t = middle, middle + step
        while 0 <= t < len(near) and (near[t] or (0 <= t + step < len(near) and near[t + step])):
            last = t if near[t] else last
            t += step
        bounds.append(last)
    return bounds[0], bounds[1] + 1


def detect_contacts(points_m: np.ndarray, times_s: np.ndarray, contact_height_m: np.ndarray,
                    scale: BodyScale, config: ContactConfig = ContactConfig()) -> np.ndarray:
    """(T, P, 3) world points (y up, floor y = 0), (T,) times, (P,) flat-foot heights, the
    body's scale -> (T, P) bool contact labels."""
    foot, leg = scale.foot_length_m, scale.leg_length_m
    height = points_m[..., 1] - np.asarray(contact_height_m)[None]  # (T, P)
    speed = point_speeds(points_m, np.asarray(times_s, np.float64), config.speed_span)
    labels = np.zeros(height.shape, bool)
    for p in range(height.shape[1]):
        low = (height[:, p] < config.height_on * foot) & (speed[:, p] < config.speed_on * leg)
        high = ((height[:, p] > config.height_off * foot)
                | (speed[:, p] > config.speed_off * leg))
        found = _clean(_hysteresis(low, high), config.min_run, config.max_gap)
        for start, end in _runs(found, True):
            landing, lift = _footprint_run(points_m[:, p], height[:, p] < config.height_off * foot,
                                           start, end, config.footprint_tolerance * foot,
                                           config.footprint_spread)
            labels[landing:lift, p] = True
        labels[:, p] = _clean(labels[:, p], config.min_run, 0)
    return labels


WALKING_SCORE_M = 0.005  # what ``path_noise_m`` sees of a clean walking pelvis, at most


def path_noise_m(path_m: np.ndarray, frames: np.ndarray) -> float:
    """Per-frame jitter of a (T, 3) body path at (T,) frame numbers, m: the median size of its
    second differences over consecutive frames / sqrt(6) (white noise of sigma per step gives
    second differences of sqrt(6) sigma), less what a clean walking pelvis scores
    (``WALKING_SCORE_M``, taken off in quadrature): 0 for clean motion, several centimetres
    for estimates with depth jitter."""
    whole = (frames[2:] - frames[:-2]) == 2
    if not whole.any():
        return 0.0
    second = np.linalg.norm(np.diff(path_m, n=2, axis=0), axis=-1)[whole]
    score = float(np.median(second) / np.sqrt(6.0))
    return float(np.sqrt(max(score ** 2 - WALKING_SCORE_M ** 2, 0.0)))


def contact_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a (T,) label column."""
    return _runs(np.asarray(labels, bool), True)
