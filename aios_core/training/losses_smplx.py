"""SMPL-X losses of AiOS (official ``SetCriterion.loss_smpl_*``) on matched persons.

``with_parts`` False (body-stage layers) multiplies the hand / face / jaw / expression terms by 0,
as the official does: they stay in the graph, so those heads get (zero) gradients, and weight
decay and DDP see the same parameters as officially. Every term is a masked L1 sum divided by
the number of persons supervised for that part (+1e-6), unless noted.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from aios_core.body.camera import aios_project_points
from aios_core.body.keypoints import SMPLX_137_PARTS
from aios_core.body.rotations import axis_angle_to_matrix
from aios_core.training.losses_detection import Matched

PELVIS, NECK, LEFT_WRIST, RIGHT_WRIST = 0, 7, 12, 13  # rows of the 137 set
_PART_ORDER = ("body", "lhand", "rhand", "face")


def _per_part(per_joint: Tensor, weight: Tensor, name: str, with_parts: bool) -> dict:
    """Sum a (M, 137, C) masked loss over each part / count of persons with any weight there."""
    losses = {}
    for part in _PART_ORDER:
        rows = SMPLX_137_PARTS[part]
        supervised = (weight[:, rows].sum((-1, -2)) > 0).sum()
        factor = 1.0 if with_parts or part == "body" else 0.0
        losses[f"loss_smpl_{part}_{name}"] = factor * per_joint[:, rows].sum() / (supervised + 1e-6)
    return losses


def pose_losses(outputs: dict, matched: Matched, with_parts: bool) -> dict[str, Tensor]:
    """L1 between predicted and target rotation matrices of the 53 joints."""
    pred = torch.cat(
        [matched.pred(outputs[k]) for k in (
            "pred_smpl_pose", "pred_smpl_lhand_pose", "pred_smpl_rhand_pose",
            "pred_smpl_jaw_pose",
        )],
        dim=1,
    )  # (M, 53, 3, 3)
    target = axis_angle_to_matrix(matched.gt(lambda t: t.smplx_pose))
    valid = matched.gt(lambda t: t.smplx_pose_valid)  # (M, 53)
    loss = F.l1_loss(pred, target, reduction="none").sum((-1, -2)) * valid
    body_count = (valid[:, :22].sum(-1) > 0).sum() + 1e-6
    factor = 1.0 if with_parts else 0.0
    return {
        "loss_smpl_pose_root": loss[:, 0].sum() / body_count,
        "loss_smpl_pose_body": loss[:, 1:22].sum() / body_count,
        "loss_smpl_pose_lhand": factor * loss[:, 22:37].sum() / (
            (valid[:, 22:37].sum(-1) > 0).sum() + 1e-6
        ),
        "loss_smpl_pose_rhand": factor * loss[:, 37:52].sum() / (
            (valid[:, 37:52].sum(-1) > 0).sum() + 1e-6
        ),
        # Official quirk: the jaw "count" is 1 if ANY matched person has a valid jaw, else 0.
        "loss_smpl_pose_jaw": factor * loss[:, 52].sum() / ((valid[:, 52].sum() > 0) + 1e-6),
    }


def _coefficient_loss(pred: Tensor, target: Tensor, valid: Tensor) -> Tensor:
    if valid.sum() == 0:
        return pred.sum() * 0
    per_person = F.l1_loss(pred, target, reduction="none").sum(-1) * valid
    return per_person.sum() / (valid.sum() + 1e-6)


def shape_expression_losses(outputs: dict, matched: Matched, with_parts: bool) -> dict:
    expression = _coefficient_loss(
        matched.pred(outputs["pred_smpl_expr"]), matched.gt(lambda t: t.smplx_expr),
        matched.gt(lambda t: t.smplx_expr_valid),
    )
    return {
        "loss_smpl_beta": _coefficient_loss(
            matched.pred(outputs["pred_smpl_beta"]), matched.gt(lambda t: t.smplx_shape),
            matched.gt(lambda t: t.smplx_shape_valid),
        ),
        "loss_smpl_expr": expression * (1.0 if with_parts else 0.0),
    }


def _is_3d(matched: Matched) -> Tensor:
    return matched.gt(lambda t: t.is_3d.expand(t.num_persons)).view(-1, 1, 1)


def joints_3d_losses(outputs: dict, matched: Matched, with_parts: bool) -> dict[str, Tensor]:
    """Pelvis-relative 3-D joints (official 'smpl_kp3d'), only for 3-D datasets."""
    pred = matched.pred(outputs["pred_smpl_kp3d"]).float()  # (M, 137, 3)
    target = matched.gt(lambda t: t.joints_3d)
    weight = target[..., 3:] * _is_3d(matched)
    pred = pred - pred[:, PELVIS, None]
    xyz = target[..., :3] - target[:, PELVIS, None, :3]
    per_joint = F.l1_loss(pred, xyz, reduction="none") * weight
    return _per_part(per_joint, weight, "kp3d", with_parts)


def joints_3d_part_relative_losses(outputs: dict, matched: Matched, with_parts: bool) -> dict:
    """Per-part root-aligned 3-D joints (official 'smpl_kp3d_ra'): body from the pelvis, hands
    from their wrists, face from the neck."""
    pred = matched.pred(outputs["pred_smpl_kp3d"]).float()
    target = matched.gt(lambda t: t.joints_3d_part_relative)
    weight = (target[..., 3:] * _is_3d(matched)).repeat(1, 1, 3)
    pred = pred - pred[:, PELVIS, None]
    xyz = target[..., :3] - target[:, PELVIS, None, :3]
    aligned = pred.clone()
    for part, root in (("lhand", LEFT_WRIST), ("rhand", RIGHT_WRIST), ("face", NECK)):
        rows = SMPLX_137_PARTS[part]
        aligned[:, rows] = pred[:, rows] - pred[:, root, None]
    per_joint = F.l1_loss(aligned, xyz, reduction="none") * weight
    losses = _per_part(per_joint, weight, "kp3d", with_parts)
    return {f"{name}_ra": value for name, value in losses.items()}


def projected_joints_losses(outputs: dict, matched: Matched, with_parts: bool) -> dict:
    """Joints projected with the predicted camera (focal 5000 px, principal point at the image
    centre), normalised by the image size, against the 2-D joint targets."""
    pred = matched.pred(outputs["pred_smpl_kp3d"]).float()
    camera = matched.pred(outputs["pred_smpl_cam"]).float()
    size_wh = matched.gt(lambda t: t.image_size_hw.flip(-1).expand(t.num_persons, 2)).float()
    projected = aios_project_points(pred, camera, size_wh) / size_wh[:, None]
    target = matched.gt(lambda t: t.joints_2d)  # (M, 137, 3)
    weight = target[..., 2:]
    per_joint = F.l1_loss(projected, target[..., :2], reduction="none") * weight
    return _per_part(per_joint, weight, "kp2d", with_parts)
