"""Metres per unit of a moving camera's reconstruction, from the people's feet.

First choice, ``scale_from_floor``: the reconstruction's background points include the floor;
the camera's height above that plane in reconstruction units, against its height in metres
above each person's lowest sole point (the body's metric position in the camera), gives the
scale per detection; their median is robust to feet in the air. Second choice, when no floor
plane is found among the points, ``scale_from_planted_feet``:

A structure-from-motion path has no scale. The people do: each body's position in its camera
is metric (its known size through the found focal length), and a planted foot is a point fixed
in the world. For a foot planted over frames k, its reference-frame position is
``a_k + s * c_k`` (``a_k = R_k @ foot_cam_k``, ``c_k`` the camera centre in reconstruction
units); s is the value that keeps every planted foot still. Each observation is weighted by
its error shape: across the image the body's position is good to a few centimetres, along the
viewing ray only to a few percent of the distance, so the sideways motion of the camera under
a planted foot carries most of the information. The foot point per detection is the centre of
its sole points; a foot counts as planted over a run of frames where it is the lower foot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDEWAYS_SIGMA_M = 0.03
DEPTH_SIGMA_FRACTION = 0.05
MIN_RUN = 3
RUN_GAP_S = 0.12
LOW_MARGIN_M = 0.03


FLOOR_TILT_DEG = 12.0  # the floor's normal lies this close to the people's up
FLOOR_INLIER = 0.01  # of the points' median distance from the first camera
FLOOR_RANSAC = 200


class NoScaleFound(Exception):
    """No planted foot saw the camera move (the caller falls back)."""


@dataclass
class MetricScale:
    metres_per_unit: float
    relative_sigma: float  # one-sigma
    runs: int  # planted-foot runs used (or, from the floor, background points on it)
    floor_up: np.ndarray | None = None  # (3,) the floor among the points, reference frame
    floor_height_m: float | None = None  # the first camera's height above it


def _runs(track_id: np.ndarray, time_s: np.ndarray, lower_foot: np.ndarray) -> list[np.ndarray]:
    """Detection rows of each run of frames where one foot of one person stays the lower."""
    runs = []
    for track in np.unique(track_id):
        rows = np.flatnonzero(track_id == track)
        rows = rows[np.argsort(time_s[rows], kind="stable")]
        cut = np.flatnonzero((np.diff(lower_foot[rows]) != 0)
                             | (np.diff(time_s[rows]) > RUN_GAP_S)) + 1
        runs += [run for run in np.split(rows, cut) if len(run) >= MIN_RUN]
    return runs


def scale_from_planted_feet(
    feet_rotated_m: np.ndarray,  # (D, 2, 3, 3) sole points, camera-relative, reference axes
    camera_centre: np.ndarray,  # (D, 3) camera centre of each detection, reconstruction units
    up: np.ndarray,  # (3,) reference frame
    track_id: np.ndarray,  # (D,)
    time_s: np.ndarray,  # (D,)
) -> MetricScale:
    """The scale that keeps planted feet still (see the module docstring)."""
    foot_height = (feet_rotated_m @ up).min(2)  # (D, 2)
    lower = np.argmin(foot_height, 1)
    clear = np.abs(foot_height[:, 0] - foot_height[:, 1]) > LOW_MARGIN_M
    centres = feet_rotated_m.mean(2)[np.arange(len(lower)), lower]  # (D, 3)
    lower = np.where(clear, lower, -1)  # neither foot clearly lower: no run through it
    rays = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    distance = np.linalg.norm(centres, axis=1)
    sideways_w = 1.0 / SIDEWAYS_SIGMA_M ** 2
    along_w = 1.0 / (DEPTH_SIGMA_FRACTION * distance) ** 2
    weights = (sideways_w * np.eye(3) + (along_w - sideways_w)[:, None, None]
               * np.einsum("di,dj->dij", rays, rays))  # (D, 3, 3)
    terms = []  # per run: (u^T W v, v^T W v, u^T W u, count)
    for run in _runs(track_id, time_s, lower):
        if (lower[run] < 0).any():
            continue
        w = weights[run]
        total = np.linalg.inv(w.sum(0))
        a, b = centres[run], camera_centre[run]
        u = a - total @ np.einsum("kij,kj->i", w, a)
        v = b - total @ np.einsum("kij,kj->i", w, b)
        terms.append((np.einsum("ki,kij,kj->", u, w, v), np.einsum("ki,kij,kj->", v, w, v),
                      np.einsum("ki,kij,kj->", u, w, u), len(run)))
    terms = np.array(terms).reshape(-1, 4)
    terms = terms[terms[:, 1] > 0]
    if not len(terms):
        raise NoScaleFound("no planted foot saw the camera move")
    # Each run's own scale, then their median weighted by how much the camera moved under the
    # foot: robust to runs that were not planted after all (a swing foot taken as lower).
    per_run = -terms[:, 0] / terms[:, 1]
    order = np.argsort(per_run)
    cumulative = np.cumsum(terms[order, 1])
    scale = float(per_run[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    if not scale > 0:
        raise NoScaleFound("the planted feet do not agree on the camera's scale")
    # Spread of the run scales around it -> one-sigma of the median (1.25 * MAD / sqrt(n)).
    spread = 1.4826 * np.median(np.abs(per_run - scale))
    sigma = 1.25 * spread / np.sqrt(len(per_run)) / scale
    return MetricScale(scale, float(sigma), len(per_run))


def _floor_in_points(points: np.ndarray, up: np.ndarray, seed: int = 0
                     ) -> tuple[np.ndarray, float, int] | None:
    """(normal, offset, inliers) of the plane n . x = offset below the first camera (at the
    origin) holding the most points, with n within FLOOR_TILT_DEG of ``up``; None if none."""
    if len(points) < 20:
        return None
    rng = np.random.default_rng(seed)
    threshold = FLOOR_INLIER * np.median(np.linalg.norm(points, axis=1))
    best = None
    for _ in range(FLOOR_RANSAC):
        sample = points[rng.choice(len(points), 3, replace=False)]
        normal = np.cross(sample[1] - sample[0], sample[2] - sample[0])
        if np.linalg.norm(normal) < 1e-12:
            continue
        normal /= np.linalg.norm(normal)
        normal = normal if normal @ up > 0 else -normal
        if normal @ up < np.cos(np.radians(FLOOR_TILT_DEG)):
            continue
        offset = float(normal @ sample[0])
        if offset >= 0:  # not below the camera
            continue
        inliers = np.abs(points @ normal - offset) < threshold
        if best is None or inliers.sum() > best.sum():
            best = inliers
    if best is None or best.sum() < 20:
        return None
    floor = points[best]
    centre = floor.mean(0)
    normal = np.linalg.eigh((floor - centre).T @ (floor - centre))[1][:, 0]
    normal = normal if normal @ up > 0 else -normal
    return normal, float(normal @ centre), int(best.sum())


def scale_from_floor(
    points: np.ndarray,  # (P, 3) background points, reference frame, reconstruction units
    camera_centre: np.ndarray,  # (D, 3) camera centre of each detection, reconstruction units
    lowest_sole_m: np.ndarray,  # (D, 3) lowest sole point, camera-relative, reference axes
    up: np.ndarray,  # (3,) the people's up, reference frame
) -> MetricScale:
    """The scale from the floor among the points (see the module docstring)."""
    found = _floor_in_points(points, up)
    if found is None:
        raise NoScaleFound("no floor among the background points")
    normal, offset, inliers = found
    height_units = camera_centre @ normal - offset  # (D,)
    height_m = -(lowest_sole_m @ normal)
    usable = (height_units > 0) & (height_m > 0)
    if usable.sum() < 10:
        raise NoScaleFound("too few people seen standing on the floor")
    ratios = height_m[usable] / height_units[usable]
    scale = float(np.median(ratios))
    spread = 1.4826 * np.median(np.abs(ratios - scale))
    return MetricScale(scale, float(1.25 * spread / np.sqrt(usable.sum()) / scale), inliers,
                       normal, -offset * scale)
