"""The gravity-aligned world from the floor: axes, origin, each frame's camera, each body.

World: y = the floor's up, the floor at y = 0; x = the reference camera's right projected on
the floor; z = x cross y (towards the camera, for a camera looking at the scene); origin on the
floor under the first foot contact. Camera frames are OpenCV (x right, y down, z forward).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from aios_core.world.ground_plane import FloorPlane


def reference_to_world(plane: FloorPlane, first_contact_m: np.ndarray) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Rotation R (3, 3) and origin o (3,) with x_world = R @ (x_ref - o); o on the floor
    under ``first_contact_m`` (reference camera frame)."""
    up = plane.up / np.linalg.norm(plane.up)
    right = np.array([1.0, 0.0, 0.0]) - up[0] * up
    if np.linalg.norm(right) < 1e-6:  # camera looking straight down along its x axis: unlikely
        right = np.array([0.0, 0.0, 1.0]) - up[2] * up
    right /= np.linalg.norm(right)
    rotation = np.stack([right, up, np.cross(right, up)])  # rows: world axes in the ref frame
    origin = first_contact_m - plane.heights_m(first_contact_m) * up
    return rotation, origin


def camera_poses(
    ref_to_world_R: np.ndarray, origin_m: np.ndarray, camera_to_ref_R: np.ndarray,
    camera_centre_ref_m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: camera_to_world_R (F, 3, 3) and camera_position_m (F, 3).

    ``camera_to_ref_R`` (F, 3, 3) rotates each frame's camera axes into the reference camera's;
    ``camera_centre_ref_m`` (F, 3) is each camera's centre in the reference frame (zeros for a
    camera that only turns)."""
    to_world = ref_to_world_R @ camera_to_ref_R  # (F, 3, 3)
    position = (camera_centre_ref_m - origin_m) @ ref_to_world_R.T
    return to_world, position


def bodies_in_world(
    global_orient: np.ndarray,  # (D, 3) axis-angle, camera frame of each detection's frame
    transl_m: np.ndarray,  # (D, 3) camera frame
    rest_pelvis_m: np.ndarray,  # (D, 3) rotation centre of each body (unposed pelvis joint)
    camera_to_world_R: np.ndarray,  # (D, 3, 3) of each detection's frame
    camera_position_m: np.ndarray,  # (D, 3)
) -> tuple[np.ndarray, np.ndarray]:
    """World ``global_orient`` and ``transl`` posing the same bodies (smplx rotates the body
    about the pelvis joint, then adds ``transl``)."""
    orient = Rotation.from_matrix(camera_to_world_R) * Rotation.from_rotvec(global_orient)
    pelvis_cam = transl_m + rest_pelvis_m
    pelvis_world = np.einsum("dij,dj->di", camera_to_world_R, pelvis_cam) + camera_position_m
    return orient.as_rotvec().astype(np.float32), (pelvis_world - rest_pelvis_m).astype(
        np.float32)


def bodies_in_camera(
    global_orient_world: np.ndarray,  # (D, 3)
    transl_world_m: np.ndarray,  # (D, 3)
    rest_pelvis_m: np.ndarray,  # (D, 3)
    camera_to_world_R: np.ndarray,  # (D, 3, 3)
    camera_position_m: np.ndarray,  # (D, 3)
) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of ``bodies_in_world``: camera-frame ``global_orient`` and ``transl``."""
    to_camera = np.transpose(camera_to_world_R, (0, 2, 1))
    return bodies_in_world(global_orient_world, transl_world_m, rest_pelvis_m, to_camera,
                           -np.einsum("dij,dj->di", to_camera, camera_position_m))
