"""Prediction heads of the AiOS network, laid out exactly as the official AiOSSMPLX builds them.

Each head is a list over decoder layers (or over the layers of the stage that uses it). Most
lists hold independent copies of one freshly initialised prototype; the keypoint "hw" heads
(``pose_hw_embed``, ``pose_hand_hw_embed``, ``pose_face_hw_embed``) repeat ONE module, so all
their entries share parameters (the state dict still lists every index).

List lengths, with L decoder layers, Lb box layers, Lp = layer where hand/face keypoints start:

- class_embed, bbox_embed: L (one per layer)
- bbox_{hand,face}_embed: L - Lb + 1 (the extra last entry spawns the part boxes)
- bbox_{hand,face}_hw_embed, pose_hw_embed, smpl_*: L - Lb
- pose_embed: L - Lb + 1 with 17 body points (last entry spawns keypoints), else L - Lb
- pose_{hand,face}_embed: L - Lp + 1; pose_{hand,face}_hw_embed: L - Lp
- smpl_hand_pose / smpl_expr / smpl_jaw: L - Lb, the first two entries ("2_3", body stage) read
  one token, the rest ("4_5", whole-body stage) read the concatenated part tokens.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, fields

import torch
from torch import nn

from aios_core.model.config import AiOSConfig
from aios_core.model.layers import MLP


def _zero_last_layer(mlp: MLP) -> MLP:
    nn.init.constant_(mlp.layers[-1].weight.data, 0)
    nn.init.constant_(mlp.layers[-1].bias.data, 0)
    return mlp


def _zero_init_mlp(input_dim: int, hidden_dim: int, output_dim: int) -> MLP:
    """3-layer MLP whose output starts at zero (a no-op offset)."""
    return _zero_last_layer(MLP(input_dim, hidden_dim, output_dim, 3))


def _copies(prototype: nn.Module, count: int) -> nn.ModuleList:
    return nn.ModuleList(copy.deepcopy(prototype) for _ in range(count))


def _shared(module: nn.Module, count: int) -> nn.ModuleList:
    return nn.ModuleList(module for _ in range(count))


def _staged(body_stage: MLP, whole_body_stage: MLP, count: int, body_count: int) -> nn.ModuleList:
    return nn.ModuleList(
        copy.deepcopy(body_stage if i < body_count else whole_body_stage) for i in range(count)
    )


@dataclass
class PredictionHeads:
    """All head lists; field order is the official registration order on the network."""

    bbox_embed: nn.ModuleList
    class_embed: nn.ModuleList
    pose_embed: nn.ModuleList
    pose_hw_embed: nn.ModuleList
    smpl_pose_embed: nn.ModuleList
    smpl_beta_embed: nn.ModuleList
    smpl_cam_embed: nn.ModuleList
    bbox_hand_embed: nn.ModuleList
    bbox_hand_hw_embed: nn.ModuleList
    pose_hand_embed: nn.ModuleList
    pose_hand_hw_embed: nn.ModuleList
    bbox_face_embed: nn.ModuleList
    bbox_face_hw_embed: nn.ModuleList
    pose_face_embed: nn.ModuleList
    pose_face_hw_embed: nn.ModuleList
    smpl_hand_pose_embed: nn.ModuleList
    smpl_expr_embed: nn.ModuleList
    smpl_jaw_embed: nn.ModuleList
    # Two-stage encoder heads, mounted on the transformer (copies of the first prototypes).
    enc_out_bbox_embed: MLP
    enc_out_class_embed: nn.Linear

    def network_heads(self) -> list[tuple[str, nn.ModuleList]]:
        """(name, list) pairs that live directly on the network, in registration order."""
        return [
            (f.name, getattr(self, f.name))
            for f in fields(self)
            if not f.name.startswith("enc_out_")
        ]


def build_prediction_heads(config: AiOSConfig) -> PredictionHeads:
    c = config
    d = c.hidden_dim
    num_layers = c.dec_layers
    after_box = num_layers - c.num_box_decoder_layers
    after_parts = num_layers - c.num_hand_face_decoder_layers
    body_tokens = c.num_body_points + 4  # body box, keypoints, three part boxes

    class_head = nn.Linear(d, c.num_classes)
    # Focal-loss prior: every logit starts at log(p / (1 - p)).
    prior_bias = -math.log((1 - c.cls_prior_prob) / c.cls_prior_prob)
    class_head.bias.data = torch.ones(c.num_classes) * prior_bias
    box_head = _zero_init_mlp(d, d, 4)

    hand_box_head = _zero_init_mlp(d, d, 2)
    hand_box_hw_head = _zero_init_mlp(d, d, 2)
    face_box_head = _zero_init_mlp(d, d, 2)
    face_box_hw_head = _zero_init_mlp(d, d, 2)

    body_kp_head = _zero_init_mlp(d, d, 2)
    body_kp_count = after_box + 1 if c.num_body_points == 17 else after_box
    # The keypoint size heads keep PyTorch's default init (the official never zeroes them).
    body_kp_hw_head = MLP(d, d, 2, 3)
    hand_kp_head = _zero_init_mlp(d, d, 2)
    hand_kp_hw_head = MLP(d, d, 2, 3)
    face_kp_head = _zero_init_mlp(d, d, 2)
    face_kp_hw_head = MLP(d, d, 2, 3)

    joints_6d = c.body_model_joint_num * 6
    smpl_pose_head = _zero_init_mlp(d * body_tokens, d, joints_6d)
    smpl_beta_head = _zero_init_mlp(d * body_tokens, d, c.num_betas)
    smpl_cam_head = _zero_init_mlp(d * body_tokens, d, 3)

    hand_pose_6d = c.hand_joint_num * 6
    body_stage_count = c.num_body_refinement_layers
    # Whole-body-stage inputs (see readout.py): hands read Nh + 3 tokens (body box, both hand
    # boxes, that hand's keypoints), jaw and expression read Nf + 2 (body box, face box, face
    # keypoints); the official sizes the expression head with num_hand_points, kept as is.
    hand_pose_heads = _staged(
        _zero_init_mlp(d, d, hand_pose_6d),
        _zero_init_mlp(d * (c.num_hand_points + 3), d, hand_pose_6d),
        after_box,
        body_stage_count,
    )
    expr_heads = _staged(
        _zero_init_mlp(d, d, c.num_expression_coeffs),
        _zero_init_mlp(d * (c.num_hand_points + 2), d, c.num_expression_coeffs),
        after_box,
        body_stage_count,
    )
    jaw_heads = _staged(
        _zero_init_mlp(d, d, 6),
        _zero_init_mlp(d * (c.num_face_points + 2), d, 6),
        after_box,
        body_stage_count,
    )

    return PredictionHeads(
        bbox_embed=_copies(box_head, num_layers),
        class_embed=_copies(class_head, num_layers),
        pose_embed=_copies(body_kp_head, body_kp_count),
        pose_hw_embed=_shared(body_kp_hw_head, after_box),
        smpl_pose_embed=_copies(smpl_pose_head, after_box),
        smpl_beta_embed=_copies(smpl_beta_head, after_box),
        smpl_cam_embed=_copies(smpl_cam_head, after_box),
        bbox_hand_embed=_copies(hand_box_head, after_box + 1),
        bbox_hand_hw_embed=_copies(hand_box_hw_head, after_box),
        pose_hand_embed=_copies(hand_kp_head, after_parts + 1),
        pose_hand_hw_embed=_shared(hand_kp_hw_head, after_parts),
        bbox_face_embed=_copies(face_box_head, after_box + 1),
        bbox_face_hw_embed=_copies(face_box_hw_head, after_box),
        pose_face_embed=_copies(face_kp_head, after_parts + 1),
        pose_face_hw_embed=_shared(face_kp_hw_head, after_parts),
        smpl_hand_pose_embed=hand_pose_heads,
        smpl_expr_embed=expr_heads,
        smpl_jaw_embed=jaw_heads,
        enc_out_bbox_embed=copy.deepcopy(box_head),
        enc_out_class_embed=copy.deepcopy(class_head),
    )
