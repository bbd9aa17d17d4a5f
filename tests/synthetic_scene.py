"""Rendered synthetic scenes for the moving-camera world stage: a room, walkers, a camera path.

The people are ``tests/synthetic_world.py``'s walkers (exact planted feet); this module adds
what a camera-motion estimator needs to see: a floor and walls tiled with randomly coloured
squares and a few boxes (flat colours, so corners are sharp), rendered with pyrender together
with the walkers' meshes (which occlude the background), along one of five camera paths:

- ``static``: standing at 1.6 m, looking down 12 deg;
- ``pan``: turning on the spot (yaw +-20 deg, some tilt and roll), no translation;
- ``dolly``: sliding 2.5 m sideways on a rail while turning to keep the scene in view;
- ``handheld``: walking forwards and sideways (about 0.3 m/s) with a step bob and hand shake;
- ``orbit``: an arc of 40 deg around the scene's centre, 6 m away.

Scene frame: y up, floor y = 0, metres; the people walk 4-8 m in front of the first camera
(+z). Cameras are OpenCV (x right, y down, z forward), ``x_scene = R[k] @ x_cam + p[k]``.
"""

from __future__ import annotations

import numpy as np

from aios_core.body.embedded_smplx import EmbeddedSMPLX
from tests.synthetic_world import (
    CameraTruth,
    SyntheticWorld,
    _look_rotation,
    walkers,
)

CAMERA_PATHS = ("static", "pan", "dolly", "handheld", "orbit")
SCENE_CENTRE = np.array([0.0, 0.0, 5.5])
TILE_M = 0.25
_OPENCV_TO_GL = np.diag([1.0, -1.0, -1.0])


def camera_path(path: str, frames: int, fps: float, fov_deg: float,
                image_size_wh=(640, 360)) -> CameraTruth:
    """The camera of one of ``CAMERA_PATHS`` (see the module docstring)."""
    if path not in CAMERA_PATHS:
        raise ValueError(f"unknown camera path {path!r}")
    t = np.arange(frames) / fps
    u = t / max(t[-1], 1e-9)  # 0 -> 1 over the clip
    yaw = np.zeros(frames)
    pitch = np.full(frames, np.radians(12.0))
    roll = np.zeros(frames)
    position = np.tile([0.0, 1.6, 0.0], (frames, 1))
    if path == "pan":
        yaw = np.radians(20.0) * np.sin(np.pi * u)
        pitch += np.radians(3.0) * np.sin(2 * np.pi * u)
        roll = np.radians(1.5) * u
    elif path == "dolly":
        position[:, 0] = -1.25 + 2.5 * u
        yaw = np.arctan2(SCENE_CENTRE[0] - position[:, 0], SCENE_CENTRE[2] - position[:, 2])
    elif path == "handheld":
        position[:, 0] = 0.25 * t
        position[:, 2] = -0.5 + 0.2 * t
        position[:, 1] += 0.02 * np.sin(2 * np.pi * 1.8 * t)  # step bob
        yaw = np.radians(8.0) * np.sin(0.3 * t) + np.radians(1.0) * np.sin(2 * np.pi * 1.3 * t)
        pitch += np.radians(1.0) * np.sin(2 * np.pi * 0.9 * t + 1.0)
        roll = np.radians(1.0) * np.sin(2 * np.pi * 1.1 * t + 2.0)
    elif path == "orbit":
        angle = np.radians(-20.0 + 40.0 * u)
        position[:, 0] = SCENE_CENTRE[0] - 6.0 * np.sin(angle)
        position[:, 2] = SCENE_CENTRE[2] - 6.0 * np.cos(angle)
        yaw = angle
    rotations = np.stack([_look_rotation(y, p, r) for y, p, r in
                          zip(yaw, pitch, roll, strict=True)])
    focal = image_size_wh[0] / 2 / np.tan(np.radians(fov_deg) / 2)
    return CameraTruth(rotations, position, float(focal), tuple(image_size_wh))


def make_scene_world(
    model: EmbeddedSMPLX, path: str, frames: int = 150, fps: float = 15.0,
    num_people: int = 3, fov_deg: float = 45.0, seed: int = 0, image_size_wh=(640, 360),
) -> SyntheticWorld:
    """Walkers crossing the middle of the room, seen along ``path``."""
    rng = np.random.default_rng(seed)
    people = walkers(model, rng, frames, fps, num_people, side_m=1.0, depth_m=(4.5, 6.5))
    camera = camera_path(path, frames, fps, fov_deg, image_size_wh)
    return SyntheticWorld(people, camera, fps, frames)


