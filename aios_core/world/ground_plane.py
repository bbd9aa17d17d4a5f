"""A robust floor plane from the footprints of planted feet, across all people and frames.

Plane in the reference camera frame: ``up . x + height_m = 0`` on the floor, ``up`` a unit
vector pointing away from the floor, ``height_m`` the camera's height above it (> 0).

The network's depth error moves a whole body along its viewing ray, per frame and per person.
Two things keep that error out of the plane:
- footprints: the sole points of one planted foot are averaged over the frames it stays down,
  which divides the per-frame error (and the bias it would give a least-squares plane, since
  the errors lie in the points themselves) by the number of frames;
- one height per person: a person whose distances are all a few percent off stands on a
  parallel plane a few percent higher or lower, so the normal is fitted from each person's
  footprints relative to their own mean (common normal, per-person offset) and the camera
  height is the (geometric) mean over people. A single shared plane would instead tilt to
  reconcile the people, and a tilt moves the height by the lever of their distance.
RANSAC on the footprints first finds the floor among outliers (a foot that is low but in the
air). A weak pull of the normal towards the people's mean upright direction keeps a single
person walking a straight line from tilting the plane about that line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RELATIVE_INLIER = 0.06  # |u . x + 1|, u = up / height: a point's relative error along its ray
RANSAC_ITERATIONS = 300
MIN_FOOTPRINTS = 4
MIN_INLIER_FRACTION = 0.5
MAX_TILT_FROM_BODIES_DEG = 35.0
PRIOR_SPREAD_M = 0.03  # the pull towards the bodies' up equals this much sideways spread


@dataclass
class FloorPlane:
    up: np.ndarray  # (3,) unit, reference camera frame
    height_m: float  # camera height above the floor
    inliers: int  # footprints on the floor
    candidates: int  # footprints offered
    rms_m: float  # inlier sole points' distance from their person's plane

    def heights_m(self, points_m: np.ndarray) -> np.ndarray:
        """Signed height above the floor of (..., 3) points."""
        return points_m @ self.up + self.height_m


class NoFloorFound(Exception):
    """Too few planted feet, or no plane that they agree on (the caller falls back)."""


def _plane_through(points: np.ndarray) -> np.ndarray | None:
    """``u`` with u . x + 1 = 0 through three points; None if degenerate or through the camera."""
    try:
        u = np.linalg.solve(points, -np.ones(3))
    except np.linalg.LinAlgError:
        return None
    return u if np.isfinite(u).all() else None


def _tilt_ok(normal: np.ndarray, body_up: np.ndarray) -> bool:
    cos = abs(normal @ body_up) / np.linalg.norm(normal)
    return cos >= np.cos(np.radians(MAX_TILT_FROM_BODIES_DEG))


def _ransac(points: np.ndarray, body_up: np.ndarray, rng) -> np.ndarray:
    """(M,) footprints on the best single plane through three footprint centres."""
    centres = points.mean(1)
    best = np.zeros(len(points), bool)
    for _ in range(RANSAC_ITERATIONS):
        u = _plane_through(centres[rng.choice(len(centres), 3, replace=False)])
        if u is None or not _tilt_ok(u, body_up):
            continue
        inliers = np.abs(centres @ u + 1) < RELATIVE_INLIER
        if inliers.sum() > best.sum():
            best = inliers
    return best


def _per_person_fit(points: np.ndarray, track: np.ndarray, weight: np.ndarray,
                    body_up: np.ndarray):
    """Common normal and each person's offset from (M, P, 3) footprints of ``track`` (M,),
    each weighted by the frames it averages (its error variance falls as 1 / frames)."""
    scatter = np.zeros((3, 3))
    means = {}
    for person in np.unique(track):
        mine = track == person
        own = points[mine].reshape(-1, 3)
        own_weight = np.repeat(weight[mine], points.shape[1])
        means[person] = np.average(own, axis=0, weights=own_weight)
        centred = own - means[person]
        scatter += (centred * own_weight[:, None]).T @ centred
    count = weight.sum() * points.shape[1]
    scatter += count * PRIOR_SPREAD_M**2 * (np.eye(3) - np.outer(body_up, body_up))
    normal = np.linalg.eigh(scatter)[1][:, 0]
    if normal @ body_up < 0:
        normal = -normal
    offsets = {person: -float(normal @ mean) for person, mean in means.items()}
    return normal, offsets


def fit_floor(
    footprints_m: np.ndarray, track_id: np.ndarray, frames: np.ndarray, body_up: np.ndarray,
    seed: int = 0,
) -> FloorPlane:
    """(M, P, 3) sole points of M footprints (reference camera frame), each footprint's person
    (M,) and number of frames averaged (M,), the people's mean up (3,) -> the floor plane."""
    footprints_m = np.asarray(footprints_m, np.float64)
    frames = np.asarray(frames, np.float64)
    if len(footprints_m) < MIN_FOOTPRINTS:
        raise NoFloorFound(f"only {len(footprints_m)} footprints of planted feet")
    best = _ransac(footprints_m, body_up, np.random.default_rng(seed))
    if best.sum() < max(MIN_FOOTPRINTS, MIN_INLIER_FRACTION * len(footprints_m)):
        raise NoFloorFound(f"no plane holds {MIN_INLIER_FRACTION:.0%} of the "
                           f"{len(footprints_m)} footprints of planted feet")
    for _ in range(3):  # refit; re-select the footprints on their person's plane
        normal, offsets = _per_person_fit(footprints_m[best], track_id[best], frames[best],
                                          body_up)
        offset = np.array([offsets.get(t, np.nan) for t in track_id])
        relative = np.abs(footprints_m.mean(1) @ normal + offset) / offset
        kept = relative < RELATIVE_INLIER
        if kept.sum() < MIN_FOOTPRINTS:
            break
        best = kept
    normal, offsets = _per_person_fit(footprints_m[best], track_id[best], frames[best], body_up)
    if not _tilt_ok(normal, body_up):
        raise NoFloorFound("the feet's plane is tilted against the people's upright bodies")
    heights = np.array([offsets[t] for t in track_id[best]])
    if (heights <= 0).any():
        raise NoFloorFound("the feet's plane does not lie below the camera")
    # Geometric mean over people, each weighted by the frames its footprints average.
    height = float(np.exp(np.average(np.log(heights), weights=frames[best])))
    residual = footprints_m[best] @ normal + heights[:, None]
    return FloorPlane(normal, height, int(best.sum()), len(footprints_m),
                      float(np.sqrt(np.mean(residual**2))))


def body_distance_scale(plane: FloorPlane, points: np.ndarray, pelvis: np.ndarray,
                        camera_m: np.ndarray | None = None) -> np.ndarray:
    """(N,) factor on each body's distance along its pelvis ray (from its camera centre
    ``camera_m`` (N, 3), the origin if None) that puts its sole point (N, 3) on the floor:
    s with up . (c + s * (pelvis - c) + (point - pelvis)) + height = 0."""
    camera_m = np.zeros(3) if camera_m is None else camera_m
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(plane.height_m + camera_m @ plane.up + (points - pelvis) @ plane.up) / (
            (pelvis - camera_m) @ plane.up)
