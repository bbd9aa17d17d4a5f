"""Which foot points may touch the floor, and when: low (the lower foot) and still.

The sole points are SMPL-X's vertex-picked extra joints (rows of the body model's 144 joints):
heel, big toe and small toe of each foot. A foot is a floor candidate in a detection when it is
(within ``LOW_MARGIN_M``) the lower foot along the current up estimate and its sideways motion
across the image (perpendicular to the viewing ray, so depth noise does not count) is slow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEFT_BIG_TOE, LEFT_SMALL_TOE, LEFT_HEEL = 60, 61, 62
RIGHT_BIG_TOE, RIGHT_SMALL_TOE, RIGHT_HEEL = 63, 64, 65
# Foot-contact order shared with the animation side: left heel, left toe, right heel, right toe.
CONTACT_POINT_JOINTS = (LEFT_HEEL, LEFT_BIG_TOE, RIGHT_HEEL, RIGHT_BIG_TOE)
FOOT_JOINTS = ((LEFT_HEEL, LEFT_BIG_TOE, LEFT_SMALL_TOE), (RIGHT_HEEL, RIGHT_BIG_TOE,
                                                           RIGHT_SMALL_TOE))
PELVIS = 0
LOW_MARGIN_M = 0.04
STILL_SPEED_M_S = 0.4
STILL_WINDOW_S = 0.1  # compare positions this far before and after


@dataclass
class FootPoints:
    """Sole points of every detection, in one camera orientation (the first frame's)."""

    points_m: np.ndarray  # (D, 2, 3, 3): detection, foot (left, right), point, xyz
    pelvis_m: np.ndarray  # (D, 3)
    track_id: np.ndarray  # (D,)
    time_s: np.ndarray  # (D,)


def foot_points(joints_m: np.ndarray) -> np.ndarray:
    """(D, 144, 3) posed joints -> (D, 2, 3, 3) sole points per foot."""
    return joints_m[:, np.array(FOOT_JOINTS)]


def body_up(feet: FootPoints) -> np.ndarray:
    """(3,) mean direction from the feet to the pelvis: standing and walking people are upright."""
    directions = feet.pelvis_m - feet.points_m.reshape(len(feet.pelvis_m), -1, 3).mean(1)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    mean = directions.mean(0)
    return mean / np.linalg.norm(mean)


def sideways_speed(feet: FootPoints) -> np.ndarray:
    """(D, 2) speed of each foot across the image (m/s, perpendicular to its viewing ray);
    inf where the track has no detection around the window."""
    centres = feet.points_m.mean(2)  # (D, 2, 3)
    speed = np.full(centres.shape[:2], np.inf)
    for track in np.unique(feet.track_id):
        rows = np.flatnonzero(feet.track_id == track)
        rows = rows[np.argsort(feet.time_s[rows], kind="stable")]
        times = feet.time_s[rows]
        before = np.searchsorted(times, times - STILL_WINDOW_S, side="left")
        after = np.searchsorted(times, times + STILL_WINDOW_S, side="right") - 1
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            if a - b < 2 or times[a] - times[b] < STILL_WINDOW_S:
                continue
            step = centres[rows[a]] - centres[rows[b]]  # (2, 3)
            ray = centres[rows[i]] / np.linalg.norm(centres[rows[i]], axis=1, keepdims=True)
            across = step - (step * ray).sum(1, keepdims=True) * ray
            speed[rows[i]] = np.linalg.norm(across, axis=1) / (times[a] - times[b])
    return speed


def floor_candidates(feet: FootPoints, up: np.ndarray) -> np.ndarray:
    """(D, 2) bool: the foot is the lower one (within a margin) and still."""
    lowest = (feet.points_m @ up).min(2)  # (D, 2) height of each foot's lowest point
    low = lowest - lowest.min(1, keepdims=True) < LOW_MARGIN_M
    return low & (sideways_speed(feet) < STILL_SPEED_M_S)


FOOTPRINT_GAP_S = 0.12  # a longer gap in a foot's planted frames starts a new footprint


def footprints(feet: FootPoints, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average the sole points of each foot over each run of planted frames.

    Returns (M, 3, 3) footprint sole points and (M,) their track ids."""
    prints, tracks = [], []
    for track in np.unique(feet.track_id):
        rows = np.flatnonzero(feet.track_id == track)
        rows = rows[np.argsort(feet.time_s[rows], kind="stable")]
        for foot in range(2):
            planted = rows[candidates[rows, foot]]
            if not len(planted):
                continue
            breaks = np.flatnonzero(np.diff(feet.time_s[planted]) > FOOTPRINT_GAP_S) + 1
            for run in np.split(planted, breaks):
                prints.append(feet.points_m[run, foot].mean(0))
                tracks.append(track)
    if not prints:
        return np.zeros((0, 3, 3)), np.zeros(0, np.int64)
    return np.stack(prints), np.array(tracks)
