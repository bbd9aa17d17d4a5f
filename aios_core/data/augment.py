"""Training augmentation of AiOS (paper appendix B.2; official ``augmentation_instance_sample``).

Per sample: with probability ``crop_probability`` crop to the union box of a random subset of
the persons (one person with p 0.6, else 1..N, when a subset is drawn at all), widened to the
image's aspect ratio; horizontal flip with p 0.5; resize so the short side is one of
``short_sides`` and the long side <= ``max_long_side``; scale each colour channel by a factor
in [1 - 0.2, 1 + 0.2]. No rotation or scale jitter (the official sets rot = 0, scale = 1).

A flip mirrors x (``x -> W - 1 - x``, 3-D ``x -> -x``), swaps left/right keypoints, hand boxes
and SMPL-X joints, and negates the y and z components of every axis-angle rotation (the mirror
of a rotation about (x, y, z) is the rotation about (x, -y, -z) by the same angle).
Coordinates stay in pixels of the new image; clipping and validity are ``targets``' job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from aios_core.data.keypoint_sets import FLIP_ORDER_53, FLIP_ORDER_137
from aios_core.data.training_sample import TrainingSample

TRAIN_SHORT_SIDES = (480, 512, 544, 576, 608, 640, 672, 704, 736, 768, 800)
TRAIN_MAX_LONG_SIDE = 1333


@dataclass(frozen=True)
class AugmentConfig:
    short_sides: tuple[int, ...] = TRAIN_SHORT_SIDES
    max_long_side: int = TRAIN_MAX_LONG_SIDE
    colour_factor: float = 0.2
    flip_probability: float = 0.5
    crop_probability: float = 0.5  # official: per data set (AGORA 0.7, BEDLAM 0.7, ...)
    subset_probability: float = 0.5  # crop to a subset of persons instead of all of them
    single_person_probability: float = 0.6  # of a subset: exactly one person


DEFAULT_AUGMENT = AugmentConfig()


@dataclass(frozen=True)
class AugmentParams:
    """One draw of the augmentation for one sample."""

    crop_xywh: tuple[float, float, float, float]  # source-image pixels
    flip: bool
    output_wh: tuple[int, int]
    colour_scale: tuple[float, float, float]  # per RGB channel


def resized_wh(
    size_wh: tuple[float, float], short_side: int, max_long_side: int
) -> tuple[int, int]:
    """DETR's resize rule: short side ``short_side`` unless the long side would pass the max."""
    w, h = size_wh
    small, large = float(min(w, h)), float(max(w, h))
    if large / small * short_side > max_long_side:
        short_side = int(round(max_long_side * small / large))
    if (w <= h and w == short_side) or (h <= w and h == short_side):
        return int(w), int(h)
    if w < h:
        return short_side, int(short_side * h / w)
    return int(short_side * w / h), short_side


def aspect_kept_crop(box_xywh: np.ndarray, image_w: int, image_h: int) -> tuple[float, ...]:
    """Grow ``box_xywh`` to the image's aspect ratio around its centre, shifted inside."""
    x, y, w, h = (float(v) for v in box_xywh)
    centre_x, centre_y = x + w / 2, y + h / 2
    aspect = image_w / image_h
    if w / h > aspect:
        h = w / aspect
    else:
        w = h * aspect
    centre_x = min(max(centre_x, w / 2), image_w - w / 2) if w <= image_w else image_w / 2
    centre_y = min(max(centre_y, h / 2), image_h - h / 2) if h <= image_h else image_h / 2
    return (float(int(centre_x - w / 2)), float(int(centre_y - h / 2)), float(int(w)),
            float(int(h)))


def draw_params(sample: TrainingSample, rng: np.random.Generator,
                config: AugmentConfig = DEFAULT_AUGMENT) -> AugmentParams:
    """Random augmentation parameters for ``sample``."""
    height, width = sample.size_hw
    crop = (0.0, 0.0, float(width), float(height))
    n = sample.num_persons
    if n and rng.random() < config.crop_probability:
        if rng.random() < config.subset_probability:
            count = 1 if rng.random() < config.single_person_probability else rng.integers(n) + 1
        else:
            count = n
        chosen = rng.choice(n, size=int(count), replace=False)
        boxes = sample.body_boxes[chosen]
        x1, y1 = boxes[:, 0].min(), boxes[:, 1].min()
        union = np.array([x1, y1, boxes[:, 2].max() - x1, boxes[:, 3].max() - y1])
        if union[2] > 0 and union[3] > 0:
            crop = aspect_kept_crop(union, width, height)
    short_side = int(rng.choice(config.short_sides))
    output_wh = resized_wh(crop[2:], short_side, config.max_long_side)
    low, high = 1 - config.colour_factor, 1 + config.colour_factor
    return AugmentParams(
        crop_xywh=crop, flip=bool(rng.random() < config.flip_probability), output_wh=output_wh,
        colour_scale=tuple(float(v) for v in rng.uniform(low, high, 3)),
    )