def _tiled_quad(rng, corner: np.ndarray, edge_a: np.ndarray, edge_b: np.ndarray):
    """A rectangle split into TILE_M squares, each one flat colour (positions, colours, faces)."""
    count_a = int(round(np.linalg.norm(edge_a) / TILE_M))
    count_b = int(round(np.linalg.norm(edge_b) / TILE_M))
    i, j = np.meshgrid(np.arange(count_a), np.arange(count_b), indexing="ij")
    i, j = i.ravel(), j.ravel()
    step_a, step_b = edge_a / count_a, edge_b / count_b
    base = corner + i[:, None] * step_a + j[:, None] * step_b  # (T, 3)
    corners = np.stack([base, base + step_a, base + step_a + step_b, base + step_b], 1)
    colours = np.repeat(rng.uniform(0.1, 0.95, (len(base), 1, 3)), 4, 1)
    first = 4 * np.arange(len(base))[:, None]
    faces = np.concatenate([first + [0, 1, 2], first + [0, 2, 3],  # seen from both sides
                            first + [0, 2, 1], first + [0, 3, 2]])
    return corners.reshape(-1, 3), colours.reshape(-1, 3), faces


def room_meshes(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Floor, three walls and a few boxes, as (positions, colours, faces) in the scene frame."""
    rng = np.random.default_rng(1000 + seed)
    x, y, z = np.eye(3)
    parts = [
        _tiled_quad(rng, np.array([-8.0, 0.0, -4.0]), 16 * x, 18 * z),  # floor
        _tiled_quad(rng, np.array([-8.0, 0.0, 14.0]), 16 * x, 4 * y),  # back wall
        _tiled_quad(rng, np.array([-8.0, 0.0, -4.0]), 18 * z, 4 * y),  # left wall
        _tiled_quad(rng, np.array([8.0, 0.0, -4.0]), 18 * z, 4 * y),  # right wall
    ]
    for centre_x, centre_z, size in ((-4.5, 9.0, 1.0), (4.0, 10.0, 1.4), (-3.0, 12.0, 0.8),
                                     (5.5, 6.0, 0.7)):
        low = np.array([centre_x - size / 2, 0.0, centre_z - size / 2])
        for corner, edge_a, edge_b in ((low, size * x, size * y), (low, size * z, size * y),
                                       (low + size * z, size * x, size * y),
                                       (low + size * x, size * z, size * y),
                                       (low + size * y, size * x, size * z)):
            parts.append(_tiled_quad(rng, corner, edge_a, edge_b))
    return parts


def render_scene(world: SyntheticWorld, model: EmbeddedSMPLX, seed: int = 0) -> np.ndarray:
    """(F, H, W, 3) uint8 frames of the room and the walkers' meshes through the true camera."""
    from aios_core.body.meshes import MeshMaker
    from aios_core.rendering.gl_context import OffscreenContext

    context = OffscreenContext()
    pyrender = context._pyrender
    camera = world.camera
    width, height = camera.image_size_wh
    scene = pyrender.Scene(bg_color=(0.5, 0.6, 0.7, 1.0), ambient_light=(1.0, 1.0, 1.0))
    flat = pyrender.MetallicRoughnessMaterial(baseColorFactor=(1.0, 1.0, 1.0, 1.0),
                                              metallicFactor=0.0, roughnessFactor=1.0)
    for positions, colours, faces in room_meshes(seed):
        scene.add(pyrender.Mesh([pyrender.Primitive(
            positions=positions.astype(np.float32), indices=faces.astype(np.uint32),
            color_0=colours.astype(np.float32), material=flat)]))
    intrinsics = pyrender.IntrinsicsCamera(fx=camera.focal_px, fy=camera.focal_px,
                                           cx=width / 2, cy=height / 2, znear=0.05, zfar=100.0)
    pose = np.eye(4)
    camera_node = scene.add(intrinsics, pose=pose)
    meshes = MeshMaker(model)
    rng = np.random.default_rng(seed)
    people_colours = rng.uniform(0.2, 0.9, (len(world.people), 4))
    people_colours[:, 3] = 1.0
    frames = np.empty((world.num_frames, height, width, 3), np.uint8)
    count = world.num_frames
    people_vertices = np.stack([meshes.vertices({
        "betas": np.tile(person.betas, (count, 1)), "global_orient": person.global_orient,
        "body_pose": person.body_pose, "transl_m": person.transl_m,
        "left_hand_pose": np.zeros((count, 15, 3)), "right_hand_pose": np.zeros((count, 15, 3)),
        "jaw_pose": np.zeros((count, 3)), "expression": np.zeros((count, 10)),
    }) for person in world.people], 1)  # (F, P, V, 3)
    try:
        for k in range(world.num_frames):
            people_nodes = []
            for vertices, colour in zip(people_vertices[k], people_colours, strict=True):
                material = pyrender.MetallicRoughnessMaterial(baseColorFactor=colour,
                                                              metallicFactor=0.0)
                people_nodes.append(scene.add(pyrender.Mesh([pyrender.Primitive(
                    positions=vertices, indices=meshes.faces.astype(np.uint32),
                    material=material)])))
            pose[:3, :3] = camera.camera_to_scene_R[k] @ _OPENCV_TO_GL
            pose[:3, 3] = camera.position_m[k]
            scene.set_pose(camera_node, pose)
            frames[k] = context.render(scene, width, height)[0]
            for node in people_nodes:
                scene.remove_node(node)
    finally:
        context.close()
    return frames

