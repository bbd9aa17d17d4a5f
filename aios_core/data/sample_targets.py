"""A (possibly augmented) ``TrainingSample`` -> the network's input image and ``ImageTargets``.

Boxes are clipped to the image and normalised by its size; a box entirely outside is invalid
(official ``process_hand_face_bbox``); persons whose body box is invalid are dropped. 2-D joint
weights are confidence x "inside the image"; 3-D joints become pelvis-relative, and for the
part-relative set each hand is taken relative to its wrist and the face to the neck.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from aios_core.data.image_targets import ImageTargets
from aios_core.data.keypoint_sets import LEFT_WRIST_137, NECK_137, PELVIS_137, RIGHT_WRIST_137
from aios_core.data.training_sample import TrainingSample
from aios_core.inference.preprocess import normalise

_PART_ROOTS = ((slice(25, 45), LEFT_WRIST_137), (slice(45, 65), RIGHT_WRIST_137),
               (slice(65, 137), NECK_137))


def normalised_boxes(boxes_xyxy: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """(..., 4) pixel boxes -> (cx, cy, w, h) in [0, 1] and (...,) validity (0 / 1).

    Invalid boxes get the official dummy (0, 0, 1, 1) corners.
    """
    scale = np.array([width, height, width, height], np.float32)
    unit = boxes_xyxy / scale
    outside = ((unit[..., 2] <= 0) | (unit[..., 0] >= 1) | (unit[..., 3] <= 0)
               | (unit[..., 1] >= 1))
    unit = np.clip(unit, 0, 1)
    unit[outside] = np.array([0, 0, 1, 1], np.float32)
    cxcywh = np.concatenate([(unit[..., :2] + unit[..., 2:]) / 2, unit[..., 2:] - unit[..., :2]],
                            axis=-1)
    return cxcywh.astype(np.float32), (~outside).astype(np.float32)


def part_relative_joints(joints_3d: np.ndarray) -> np.ndarray:
    """(N, 137, 4) pelvis-relative joints -> hands wrist-relative, face neck-relative."""
    relative = joints_3d.copy()
    for rows, root in _PART_ROOTS:
        relative[:, rows, :3] -= joints_3d[:, root, None, :3]
    return relative


def image_tensor(image: np.ndarray) -> Tensor:
    """(H, W, 3) RGB in [0, 255] -> (3, H, W) float32 normalised as the network expects."""
    pixels = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)
    return normalise(pixels)  # the inference path's normalisation, so both see the same input


def sample_targets(sample: TrainingSample) -> tuple[Tensor, ImageTargets]:
    """-> image (3, H, W) normalised, targets of the persons whose body box is in the image."""
    height, width = sample.size_hw
    _, body_valid = normalised_boxes(sample.body_boxes, width, height)
    sample = sample.select(body_valid > 0)
    body, body_valid = normalised_boxes(sample.body_boxes, width, height)
    parts, parts_valid = normalised_boxes(sample.part_boxes, width, height)
    parts_valid = parts_valid * sample.part_box_valid

    xy = sample.joints_2d[..., :2]
    inside = ((xy[..., 0] >= 0) & (xy[..., 0] < width) & (xy[..., 1] >= 0)
              & (xy[..., 1] < height))
    trunc = sample.joints_2d_trunc * inside
    joints_2d = np.concatenate([xy / np.array([width, height], np.float32),
                                (sample.joints_2d[..., 2] * trunc)[..., None]], axis=-1)
    joints_3d = sample.joints_3d.copy()
    joints_3d[..., :3] -= joints_3d[:, PELVIS_137, None, :3]

    def t(array: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    targets = ImageTargets(
        boxes=t(body), body_box_valid=t(body_valid),
        lhand_boxes=t(parts[:, 0]), lhand_box_valid=t(parts_valid[:, 0]),
        rhand_boxes=t(parts[:, 1]), rhand_box_valid=t(parts_valid[:, 1]),
        face_boxes=t(parts[:, 2]), face_box_valid=t(parts_valid[:, 2]),
        joints_2d=t(joints_2d), joints_2d_trunc=t(trunc),
        joints_3d=t(joints_3d), joints_3d_part_relative=t(part_relative_joints(joints_3d)),
        smplx_pose=t(sample.smplx_pose), smplx_pose_valid=t(sample.smplx_pose_valid),
        smplx_shape=t(sample.smplx_shape), smplx_shape_valid=t(sample.smplx_shape_valid),
        smplx_expr=t(sample.smplx_expr), smplx_expr_valid=t(sample.smplx_expr_valid),
        is_3d=torch.tensor(float(sample.has_3d)),
        image_size_hw=torch.tensor([height, width], dtype=torch.long),
    )
    return image_tensor(sample.image), targets
