"""The AiOS training criterion: matching + every loss term at the official stages and weights.

Which decoder layer is supervised by what (official ``SetCriterion.forward`` and the weight
dict of ``build_aios_smplx``), with Lb = num_box_decoder_layers, Lp = num_hand_face_decoder_layers
of the network's ``AiOSConfig`` (the official passes both from the model arguments):

* every layer: classification, body box, denoising (ce / L1 / GIoU);
* layers >= Lb: + hand / face boxes, body keypoints (L1 + OKS), body SMPL-X terms;
* layers >= Lp (and the final layer): + hand / face keypoints and the hand / face / jaw /
  expression SMPL-X terms;
* encoder proposals ("interm"): classification and body box, weights x interm_loss_coef;
* the hand / face 3-D and hand 2-D joint terms of layer Lp have their weights x ``damping``
  (official engine.py divides keys containing 'hand_kp3d_4', 'face_kp3d_4', 'hand_kp2d_4' by
  10, 4 being Lp of the released layout).

Keys: final layer plain (``loss_ce``), decoder layer i < last with ``_{i}``, encoder ``_interm``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from aios_core.data.image_targets import ImageTargets
from aios_core.model.config import AiOSConfig
from aios_core.training.losses_detection import (
    Matched,
    box_losses,
    classification_loss,
    denoising_losses,
    keypoint_losses,
)
from aios_core.training.losses_smplx import (
    joints_3d_losses,
    joints_3d_part_relative_losses,
    pose_losses,
    projected_joints_losses,
    shape_expression_losses,
)
from aios_core.training.matcher import MatcherConfig, hungarian_match


def official_loss_weights() -> dict[str, float]:
    """``config/aios_smplx_{pretrain,train}.py`` coefficients, by official loss name."""
    weights = {"loss_ce": 2.0}
    for part in ("body", "lhand", "rhand", "face"):
        weights[f"loss_{part}_bbox"] = 5.0
        weights[f"loss_{part}_giou"] = 2.0
    weights.update({
        "loss_keypoints": 10.0, "loss_lhand_keypoints": 10.0, "loss_rhand_keypoints": 10.0,
        "loss_face_keypoints": 10.0,
        "loss_oks": 4.0, "loss_lhand_oks": 0.5, "loss_rhand_oks": 0.5, "loss_face_oks": 4.0,
        "loss_smpl_pose_root": 1.0, "loss_smpl_pose_body": 0.1, "loss_smpl_pose_lhand": 0.1,
        "loss_smpl_pose_rhand": 0.1, "loss_smpl_pose_jaw": 0.1,
        "loss_smpl_beta": 0.01, "loss_smpl_expr": 0.01,
        "dn_loss_ce": 0.3, "dn_loss_bbox": 5.0 * 0.5, "dn_loss_giou": 2.0 * 0.5,
    })
    for name, body, others in (("kp3d", 1.0, 0.1), ("kp3d_ra", 1.0, 0.1)):
        weights[f"loss_smpl_body_{name}"] = body
        for part in ("lhand", "rhand", "face"):
            weights[f"loss_smpl_{part}_{name}"] = others
    weights.update({
        "loss_smpl_body_kp2d": 1.0, "loss_smpl_lhand_kp2d": 0.5, "loss_smpl_rhand_kp2d": 0.5,
        "loss_smpl_face_kp2d": 0.1,
    })
    return weights


@dataclass
class CriterionConfig:
    """Defaults = the official training setup."""

    weights: dict[str, float] = field(default_factory=official_loss_weights)
    interm_loss_coef: float = 1.0
    focal_alpha: float = 0.25
    matcher: MatcherConfig = field(default_factory=MatcherConfig)
    # Terms of the first whole-body layer whose weights engine.py scales while training.
    damped_terms: tuple[str, ...] = (
        "loss_smpl_lhand_kp3d", "loss_smpl_rhand_kp3d", "loss_smpl_face_kp3d",
        "loss_smpl_lhand_kp2d", "loss_smpl_rhand_kp2d",
    )
    damping: float = 0.1


class AiOSCriterion(nn.Module):
    """``criterion(outputs, targets)`` -> {"total": weighted sum, name: raw term, ...}.

    ``model`` is the network's ``AiOSConfig``: its stage boundaries decide each layer's terms.
    """

    def __init__(self, model: AiOSConfig, config: CriterionConfig | None = None):
        super().__init__()
        self.model_config = model
        self.config = config or CriterionConfig()

    @property
    def damped_layer(self) -> int:
        """The decoder layer whose hand / face joint terms are damped (official: 4)."""
        return self.model_config.num_hand_face_decoder_layers

    def weight(self, name: str) -> float:
        """Weight of a suffixed term (``loss_ce_3``, ``loss_body_bbox_interm`` ...)."""
        c = self.config
        base, _, suffix = name.rpartition("_")
        if suffix == "interm":
            return c.weights[base] * c.interm_loss_coef
        if not suffix.isdigit():
            base = name
        damped = suffix.isdigit() and int(suffix) == self.damped_layer and base in c.damped_terms
        return c.weights[base] * (c.damping if damped else 1.0)

    def _layer_losses(self, outputs: dict, matched: Matched, num_boxes: float, layer: int | None):
        """Terms of one decoder layer; ``layer`` None = the final layer (everything)."""
        c, m = self.config, self.model_config
        body_stage = layer is None or layer >= m.num_box_decoder_layers
        parts = layer is None or layer >= m.num_hand_face_decoder_layers
        losses = classification_loss(outputs, matched, num_boxes, c.focal_alpha)
        losses.update(box_losses(outputs, matched, num_boxes, with_parts=body_stage))
        if body_stage:
            losses.update(keypoint_losses(outputs, matched, with_parts=parts))
            for term in (
                pose_losses, shape_expression_losses, projected_joints_losses,
                joints_3d_losses, joints_3d_part_relative_losses,
            ):
                losses.update(term(outputs, matched, with_parts=parts))
        return losses

    def forward(self, outputs: dict, targets: list[ImageTargets]) -> dict[str, Tensor]:
        c = self.config
        num_boxes = _mean_box_count(targets, outputs["interm"]["pred_logits"].device)
        losses: dict[str, Tensor] = {}
        last = len(outputs["layers"]) - 1
        for layer, layer_outputs in enumerate(outputs["layers"]):
            matched = Matched.from_matches(
                hungarian_match(layer_outputs, targets, c.matcher), targets
            )
            stage = None if layer == last else layer
            terms = self._layer_losses(layer_outputs, matched, num_boxes, stage)
            if outputs["dn"]:
                terms.update(denoising_losses(
                    outputs["dn"][layer], outputs["dn_labels"], outputs["dn_boxes"], c.focal_alpha
                ))
            suffix = "" if layer == last else f"_{layer}"
            losses.update({name + suffix: value for name, value in terms.items()})

        interm = outputs["interm"]
        matched = Matched.from_matches(hungarian_match(interm, targets, c.matcher), targets)
        terms = classification_loss(interm, matched, num_boxes, c.focal_alpha)
        terms.update(box_losses(interm, matched, num_boxes, with_parts=False))
        losses.update({f"{name}_interm": value for name, value in terms.items()})

        total = sum(value * self.weight(name) for name, value in losses.items())
        return {"total": total, **losses}


def _mean_box_count(targets: list[ImageTargets], device: torch.device) -> float:
    """Ground-truth persons per process (averaged over DDP ranks), at least 1 (official)."""
    count = torch.as_tensor(
        [float(sum(t.num_persons for t in targets))], dtype=torch.float, device=device
    )
    world = 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(count)
        world = torch.distributed.get_world_size()
    return torch.clamp(count / world, min=1).item()
