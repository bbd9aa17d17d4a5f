"""Detection losses of AiOS (official ``SetCriterion``): focal classification, L1 + GIoU boxes,
L1 + OKS keypoints, and the denoising losses. Reductions and epsilons follow the official code,
including its quirks (marked)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from aios_core.data.image_targets import ImageTargets
from aios_core.training.box_ops import cxcywh_to_xyxy, paired_giou
from aios_core.training.matcher import COCO_SIGMAS, HAND_FACE_SIGMAS, oks_similarity


@dataclass
class Matched:
    """Matched (prediction, ground truth) pairs of a batch, in image order."""

    batch_index: Tensor  # (M,) image of each pair
    pred_index: Tensor  # (M,) prediction (query / group) index within its image
    targets: list[ImageTargets]
    target_index: list[Tensor]  # per image, the matched ground-truth rows

    @classmethod
    def from_matches(cls, matches: list[tuple[Tensor, Tensor]], targets: list[ImageTargets]):
        device = targets[0].boxes.device
        batch = torch.cat([torch.full_like(p, i) for i, (p, _) in enumerate(matches)])
        pred = torch.cat([p for p, _ in matches])
        return cls(batch.to(device), pred.to(device), targets, [t.to(device) for _, t in matches])

    def __len__(self) -> int:
        return self.pred_index.shape[0]

    def pred(self, tensor: Tensor) -> Tensor:
        """(B, P, ...) predictions -> (M, ...) matched rows."""
        return tensor[self.batch_index, self.pred_index]

    def gt(self, field: Callable[[ImageTargets], Tensor]) -> Tensor:
        """Matched ground truth, (M, ...), of ``field(targets)`` (N_b, ...) per image."""
        pairs = zip(self.targets, self.target_index, strict=True)
        return torch.cat([field(t)[i] for t, i in pairs])


def sigmoid_focal_loss(logits: Tensor, onehot: Tensor, normaliser: float, alpha: float = 0.25):
    """Official focal loss: mean over queries, sum over batch and classes, / normaliser."""
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")
    p_t = prob * onehot + (1 - prob) * (1 - onehot)
    loss = ce * ((1 - p_t) ** 2)
    loss = (alpha * onehot + (1 - alpha) * (1 - onehot)) * loss
    return loss.mean(1).sum() / normaliser


def _onehot_without_background(class_ids: Tensor, num_classes: int, like: Tensor) -> Tensor:
    """(B, P) ids in [0, num_classes] -> (B, P, num_classes); id num_classes = all zeros."""
    onehot = torch.zeros((*class_ids.shape, num_classes + 1), dtype=like.dtype, device=like.device)
    onehot.scatter_(2, class_ids.unsqueeze(-1), 1)
    return onehot[..., :-1]


def classification_loss(outputs: dict, matched: Matched, num_boxes: float, alpha: float):
    logits = outputs["pred_logits"]  # (B, P, K)
    classes = torch.full(logits.shape[:2], logits.shape[2], dtype=torch.long, device=logits.device)
    classes[matched.batch_index, matched.pred_index] = matched.gt(lambda t: t.labels)
    onehot = _onehot_without_background(classes, logits.shape[2], logits)
    # The official multiplies the query-mean back by the query count.
    return {"loss_ce": sigmoid_focal_loss(logits, onehot, num_boxes, alpha) * logits.shape[1]}


def _box_terms(pred: Tensor, gt: Tensor, weight: Tensor) -> tuple[Tensor, Tensor]:
    """Weighted L1 (summed over coordinates) and 1 - GIoU, summed over pairs."""
    l1 = (F.l1_loss(pred, gt, reduction="none") * weight[:, None]).sum()
    giou = ((1 - paired_giou(cxcywh_to_xyxy(pred), cxcywh_to_xyxy(gt))) * weight).sum()
    return l1, giou


def box_losses(outputs: dict, matched: Matched, num_boxes: float, with_parts: bool):
    """Body box always (normalised by the batch's box count); hand / face boxes optionally
    (normalised by their own valid count)."""
    l1, giou = _box_terms(
        matched.pred(outputs["pred_boxes"]), matched.gt(lambda t: t.boxes),
        matched.gt(lambda t: t.body_box_valid),
    )
    losses = {"loss_body_bbox": l1 / num_boxes, "loss_body_giou": giou / num_boxes}
    if not with_parts:
        return losses
    for part in ("lhand", "rhand", "face"):
        weight = matched.gt(lambda t, p=part: getattr(t, f"{p}_box_valid"))
        l1, giou = _box_terms(
            matched.pred(outputs[f"pred_{part}_boxes"]),
            matched.gt(lambda t, p=part: getattr(t, f"{p}_boxes")), weight,
        )
        count = (weight > 0).sum()
        scale = 1.0 / count if count > 0 else 0.0
        losses[f"loss_{part}_bbox"] = l1 * scale
        losses[f"loss_{part}_giou"] = giou * scale
    return losses


def _keypoint_terms(pred: Tensor, gt: Tensor, area: Tensor, box_weight: Tensor, sigmas: Tensor):
    """pred (M, 3K) [xy pairs, visibilities], gt (M, 3K) [xy pairs, weights] -> (L1 sum, OKS
    sum, persons with a valid box and at least one weighted keypoint)."""
    k = sigmas.shape[0]
    pred_xy, gt_xy, weight = pred[:, : 2 * k], gt[:, : 2 * k], gt[:, 2 * k :]
    has_points = weight.sum(-1) > 0
    oks = oks_similarity(pred_xy.view(-1, k, 2), gt_xy.view(-1, k, 2), weight, area, sigmas)
    oks_loss = (1 - oks.clamp(min=1e-6)) * weight.sum(-1) / (weight.sum(-1) + 1e-6)
    oks_loss = oks_loss * has_points * box_weight
    l1 = F.l1_loss(pred_xy, gt_xy, reduction="none") * weight.repeat_interleave(2, dim=1)
    l1 = l1.sum(-1) * box_weight
    return l1.sum(), oks_loss.sum(), has_points


_PARTS = {  # output key, targets method, box validity, sigmas
    "body": ("pred_keypoints", "body_keypoints", "body_box_valid", COCO_SIGMAS),
    "lhand": ("pred_lhand_keypoints", "lhand_keypoints", "lhand_box_valid", HAND_FACE_SIGMAS),
    "rhand": ("pred_rhand_keypoints", "rhand_keypoints", "rhand_box_valid", HAND_FACE_SIGMAS),
    "face": ("pred_face_keypoints", "face_keypoints", "face_box_valid", HAND_FACE_SIGMAS),
}


def keypoint_losses(outputs: dict, matched: Matched, with_parts: bool) -> dict[str, Tensor]:
    """L1 and OKS (linear, 1 - OKS) per part, each / its count of supervised persons. OKS uses
    the BODY box area for every part (official)."""
    area = matched.gt(lambda t: t.area)
    losses, lhand_has_points = {}, None
    for part in ("body", "lhand", "rhand", "face") if with_parts else ("body",):
        key, method, valid, sigmas = _PARTS[part]
        pred = matched.pred(outputs[key])
        box_weight = matched.gt(lambda t, v=valid: getattr(t, v))
        l1, oks, has_points = _keypoint_terms(
            pred, matched.gt(lambda t, m=method: getattr(t, m)()), area, box_weight,
            pred.new_tensor(sigmas),
        )
        if part == "lhand":
            lhand_has_points = has_points
        # Official quirk: the face count uses the LEFT-HAND keypoint presence.
        counted = lhand_has_points if part == "face" else has_points
        count = (counted * box_weight).sum()
        prefix = "" if part == "body" else f"{part}_"
        scale = 1.0 / count if count > 0 else 0.0
        losses[f"loss_{prefix}keypoints"] = l1 * scale
        losses[f"loss_{prefix}oks"] = oks * scale
    return losses


def denoising_losses(
    dn_outputs: dict, labels: Tensor, boxes: Tensor, alpha: float
) -> dict[str, Tensor]:
    """Focal loss to the clean labels, L1 + GIoU to the clean boxes, all / D (queries per
    image), as the official (``num_tgt`` = dn_number)."""
    logits, pred = dn_outputs["pred_logits"], dn_outputs["pred_boxes"]  # (B, D, K), (B, D, 4)
    d = logits.shape[1]
    onehot = _onehot_without_background(labels, logits.shape[2], logits)
    giou = paired_giou(cxcywh_to_xyxy(pred.flatten(0, 1)), cxcywh_to_xyxy(boxes.flatten(0, 1)))
    return {
        "dn_loss_ce": sigmoid_focal_loss(logits, onehot, d, alpha) * d,
        "dn_loss_bbox": F.l1_loss(pred, boxes, reduction="none").sum() / d,
        "dn_loss_giou": (1 - giou).sum() / d,
    }
