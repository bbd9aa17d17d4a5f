"""A static camera's focal length from the people in it.

Upright people are vertical lines in the world: their head-to-foot lines in the image meet at
the vertical vanishing point v. With the principal point c known, the world's up in the camera
is the ray through v, ``((v - c) / f, 1)``, which tilts more as f grows. The bodies, placed at
their metric depths (which scale with f), stand on a floor whose normal tilts less as f grows
(a depth stretch flattens the floor). Only the true focal length makes the two agree: this
searches for it. For a camera tilted by t, a focal error of e changes the angle between them
by about ``2 e sin t cos t``, so it needs the camera to look down (or up) a little, and people
at several places (two or more, or one who walks).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MIN_LINES = 20
SEARCH_RANGE = (0.25, 4.0)  # focal lengths tried, times the image width
NORMAL_SIGMA_DEG = 0.5  # typical error of a floor normal from footprints


def vertical_vanishing_point(head_px: np.ndarray, foot_px: np.ndarray) -> np.ndarray | None:
    """(3,) homogeneous point nearest to all head-to-foot lines (N, 2) -> None if too few."""
    if len(head_px) < MIN_LINES:
        return None
    ones = np.ones((len(head_px), 1))
    lines = np.cross(np.hstack([head_px, ones]), np.hstack([foot_px, ones]))
    lines /= np.linalg.norm(lines[:, :2], axis=1, keepdims=True)  # rows: distance in pixels
    _, singular, vt = np.linalg.svd(lines)
    if singular[-2] < 1e-6:
        return None
    return vt[-1]


def up_through(vanishing: np.ndarray, focal_px: float, principal_px: np.ndarray,
               towards: np.ndarray) -> np.ndarray:
    """(3,) unit up in the camera through the vanishing point, on the side of ``towards``."""
    if abs(vanishing[2]) > 1e-12:
        ray = np.append((vanishing[:2] / vanishing[2] - principal_px) / focal_px, 1.0)
    else:  # at infinity: the camera looks level
        ray = np.append(vanishing[:2] / focal_px, 0.0)
    ray /= np.linalg.norm(ray)
    return ray if ray @ towards > 0 else -ray


def focal_from_people(
    vanishing: np.ndarray,  # (3,) homogeneous vertical vanishing point
    principal_px: np.ndarray,  # (2,)
    width_px: float,
    floor_up_at: Callable[[float], np.ndarray | None],  # focal -> the feet's floor normal
) -> tuple[float, float] | None:
    """(focal length, relative one-sigma) where the floor and the vanishing point agree; None
    when no focal length in the range makes them agree (or no floor is found)."""
    from scipy.optimize import minimize_scalar

    def disagreement(log_focal: float) -> float:
        focal = float(np.exp(log_focal))
        floor_up = floor_up_at(focal)
        if floor_up is None:
            return np.pi
        up = up_through(vanishing, focal, principal_px, floor_up)
        return float(np.arccos(np.clip(up @ floor_up, -1.0, 1.0)))

    grid = np.log(np.geomspace(SEARCH_RANGE[0] * width_px, SEARCH_RANGE[1] * width_px, 25))
    costs = np.array([disagreement(x) for x in grid])
    best = int(np.argmin(costs))
    if costs[best] >= np.pi:
        return None
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    found = minimize_scalar(disagreement, bounds=(low, high), method="bounded",
                            options={"xatol": 1e-3})
    focal = float(np.exp(found.x))
    if found.fun > np.radians(5.0):
        return None
    floor_up = floor_up_at(focal)
    tilt = np.arccos(np.clip(abs(floor_up[2]), 0.0, 1.0))  # angle of the view from the floor
    leverage = max(2 * abs(np.cos(tilt) * np.sin(tilt)), 1e-3)
    sigma = max(found.fun, np.radians(NORMAL_SIGMA_DEG)) / leverage
    return focal, float(sigma)
