"""Per-image training targets of AiOS, in the units the official criterion consumes.

One ``ImageTargets`` holds the N annotated persons of ONE augmented image (the official
``datasets/humandata.py`` train ``__getitem__`` output plus ``AiOSSMPLX.prepare_targets``).
Conventions, all as in the official code:

* Image-normalised 2-D coordinates are divided by the AUGMENTED image size (w, h) before any
  batch padding (``x / w``, ``y / h``), so they match the network's boxes and keypoints, which
  are normalised to each image's unpadded area.
* Boxes are (cx, cy, w, h) in those normalised units.
* 3-D joints are metres in the camera axes of the augmented image (x right, y down, z forward),
  relative to the pelvis; they are in the 137-keypoint 'smplx_137' order
  (``aios_core.body.keypoints.SMPLX_137_KEYPOINT_NAMES``; parts = ``SMPLX_137_PARTS``).
* SMPL-X pose is axis-angle (radians) of the 53 official joints: root, 21 body joints,
  15 left-hand, 15 right-hand joints (index, middle, pinky, ring, thumb; 3 each), jaw.
* Validity tensors are float 0/1 (soft weights are allowed where the official allows them).

The official stores 2-D joints in "heat-map" units (x * 12, y * 16 for ``output_hm_shape``)
and divides them back before every use; here they are stored already normalised.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor

NUM_KEYPOINTS_137 = 137
NUM_POSE_JOINTS = 53  # root + 21 body + 15 + 15 hand + jaw
NUM_BETAS = 10
NUM_EXPRESSION = 10

# Rows of the 137 set that form the network's keypoint targets (official convert_kps from
# 'smplx_137' to 'coco' (approximate: hips), 'smplx_lhand', 'smplx_rhand', 'smplx_face').
COCO_FROM_137 = (24, 22, 23, 20, 21, 8, 9, 10, 11, 12, 13, 1, 2, 3, 4, 5, 6)
LHAND_FROM_137 = (12, 28, 32, 36, 40, 44)  # wrist, then the five finger tips
RHAND_FROM_137 = (13, 48, 52, 56, 60, 64)
FACE_FROM_137 = (24, 103, 65, 120, 128, 136)  # nose, mouth top, jaw, contour R / middle / L


@dataclass
class ImageTargets:
    """Annotations of the N persons of one augmented image (N may be 0)."""

    boxes: Tensor  # (N, 4) body box (cx, cy, w, h), normalised
    body_box_valid: Tensor  # (N,) 1 where the body box is usable
    lhand_boxes: Tensor  # (N, 4) left-hand box (cx, cy, w, h), normalised; dummy where invalid
    lhand_box_valid: Tensor  # (N,)
    rhand_boxes: Tensor  # (N, 4)
    rhand_box_valid: Tensor  # (N,)
    face_boxes: Tensor  # (N, 4)
    face_box_valid: Tensor  # (N,)
    # (N, 137, 3): x / w, y / h, weight. Official joint_img[..., 2] = annotation confidence x
    # in-image flag (x SMPL-X joint validity for COCO / UBody / MPII / PoseTrack / CrowdPose).
    joints_2d: Tensor
    # (N, 137) official joint_trunc: annotation confidence x "inside the augmented image";
    # the weight of the body / hand / face keypoint targets (``body_keypoints`` ...).
    joints_2d_trunc: Tensor
    # (N, 137, 4): xyz metres, pelvis-relative, + weight (official joint_cam, "without RA").
    joints_3d: Tensor
    # (N, 137, 4): xyz metres + weight with per-part root alignment (official smplx_joint_cam):
    # body joints pelvis-relative, each hand relative to its wrist, the face relative to the neck.
    joints_3d_part_relative: Tensor
    smplx_pose: Tensor  # (N, 53, 3) axis-angle, official joint layout (see module docstring)
    smplx_pose_valid: Tensor  # (N, 53)
    smplx_shape: Tensor  # (N, 10) betas
    smplx_shape_valid: Tensor  # (N,)
    smplx_expr: Tensor  # (N, 10) expression coefficients
    smplx_expr_valid: Tensor  # (N,)
    is_3d: Tensor  # () 1 if the dataset has real 3-D joints (gates both 3-D joint losses)
    image_size_hw: Tensor  # (2,) long: augmented image (height, width) in pixels, unpadded

    @property
    def num_persons(self) -> int:
        return self.boxes.shape[0]

    @property
    def labels(self) -> Tensor:
        """(N,) long class ids: every person is class 1 of the 2-way classifier (official)."""
        return torch.ones(self.num_persons, dtype=torch.long, device=self.boxes.device)

    @property
    def area(self) -> Tensor:
        """(N,) normalised body-box area; the OKS scale of body, hand AND face keypoints."""
        return self.boxes[:, 2] * self.boxes[:, 3]

    def _keypoints(self, rows: tuple[int, ...]) -> Tensor:
        index = torch.tensor(rows, device=self.joints_2d.device)
        xy = self.joints_2d[:, index, :2]  # (N, K, 2)
        weight = self.joints_2d_trunc[:, index]  # (N, K)
        return torch.cat((xy.flatten(1), weight), dim=-1)

    def body_keypoints(self) -> Tensor:
        """(N, 51): 17 COCO (x, y) pairs then 17 weights (official ``t['keypoints']``)."""
        return self._keypoints(COCO_FROM_137)

    def lhand_keypoints(self) -> Tensor:
        """(N, 18): wrist + 5 finger tips, (x, y) pairs then weights."""
        return self._keypoints(LHAND_FROM_137)

    def rhand_keypoints(self) -> Tensor:
        return self._keypoints(RHAND_FROM_137)

    def face_keypoints(self) -> Tensor:
        return self._keypoints(FACE_FROM_137)

    def to(self, device: torch.device | str) -> ImageTargets:
        """A copy with every tensor on ``device``."""
        return replace(self, **{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def validate(self) -> None:
        """Raise ValueError if a field's shape disagrees with the documented one."""
        n = self.num_persons
        expected = {
            "boxes": (n, 4), "body_box_valid": (n,), "lhand_boxes": (n, 4),
            "lhand_box_valid": (n,), "rhand_boxes": (n, 4), "rhand_box_valid": (n,),
            "face_boxes": (n, 4), "face_box_valid": (n,),
            "joints_2d": (n, NUM_KEYPOINTS_137, 3), "joints_2d_trunc": (n, NUM_KEYPOINTS_137),
            "joints_3d": (n, NUM_KEYPOINTS_137, 4),
            "joints_3d_part_relative": (n, NUM_KEYPOINTS_137, 4),
            "smplx_pose": (n, NUM_POSE_JOINTS, 3), "smplx_pose_valid": (n, NUM_POSE_JOINTS),
            "smplx_shape": (n, NUM_BETAS), "smplx_shape_valid": (n,),
            "smplx_expr": (n, NUM_EXPRESSION), "smplx_expr_valid": (n,),
            "is_3d": (), "image_size_hw": (2,),
        }
        for name, shape in expected.items():
            actual = tuple(getattr(self, name).shape)
            if actual != shape:
                raise ValueError(f"ImageTargets.{name}: expected shape {shape}, got {actual}")


