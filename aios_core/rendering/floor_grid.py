"""The fitted floor drawn as a grid of lines on a frame, through that frame's camera."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core.body.camera import project_points

GRID_COLOUR = (235, 235, 235)
NEAR_M = 0.05  # segments are clipped this far in front of the camera


@dataclass(frozen=True)
class FloorGrid:
    """Square grid on the world floor (y = 0) centred at ``centre_xz``."""

    centre_xz: tuple[float, float]
    half_size_m: float
    spacing_m: float = 0.5

    @classmethod
    def around(cls, world_points_m: np.ndarray, spacing_m: float = 0.5) -> FloorGrid:
        """A grid covering the (N, 3) world points' floor area plus a margin."""
        xz = np.asarray(world_points_m, np.float64).reshape(-1, 3)[:, [0, 2]]
        if not len(xz):
            return cls((0.0, 0.0), 2.0, spacing_m)
        low, high = xz.min(0), xz.max(0)
        centre = np.round((low + high) / 2 / spacing_m) * spacing_m
        half = np.ceil((np.abs(xz - centre).max() + 1.0) / spacing_m) * spacing_m
        return cls((float(centre[0]), float(centre[1])), float(half), spacing_m)

    def segments_world(self) -> np.ndarray:
        """(L, 2, 3) line segments on the floor, metres."""
        steps = np.arange(-self.half_size_m, self.half_size_m + 1e-9, self.spacing_m)
        cx, cz = self.centre_xz
        lines = []
        for offset in steps:
            lines.append([[cx + offset, 0, cz - self.half_size_m],
                          [cx + offset, 0, cz + self.half_size_m]])
            lines.append([[cx - self.half_size_m, 0, cz + offset],
                          [cx + self.half_size_m, 0, cz + offset]])
        return np.array(lines, np.float64)


def _clip_in_front(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The part of a camera-frame segment in front of the near plane, or None."""
    if start[2] < NEAR_M and end[2] < NEAR_M:
        return None
    if start[2] < NEAR_M or end[2] < NEAR_M:
        t = (NEAR_M - start[2]) / (end[2] - start[2])
        cut = start + t * (end - start)
        return (cut, end) if start[2] < NEAR_M else (start, cut)
    return start, end


def draw_floor_grid(
    frame_rgb: np.ndarray,  # (H, W, 3) uint8, drawn on in place
    grid: FloorGrid,
    camera_to_world_R: np.ndarray,  # (3, 3) this frame's
    camera_position_m: np.ndarray,  # (3,)
    focal_px: np.ndarray,  # (2,)
    principal_point_px: np.ndarray,  # (2,)
    subdivisions: int = 8,
) -> np.ndarray:
    """Project the grid through the frame's camera (x_cam = R^T (x_world - p)) and draw it."""
    import cv2

    thickness = max(1, round(frame_rgb.shape[1] / 480))
    for start_w, end_w in grid.segments_world():
        # Lines are drawn piecewise so that a segment passing near the camera bends correctly.
        points_w = start_w + np.linspace(0, 1, subdivisions + 1)[:, None] * (end_w - start_w)
        points_c = (points_w - camera_position_m) @ np.asarray(camera_to_world_R)
        for a, b in zip(points_c[:-1], points_c[1:], strict=True):
            clipped = _clip_in_front(a, b)
            if clipped is None:
                continue
            pixels = [project_points(p, focal_px, principal_point_px) for p in clipped]
            (u0, v0), (u1, v1) = pixels
            if not np.isfinite([u0, v0, u1, v1]).all() or max(abs(u0), abs(v0), abs(u1),
                                                               abs(v1)) > 1e5:
                continue
            cv2.line(frame_rgb, (int(u0), int(v0)), (int(u1), int(v1)), GRID_COLOUR, thickness,
                     cv2.LINE_AA)
    return frame_rgb
