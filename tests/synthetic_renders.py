"""Rendered people with known ground truth: the SMPL-X stand-in, posed and shaped at random,
rendered with pyrender on random backgrounds (for "does training learn").

Each person gets a random upright root orientation (facing the camera, yaw within +-30
degrees), small random body / hand / jaw rotations, random betas and expression, and a
translation that keeps the whole body inside the image. The camera is a pinhole (focal
1.2 x the image width, principal point at the centre, OpenCV axes). Ground truth comes from the
same body model the network poses (its ``body_model``), so PVE compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch import Tensor

from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.body.keypoints import select_smplx_137
from aios_core.data.image_targets import ImageTargets
from aios_core.data.sample_targets import sample_targets
from aios_core.data.training_sample import TrainingSample
from aios_core.rendering.overlay import MeshOverlayRenderer

_PART_ROWS_137 = {"lhand": slice(25, 45), "rhand": slice(45, 65), "face": slice(65, 137)}


@dataclass
class RenderedImage:
    sample: TrainingSample  # image + annotations in its pixels
    vertices_m: np.ndarray  # (N, V, 3) body-model vertices without translation (PVE truth)
    pelvis_m: np.ndarray  # (N, 3) body-model pelvis without translation


def _random_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    root = Rotation.from_rotvec([np.pi, 0.0, 0.0]) * Rotation.from_rotvec(
        [rng.normal(0, 0.05), rng.uniform(-0.5, 0.5), rng.normal(0, 0.05)])
    return {
        "global_orient": root.as_rotvec().astype(np.float32),
        "body_pose": rng.normal(0, 0.2, (21, 3)).astype(np.float32),
        "left_hand_pose": rng.normal(0, 0.2, (15, 3)).astype(np.float32),
        "right_hand_pose": rng.normal(0, 0.2, (15, 3)).astype(np.float32),
        "jaw_pose": rng.normal(0, 0.1, (1, 3)).astype(np.float32),
        "betas": rng.normal(0, 1.0, 10).astype(np.float32),
        "expression": rng.normal(0, 1.0, 10).astype(np.float32),
    }


@torch.no_grad()
def _pose(body_model: EmbeddedSMPLX, params: dict[str, np.ndarray]) -> tuple[Tensor, Tensor]:
    """-> vertices (V, 3), joints (144, 3) of one person, no translation."""
    t = {k: torch.from_numpy(v)[None] for k, v in params.items()}
    zero = torch.zeros(1, 3)
    out = body_model(betas=t["betas"], global_orient=t["global_orient"],
                     body_pose=t["body_pose"].reshape(1, -1),
                     left_hand_pose=t["left_hand_pose"].reshape(1, -1),
                     right_hand_pose=t["right_hand_pose"].reshape(1, -1),
                     jaw_pose=t["jaw_pose"].reshape(1, -1), leye_pose=zero, reye_pose=zero,
                     expression=t["expression"])
    return out.vertices[0], out.joints[0]


def _project(points: np.ndarray, focal_px: float, centre: np.ndarray) -> np.ndarray:
    return points[:, :2] / points[:, 2:3] * focal_px + centre


def _box(points_px: np.ndarray, margin: float = 0.0, min_size: float = 0.0) -> np.ndarray:
    low, high = points_px.min(0), points_px.max(0)
    centre, size = (low + high) / 2, np.maximum((high - low) * (1 + margin), min_size)
    return np.concatenate([centre - size / 2, centre + size / 2]).astype(np.float32)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    coarse = rng.integers(0, 256, (max(height // 16, 2), max(width // 16, 2), 3), dtype=np.uint8)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 12, (height, width, 3))
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


def render_people(body_model: EmbeddedSMPLX, count: int, size_hw: tuple[int, int], seed: int,
                  persons: int = 1) -> list[RenderedImage]:
    """``count`` images of ``persons`` people each, fully inside the image."""
    rng = np.random.default_rng(seed)
    height, width = size_hw
    focal = 1.2 * width
    centre = np.array([width / 2, height / 2], np.float32)
    faces = body_model.faces_tensor.numpy()
    images = []
    with MeshOverlayRenderer(alpha=1.0) as renderer:
        for _ in range(count):
            people = []
            while len(people) < persons:
                params = _random_params(rng)
                vertices, joints = _pose(body_model, params)
                depth = rng.uniform(3.0, 4.5)
                transl = np.array([rng.uniform(-0.3, 0.3) * depth, rng.uniform(-0.1, 0.1) * depth,
                                   depth], np.float32)
                vertices_cam = vertices.numpy() + transl
                box = _box(_project(vertices_cam, focal, centre))
                if box[0] >= 1 and box[1] >= 1 and box[2] < width - 1 and box[3] < height - 1:
                    people.append((params, vertices.numpy(), joints.numpy(), transl, box))
            image = renderer.render(
                _background(rng, height, width), np.stack([p[1] + p[3] for p in people]),
                faces, np.arange(persons), np.array([focal, focal]), centre)
            images.append(_annotated(image, people, focal, centre))
    return images


def _annotated(image: np.ndarray, people: list, focal: float, centre: np.ndarray
               ) -> RenderedImage:
    n = len(people)
    joints_cam = np.stack([select_smplx_137(torch.from_numpy(p[2])).numpy() + p[3]
                           for p in people])  # (N, 137, 3)
    joints_px = np.stack([_project(j, focal, centre) for j in joints_cam])
    parts = np.stack([[_box(j[rows], margin=0.2, min_size=3.0) for rows in _PART_ROWS_137.values()]
                      for j in joints_px])
    ones_137 = np.ones((n, 137), np.float32)
    pose = np.stack([np.concatenate([p[0]["global_orient"][None], p[0]["body_pose"],
                                     p[0]["left_hand_pose"], p[0]["right_hand_pose"],
                                     p[0]["jaw_pose"]]) for p in people])  # (N, 53, 3)
    sample = TrainingSample(
        image=image, body_boxes=np.stack([p[4] for p in people]), part_boxes=parts,
        part_box_valid=np.ones((n, 3), np.float32),
        joints_2d=np.concatenate([joints_px, ones_137[..., None]], -1).astype(np.float32),
        joints_2d_trunc=ones_137,
        joints_3d=np.concatenate([joints_cam, ones_137[..., None]], -1).astype(np.float32),
        has_3d=True, smplx_pose=pose.astype(np.float32),
        smplx_pose_valid=np.ones((n, 53), np.float32),
        smplx_shape=np.stack([p[0]["betas"] for p in people]),
        smplx_shape_valid=np.ones(n, np.float32),
        smplx_expr=np.stack([p[0]["expression"] for p in people]),
        smplx_expr_valid=np.ones(n, np.float32), smplx_joint_valid=ones_137)
    return RenderedImage(sample=sample, vertices_m=np.stack([p[1] for p in people]),
                         pelvis_m=np.stack([p[2][0] for p in people]))


class RenderedSet:
    """A training set (keys (index, seed) -> (image, ImageTargets)) of rendered images."""

    def __init__(self, images: list[RenderedImage]):
        self.images = images
        self.items = [sample_targets(rendered.sample) for rendered in images]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> tuple[Tensor, ImageTargets]:
        return self.items[int(key[0])]
