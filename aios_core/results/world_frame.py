"""``WorldFrame``: a run's people and camera in a gravity-aligned world frame.

World frame: y up, the floor is the plane y = 0, metres; the origin lies on the floor under the
first person's first foot contact; x is the camera's right (of the first frame) projected on the
floor, z = x cross y. Camera frame (OpenCV): x right, y down, z forward. For frame k,

    x_world = camera_to_world_R[k] @ x_cam + camera_position_m[k]

Per detection, ``global_orient`` (axis-angle) and ``transl_m`` are SMPL-X parameters (smplx's
``transl`` convention, the same betas and body pose) that pose the same body in the world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core.io.arrays import float32_array

UP_AXIS = "y"
CAMERA_MODES = ("static", "rotating", "moving")
FOCAL_SOURCES = ("assumed", "user", "metadata", "camera_motion", "people")


@dataclass
class WorldFrame:
    camera_to_world_R: np.ndarray  # (F, 3, 3) float32
    camera_position_m: np.ndarray  # (F, 3) float32
    global_orient: np.ndarray  # (D, 3) float32 axis-angle, world frame
    transl_m: np.ndarray  # (D, 3) float32, world frame
    camera_mode: str  # "static" | "rotating" | "moving"
    focal_source: str  # "assumed" | "user" | "metadata" | "camera_motion" | "people"
    up_axis: str = UP_AXIS
    focal_px: float = float("nan")  # of the first frame; nan in files written before it
    focal_uncertainty: float = float("nan")  # relative one-sigma; 0 when given, nan unknown

    def __post_init__(self) -> None:
        frames = len(self.camera_to_world_R)
        self.camera_to_world_R = float32_array(
            "camera_to_world_R", self.camera_to_world_R, (frames, 3, 3))
        self.camera_position_m = float32_array(
            "camera_position_m", self.camera_position_m, (frames, 3))
        count = len(self.global_orient)
        self.global_orient = float32_array("world global_orient", self.global_orient, (count, 3))
        self.transl_m = float32_array("world transl_m", self.transl_m, (count, 3))
        if self.camera_mode not in CAMERA_MODES:
            raise ValueError(f"camera_mode must be one of {CAMERA_MODES}, got {self.camera_mode!r}")
        if self.focal_source not in FOCAL_SOURCES:
            raise ValueError(f"focal_source must be one of {FOCAL_SOURCES}, "
                             f"got {self.focal_source!r}")
        if self.up_axis != UP_AXIS:
            raise ValueError(f"up_axis must be {UP_AXIS!r}, got {self.up_axis!r}")
        self.focal_px, self.focal_uncertainty = float(self.focal_px), float(self.focal_uncertainty)

    @property
    def num_frames(self) -> int:
        return len(self.camera_to_world_R)

    def select(self, mask: np.ndarray) -> WorldFrame:
        """A copy keeping only the detections where ``mask`` is true (cameras unchanged)."""
        return WorldFrame(
            self.camera_to_world_R, self.camera_position_m, self.global_orient[mask],
            self.transl_m[mask], self.camera_mode, self.focal_source, self.up_axis,
            self.focal_px, self.focal_uncertainty,
        )
