"""Draw every person's mesh over a video frame with pyrender, offscreen.

Input vertices are in the AiOS camera frame (x right, y down, z forward, metres: OpenCV
convention). pyrender cameras look down -z with y up, so ``_OPENCV_TO_GL`` flips y and z once,
for all meshes and views. All people go into one scene so the depth buffer decides who is in
front where they overlap.
"""

from __future__ import annotations

import colorsys

import numpy as np

from aios_core.rendering.gl_context import OffscreenContext, import_pyrender

_OPENCV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])
_GOLDEN_RATIO = 0.618033988749895
SIDE_VIEW_BACKGROUND = (245, 245, 245)

# Lighting: ambient plus one directional light shining along the view direction (cheap enough
# for llvmpipe, no shadows). pyrender's shader treats material colours as linear and
# gamma-encodes its output (power 1/2.2), so palette colours go in as ``colour ** 2.2`` and the
# light is scaled so that ambient + diffuse = 1 on surfaces facing the camera: those show the
# track's palette colour itself, surfaces seen edge-on about 60 % of it.
_GAMMA = 2.2
_AMBIENT = 0.3
_ROUGHNESS = 0.9  # nearly matte: a strong highlight would wash out the track colour
_MIN_ROUGHNESS = 0.04  # pyrender's dielectric reflectance, which also scales the diffuse part
_DIFFUSE_PER_INTENSITY = (1.0 - _MIN_ROUGHNESS) ** 2 / np.pi
_LIGHT_INTENSITY = (1.0 - _AMBIENT) / _DIFFUSE_PER_INTENSITY


def track_colour(track_id: int) -> np.ndarray:
    """A stable, well-separated RGB colour in [0, 1] for a track id (golden-ratio hue walk)."""
    hue = (0.11 + track_id * _GOLDEN_RATIO) % 1.0
    return np.array(colorsys.hsv_to_rgb(hue, 0.55, 0.95))


class MeshOverlayRenderer:
    """Renders people over frames; reuses one offscreen GL context across frames.

    Raises ``RendererUnavailableError`` (with install help) when no GL platform works: at
    construction if the automatic platform probe finds none, else at the first ``render``.
    """

    def __init__(self, alpha: float = 0.8, side_view: bool = False):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.alpha = alpha
        self.side_view = side_view
        self._pyrender = import_pyrender()
        self._context = OffscreenContext()

    def __enter__(self) -> MeshOverlayRenderer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Release the GL context (idempotent); ``render`` fails afterwards."""
        self._context.close()

    def render(
        self,
        frame_rgb: np.ndarray,  # (H, W, 3) uint8
        vertices_m: np.ndarray,  # (N, V, 3) camera frame
        faces: np.ndarray,  # (F, 3) int
        track_ids: np.ndarray,  # (N,)
        focal_px: np.ndarray,  # (2,) fx, fy
        principal_point_px: np.ndarray,  # (2,) cx, cy
    ) -> np.ndarray:  # (H, W, 3) or (H, 2W, 3) uint8 with the side view
        """The frame with the meshes blended in (and the side view to its right if enabled)."""
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(f"frame_rgb must be (H, W, 3) uint8, got {frame_rgb.shape} "
                             f"{frame_rgb.dtype}")
        height, width = frame_rgb.shape[:2]
        track_ids = np.asarray(track_ids).reshape(-1)
        vertices_m = np.asarray(vertices_m, dtype=np.float32)
        if len(track_ids) and (
            vertices_m.ndim != 3 or vertices_m.shape[2] != 3 or len(vertices_m) != len(track_ids)
        ):
            raise ValueError(
                f"vertices_m must be (N, V, 3) with N = {len(track_ids)} track ids, "
                f"got {vertices_m.shape}"
            )
        overlay = frame_rgb.copy()
        if len(track_ids):
            colour, coverage = self._draw(
                vertices_m, faces, track_ids, focal_px, principal_point_px, (width, height),
                camera_pose=np.eye(4),
            )
            weight = (self.alpha * coverage)[..., None]
            overlay = (colour * weight + frame_rgb * (1.0 - weight)).round().astype(np.uint8)
        if not self.side_view:
            return overlay
        side = np.empty_like(frame_rgb)
        side[:] = SIDE_VIEW_BACKGROUND
        if len(track_ids):
            colour, coverage = self._draw(
                vertices_m, faces, track_ids, focal_px, principal_point_px, (width, height),
                camera_pose=_side_camera_pose(vertices_m),
            )
            weight = coverage[..., None]
            side = (colour * weight + side * (1.0 - weight)).round().astype(np.uint8)
        return np.concatenate([overlay, side], axis=1)

    def _draw(self, vertices_m, faces, track_ids, focal_px, principal_point_px, size, camera_pose):
        """Colour (H, W, 3) float and coverage mask (H, W) float of the meshes from one camera."""
        pyrender = self._pyrender
        scene = pyrender.Scene(bg_color=(0.0, 0.0, 0.0, 0.0), ambient_light=(_AMBIENT,) * 3)
        for person_vertices, track_id in zip(vertices_m, track_ids, strict=True):
            material = pyrender.MetallicRoughnessMaterial(
                baseColorFactor=(*track_colour(int(track_id)) ** _GAMMA, 1.0),
                metallicFactor=0.0,
                roughnessFactor=_ROUGHNESS,
            )
            primitive = pyrender.Primitive(
                positions=person_vertices,
                indices=np.asarray(faces, dtype=np.uint32),
                normals=_vertex_normals(person_vertices, faces),
                material=material,
            )
            scene.add(pyrender.Mesh([primitive]), pose=_OPENCV_TO_GL)
        camera = pyrender.IntrinsicsCamera(
            fx=float(focal_px[0]), fy=float(focal_px[1]),
            cx=float(principal_point_px[0]), cy=float(principal_point_px[1]),
            znear=0.01, zfar=1000.0,
        )
        gl_pose = _OPENCV_TO_GL @ camera_pose @ _OPENCV_TO_GL
        scene.add(camera, pose=gl_pose)
        light = pyrender.DirectionalLight(color=np.ones(3), intensity=_LIGHT_INTENSITY)
        scene.add(light, pose=gl_pose)  # shines along the camera's view direction
        colour, depth = self._context.render(scene, *size)
        return colour.astype(np.float32), (depth > 0).astype(np.float32)


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals (the overlay's shading; trimesh would add a mesh copy)."""
    faces = np.asarray(faces)
    corners = vertices[faces]  # (F, 3, 3)
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(length, 1e-12)


def _side_camera_pose(vertices_m: np.ndarray) -> np.ndarray:
    """Camera-to-world (OpenCV frame) of a view rotated 90 deg about the vertical through the
    people's centroid, at the same distance as the original camera.

    The side camera looks along +x (from the people's left as the original camera sees them),
    so the original camera lies off the right edge of the side view, and the centroid stays at
    the same pixel in both views.
    """
    centroid = vertices_m.reshape(-1, 3).mean(axis=0)
    angle = np.pi / 2
    rotation = np.array(
        [[np.cos(angle), 0.0, np.sin(angle)], [0.0, 1.0, 0.0], [-np.sin(angle), 0.0, np.cos(angle)]]
    )
    pose = np.eye(4)
    pose[:3, :3] = rotation
    # The original camera sits at the origin; orbit it around the centroid.
    pose[:3, 3] = centroid - rotation @ centroid
    return pose
