"""The frame the viewer draws in: the run's world frame when the results have one (y up, floor
at y = 0), else the camera frame of the results (OpenCV: x right, y down, z forward).

Everything the results hold in camera coordinates goes through ``to_display``:
``x_display = R[k] @ x_cam + p[k]`` for timeline position k (identity in the camera frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core.results.results_file import RunResults

_BOX_CORNERS = np.array([[0, 1], [2, 1], [2, 3], [0, 3]])  # (x, y) indices into xyxy
_BOX_EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0]])
BOX_KEYS = ("body_box_xyxy_px", "lhand_box_xyxy_px", "rhand_box_xyxy_px", "face_box_xyxy_px")
KEYPOINT_KEYS = ("body_keypoints_px", "lhand_keypoints_px", "rhand_keypoints_px",
                 "face_keypoints_px")


@dataclass(frozen=True)
class Intrinsics:
    """The pinhole camera of each timeline position."""

    focal_px: np.ndarray  # (F, 2) fx, fy
    principal_point_px: np.ndarray  # (F, 2) cx, cy
    image_size_wh: np.ndarray  # (F, 2)

    @classmethod
    def of(cls, results: RunResults, num_frames: int) -> Intrinsics:
        """Per-frame cameras of schema-2 results, or the header's camera for every frame."""
        def per_frame(name: str, header: object) -> np.ndarray:
            value = getattr(results, f"{name}_per_frame", None)
            if value is not None and len(value) == num_frames:
                return np.asarray(value, dtype=np.float64)
            return np.tile(np.asarray(header, dtype=np.float64), (num_frames, 1))

        return cls(per_frame("focal_px", results.focal_px),
                   per_frame("principal_point_px", results.principal_point_px),
                   per_frame("image_size_wh", results.image_size_wh))

    def vertical_fov_rad(self, position: int) -> float:
        return float(2.0 * np.arctan2(self.image_size_wh[position, 1] / 2.0,
                                      self.focal_px[position, 1]))

    def aspect(self, position: int) -> float:
        width, height = self.image_size_wh[position]
        return float(width / height)

    def back_project(self, position: int, pixels: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) at ``depth_m`` (...) on the rays of ``pixels`` (..., 2)."""
        ray_xy = (pixels - self.principal_point_px[position]) / self.focal_px[position]
        return np.concatenate([ray_xy * depth_m[..., None], depth_m[..., None]], axis=-1)


@dataclass(frozen=True)
class DisplayFrame:
    """Camera-to-display transforms, one per timeline position; see the module docstring."""

    name: str  # "world" | "camera"
    up_direction: str  # viser's up axis: "+y" (world) or "-y" (camera frame, y down)
    rotation: np.ndarray  # (F, 3, 3) camera to display
    camera_position: np.ndarray  # (F, 3) camera centre in the display frame
    has_floor: bool

    @classmethod
    def of(cls, results: RunResults, num_frames: int) -> DisplayFrame:
        world = getattr(results, "world", None)
        if world is not None and len(world.camera_to_world_R) == num_frames:
            return cls("world", "+y", np.asarray(world.camera_to_world_R, np.float64),
                       np.asarray(world.camera_position_m, np.float64), has_floor=True)
        return cls("camera", "-y", np.tile(np.eye(3), (num_frames, 1, 1)),
                   np.zeros((num_frames, 3)), has_floor=False)

    def to_display(self, position: int, points_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points of ``position`` in the display frame, float32."""
        moved = points_cam @ self.rotation[position].T.astype(np.float32)
        return (moved + self.camera_position[position].astype(np.float32)).astype(np.float32)

    def camera_wxyz(self, position: int) -> np.ndarray:
        """The camera's orientation in the display frame as a (w, x, y, z) quaternion."""
        return rotation_to_wxyz(self.rotation[position])


def rotation_to_wxyz(rotation: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    x, y, z, w = Rotation.from_matrix(rotation).as_quat()
    return np.array([w, x, y, z])


def keypoints_cam(results: RunResults, rows: np.ndarray, intrinsics: Intrinsics,
                  position: int) -> np.ndarray:
    """(N, 35, 3) 2D keypoints of ``rows`` lifted onto the plane at each person's depth."""
    pixels = np.concatenate([results.detections[key][rows] for key in KEYPOINT_KEYS], axis=1)
    depth = np.repeat(_person_depth_m(results, rows)[:, None], pixels.shape[1], axis=1)
    return intrinsics.back_project(position, pixels.astype(np.float64), depth)


def boxes_cam(results: RunResults, rows: np.ndarray, intrinsics: Intrinsics,
              position: int) -> np.ndarray:
    """(N, 4 boxes x 4 edges, 2, 3) edges of the body, hand and face boxes of ``rows``, on
    the plane at each person's depth."""
    boxes = np.stack([results.detections[key][rows] for key in BOX_KEYS], axis=1)  # (N, 4, 4)
    corners = boxes[..., _BOX_CORNERS]  # (N, 4 boxes, 4 corners, 2)
    edges = corners[:, :, _BOX_EDGES]  # (N, 4 boxes, 4 edges, 2 ends, 2)
    edges = edges.reshape(len(rows), -1, 2, 2)
    depth = np.broadcast_to(_person_depth_m(results, rows)[:, None, None], edges.shape[:3])
    return intrinsics.back_project(position, edges.astype(np.float64), depth)


def _person_depth_m(results: RunResults, rows: np.ndarray) -> np.ndarray:
    # The body-model origin's depth: close to the pelvis, so the lifted keypoints and boxes
    # lie inside the mesh's depth range.
    return np.maximum(results.detections["transl_m"][rows, 2].astype(np.float64), 0.1)


@dataclass(frozen=True)
class ViewPose:
    """Where the browser's camera starts: behind and above the video camera, looking at the
    people."""

    position: np.ndarray  # (3,) display frame
    look_at: np.ndarray  # (3,)
    up: np.ndarray  # (3,)
    vertical_fov_rad: float


# The start view, in the video camera's own frame (x right, y down, z forward), metres.
START_VIEW_OFFSET_M = np.array([0.0, -1.0, -2.0])


def start_view(display: DisplayFrame, intrinsics: Intrinsics, position: int,
               people_centre_display: np.ndarray | None) -> ViewPose:
    """The view of ``position``: from START_VIEW_OFFSET_M behind the camera towards the people
    (or 3 m ahead of the camera when there are none), the video camera's field of view."""
    rotation = display.rotation[position]
    camera = display.camera_position[position]
    if people_centre_display is None:
        people_centre_display = camera + rotation @ np.array([0.0, 0.0, 3.0])
    return ViewPose(
        position=camera + rotation @ START_VIEW_OFFSET_M,
        look_at=np.asarray(people_centre_display, dtype=np.float64),
        up=rotation @ np.array([0.0, -1.0, 0.0]),
        vertical_fov_rad=intrinsics.vertical_fov_rad(position),
    )
