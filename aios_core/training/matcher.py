"""One-to-one matching of predictions to ground-truth persons (official ``HungarianMatcher``).

Cost of assigning prediction q to person t (lower is better)::

    class:  focal-style  alpha (1-p)^2 (-log p) - (1-alpha) p^2 (-log(1-p)),  p = sigmoid(logit
            of the person class)
    box stages (no keypoint predictions):   5 * L1(box) + 2 * class - 2 * GIoU
    keypoint stages:                        2 * class + 10 * L1(keypoints) + 4 * (1 - OKS)

The official switches to the keypoint costs whenever the layer predicts keypoints (its test is
``sum(pred_keypoints) > 0``, true for every sigmoid output) and then zeroes the box costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from aios_core.data.image_targets import ImageTargets
from aios_core.training.box_ops import cxcywh_to_xyxy, pairwise_giou

# COCO keypoint sigmas (official matcher / OKS loss), for 17 body points.
COCO_SIGMAS = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107,
    0.087, 0.087, 0.089, 0.089,
)
HAND_FACE_SIGMAS = (0.025,) * 6  # official value for the 6-point hand and face sets


@dataclass
class MatcherConfig:
    """Official ``set_cost_*`` values of the AiOS training configs."""

    cost_class: float = 2.0
    cost_bbox: float = 5.0
    cost_giou: float = 2.0
    cost_keypoints: float = 10.0
    cost_oks: float = 4.0
    focal_alpha: float = 0.25


def oks_similarity(pred: Tensor, target: Tensor, weight: Tensor, area: Tensor, sigmas: Tensor):
    """Object keypoint similarity; broadcasts over leading dims.

    pred / target (..., K, 2) normalised xy, weight (..., K), area (...) normalised box area,
    sigmas (K,) -> (...) = sum_k w_k exp(-d_k^2 / (2 area (2 sigma_k)^2)) / (sum_k w_k + 1e-6).
    """
    variances = (sigmas * 2) ** 2
    squared = (pred[..., 0] - target[..., 0]) ** 2 + (pred[..., 1] - target[..., 1]) ** 2
    similarity = torch.exp(-squared / (area[..., None] * variances * 2)) * weight
    return similarity.sum(-1) / (weight.sum(-1) + 1e-6)


def focal_match_cost(logits: Tensor, class_ids: Tensor, alpha: float) -> Tensor:
    """(P, K) logits, (T,) class ids -> (P, T) classification cost."""
    prob = logits.sigmoid()
    neg = (1 - alpha) * (prob**2) * (-(1 - prob + 1e-8).log())
    pos = alpha * ((1 - prob) ** 2) * (-(prob + 1e-8).log())
    return pos[:, class_ids] - neg[:, class_ids]


@torch.no_grad()
def match_cost_matrix(outputs: dict, targets: list[ImageTargets], config: MatcherConfig) -> Tensor:
    """(B, P, T_total) cost of every prediction against every ground truth of the batch."""
    batch, num_pred = outputs["pred_logits"].shape[:2]
    labels = torch.cat([t.labels for t in targets])
    cost = config.cost_class * focal_match_cost(
        outputs["pred_logits"].flatten(0, 1), labels, config.focal_alpha
    )
    if "pred_keypoints" in outputs:
        num_points = len(COCO_SIGMAS)
        pred = outputs["pred_keypoints"].flatten(0, 1)[:, : 2 * num_points]  # (P, 34)
        gt = torch.cat([t.body_keypoints() for t in targets])  # (T, 51)
        gt_xy, gt_weight = gt[:, : 2 * num_points], gt[:, 2 * num_points :]
        area = torch.cat([t.area for t in targets])
        sigmas = pred.new_tensor(COCO_SIGMAS)
        oks = oks_similarity(
            pred.view(-1, 1, num_points, 2), gt_xy.view(1, -1, num_points, 2),
            gt_weight[None], area[None], sigmas,
        ).clamp(min=1e-6)
        l1 = (torch.abs(pred[:, None, :] - gt_xy[None]) * gt_weight.repeat_interleave(2, 1)[None])
        cost = cost + config.cost_keypoints * l1.sum(-1) + config.cost_oks * (1 - oks)
    else:
        pred_boxes = outputs["pred_boxes"].flatten(0, 1)
        gt_boxes = torch.cat([t.boxes for t in targets])
        cost = cost + config.cost_bbox * torch.cdist(pred_boxes, gt_boxes, p=1)
        cost = cost - config.cost_giou * pairwise_giou(
            cxcywh_to_xyxy(pred_boxes), cxcywh_to_xyxy(gt_boxes)
        )
    return cost.view(batch, num_pred, -1)


def hungarian_match(
    outputs: dict, targets: list[ImageTargets], config: MatcherConfig
) -> list[tuple[Tensor, Tensor]]:
    """Per image (prediction indices, target indices), both (min(P, N_b),) long, sorted by
    prediction index (scipy's order)."""
    cost = match_cost_matrix(outputs, targets, config).cpu()
    sizes = [t.num_persons for t in targets]
    matches = []
    for image, block in enumerate(cost.split(sizes, dim=-1)):
        rows, cols = linear_sum_assignment(block[image].numpy())
        matches.append(
            (torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long))
        )
    return matches