def targets_to(targets: list[ImageTargets], device: torch.device | str) -> list[ImageTargets]:
    return [t.to(device) for t in targets]


def pad_images(images: list[Tensor]) -> tuple[Tensor, Tensor]:
    """Zero-pad (3, H_i, W_i) images at the bottom / right to the batch maximum.

    -> images (B, 3, H, W), padding_mask (B, H, W) bool, True on padding (the network's input).
    """
    height = max(im.shape[1] for im in images)
    width = max(im.shape[2] for im in images)
    batch = images[0].new_zeros((len(images), images[0].shape[0], height, width))
    mask = torch.ones((len(images), height, width), dtype=torch.bool, device=images[0].device)
    for i, im in enumerate(images):
        batch[i, :, : im.shape[1], : im.shape[2]] = im
        mask[i, : im.shape[1], : im.shape[2]] = False
    return batch, mask


def collate(
    samples: list[tuple[Tensor, ImageTargets]],
) -> tuple[Tensor, Tensor, list[ImageTargets]]:
    """(image (3, H, W), targets) pairs -> padded images, padding mask, per-image targets."""
    images, mask = pad_images([image for image, _ in samples])
    return images, mask, [targets for _, targets in samples]


def _random_boxes(n: int, g: torch.Generator, low: float, high: float) -> Tensor:
    """(n, 4) cxcywh boxes with sizes in [low, high] that stay inside the unit square."""
    wh = low + (high - low) * torch.rand(n, 2, generator=g)
    centre = wh / 2 + (1 - wh) * torch.rand(n, 2, generator=g)
    return torch.cat((centre, wh), dim=-1)


def random_targets(
    num_persons: int,
    image_size_hw: tuple[int, int] = (64, 80),
    generator: torch.Generator | None = None,
    is_3d: bool = True,
) -> ImageTargets:
    """Plausible random targets for tests: valid boxes, keypoints inside the image, some
    invalid parts (every validity tensor has zeros and ones once N >= 4)."""
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    n, k = num_persons, NUM_KEYPOINTS_137

    def flags(*shape: int) -> Tensor:
        return (torch.rand(*shape, generator=g) > 0.25).float()

    def joints_3d() -> Tensor:
        xyz = 0.3 * torch.randn(n, k, 3, generator=g)
        xyz = xyz - xyz[:, :1]  # pelvis (row 0) at the origin
        return torch.cat((xyz, flags(n, k, 1)), dim=-1)

    joints_2d = torch.cat((torch.rand(n, k, 2, generator=g), flags(n, k, 1)), dim=-1)
    return ImageTargets(
        boxes=_random_boxes(n, g, 0.2, 0.6),
        body_box_valid=torch.ones(n),
        lhand_boxes=_random_boxes(n, g, 0.03, 0.1),
        lhand_box_valid=flags(n),
        rhand_boxes=_random_boxes(n, g, 0.03, 0.1),
        rhand_box_valid=flags(n),
        face_boxes=_random_boxes(n, g, 0.03, 0.1),
        face_box_valid=flags(n),
        joints_2d=joints_2d,
        joints_2d_trunc=joints_2d[..., 2] * flags(n, k),
        joints_3d=joints_3d(),
        joints_3d_part_relative=joints_3d(),
        smplx_pose=0.3 * torch.randn(n, NUM_POSE_JOINTS, 3, generator=g),
        smplx_pose_valid=flags(n, NUM_POSE_JOINTS),
        smplx_shape=torch.randn(n, NUM_BETAS, generator=g),
        smplx_shape_valid=flags(n),
        smplx_expr=torch.randn(n, NUM_EXPRESSION, generator=g),
        smplx_expr_valid=flags(n),
        is_3d=torch.tensor(float(is_3d)),
        image_size_hw=torch.tensor(image_size_hw, dtype=torch.long),
    )