def crop_transform(params: AugmentParams, source_width: int) -> np.ndarray:
    """(2, 3) affine from (flipped) source pixels to output pixels."""
    x, y, w, h = params.crop_xywh
    centre_x, centre_y = x + w / 2, y + h / 2
    if params.flip:
        # The crop window mirrored with the image (pixel c -> W - 1 - c). The official subtracts
        # one more pixel here, which shifts every flipped sample by 1 px; we mirror exactly.
        centre_x = source_width - centre_x
    out_w, out_h = params.output_wh
    sx, sy = out_w / w, out_h / h
    return np.array([[sx, 0, out_w / 2 - centre_x * sx], [0, sy, out_h / 2 - centre_y * sy]],
                    np.float32)


def _map_points(points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """(..., 2) points through a (2, 3) affine."""
    return points @ transform[:, :2].T + transform[:, 2]


def apply_augmentation(sample: TrainingSample, params: AugmentParams) -> TrainingSample:
    """The augmented sample; its image is float32 RGB in [0, 255]."""
    height, width = sample.size_hw
    image = sample.image[:, ::-1] if params.flip else sample.image
    transform = crop_transform(params, width)
    warped = cv2.warpAffine(np.ascontiguousarray(image), transform, params.output_wh,
                            flags=cv2.INTER_LINEAR).astype(np.float32)
    warped = np.clip(warped * np.asarray(params.colour_scale, np.float32), 0, 255)

    joints_2d = sample.joints_2d.copy()
    joints_3d = sample.joints_3d.copy()
    body_boxes, part_boxes = sample.body_boxes.copy(), sample.part_boxes.copy()
    part_box_valid = sample.part_box_valid.copy()
    trunc, joint_valid = sample.joints_2d_trunc.copy(), sample.smplx_joint_valid.copy()
    pose, pose_valid = sample.smplx_pose.copy(), sample.smplx_pose_valid.copy()
    if params.flip:
        joints_2d[..., 0] = width - 1 - joints_2d[..., 0]
        joints_3d[..., 0] = -joints_3d[..., 0]
        joints_2d, joints_3d = joints_2d[:, FLIP_ORDER_137], joints_3d[:, FLIP_ORDER_137]
        trunc, joint_valid = trunc[:, FLIP_ORDER_137], joint_valid[:, FLIP_ORDER_137]
        pose, pose_valid = pose[:, FLIP_ORDER_53], pose_valid[:, FLIP_ORDER_53]
        pose[..., 1:] *= -1
        body_boxes = _flip_boxes(body_boxes, width)
        part_boxes = _flip_boxes(part_boxes, width)[:, [1, 0, 2]]  # left hand <-> right hand
        part_box_valid = part_box_valid[:, [1, 0, 2]]
    joints_2d[..., :2] = _map_points(joints_2d[..., :2], transform)
    return replace(
        sample, image=warped, joints_2d=joints_2d, joints_3d=joints_3d,
        body_boxes=_map_boxes(body_boxes, transform), part_boxes=_map_boxes(part_boxes, transform),
        part_box_valid=part_box_valid, joints_2d_trunc=trunc, smplx_joint_valid=joint_valid,
        smplx_pose=pose, smplx_pose_valid=pose_valid,
    )


def augment(sample: TrainingSample, rng: np.random.Generator,
            config: AugmentConfig = DEFAULT_AUGMENT) -> TrainingSample:
    return apply_augmentation(sample, draw_params(sample, rng, config))


def _flip_boxes(boxes: np.ndarray, width: int) -> np.ndarray:
    """(..., 4) x1, y1, x2, y2 mirrored (x -> W - 1 - x; the corners swap)."""
    flipped = boxes.copy()
    flipped[..., 0] = width - 1 - boxes[..., 2]
    flipped[..., 2] = width - 1 - boxes[..., 0]
    return flipped


def _map_boxes(boxes: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """(..., 4) boxes through an axis-aligned affine (scale + shift keeps them boxes)."""
    corners = _map_points(boxes.reshape(*boxes.shape[:-1], 2, 2), transform)
    return np.concatenate([corners.min(axis=-2), corners.max(axis=-2)], axis=-1)
