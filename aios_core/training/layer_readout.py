"""Predictions of EVERY decoder layer, for the auxiliary losses (official training forward).

Inputs per layer are batch-first and exclude the denoising queries: hidden (B, N, C) after the
decoder's LayerNorm, reference (B, N, 4) = that layer's INPUT boxes (sigmoid). Stages:

* box stage (layers < num_box): N = num_queries; class logits and body boxes only;
* body stage: N = G * (Nb + 4); + part boxes, body keypoints and SMPL-X (the mesh is posed
  with zero hand poses and zero expression, as the official does at this stage);
* whole-body stage: the inference readout, pointed at the layer's heads.

SMPL-X joints are returned in the 137-keypoint training order (the official training body
model converts its joints to 'smplx_137').
"""

from __future__ import annotations

import torch
from torch import Tensor

from aios_core.body.keypoints import select_smplx_137
from aios_core.body.rotations import rot6d_to_matrix
from aios_core.model.config import AiOSConfig
from aios_core.model.heads import PredictionHeads
from aios_core.model.layers import inverse_sigmoid
from aios_core.model.query_layout import BodyStageLayout
from aios_core.model.readout import FinalLayerReadout, SmplxPrediction, run_body_model


def _rotations(six_d: Tensor, joints: int) -> Tensor:
    """(B, G, joints * 6) -> (B, G, joints, 3, 3)."""
    return rot6d_to_matrix(six_d.reshape(-1, 6)).reshape(*six_d.shape[:2], joints, 3, 3)


def _smplx_outputs(smplx: SmplxPrediction, joints_144: Tensor) -> dict[str, Tensor]:
    return {
        "pred_smpl_pose": smplx.body_pose,  # (B, G, 22, 3, 3)
        "pred_smpl_lhand_pose": smplx.lhand_pose,  # (B, G, 15, 3, 3)
        "pred_smpl_rhand_pose": smplx.rhand_pose,
        "pred_smpl_jaw_pose": smplx.jaw_pose,  # (B, G, 1, 3, 3)
        "pred_smpl_expr": smplx.expression,  # (B, G, 10)
        "pred_smpl_beta": smplx.betas,  # (B, G, 10)
        "pred_smpl_cam": smplx.camera,  # (B, G, 3)
        "pred_smpl_kp3d": select_smplx_137(joints_144),  # (B, G, 137, 3) metres
    }


def box_stage_outputs(heads: PredictionHeads, layer: int, hidden: Tensor, reference: Tensor):
    """(B, Q, C), (B, Q, 4) -> class logits (B, Q, K) and body boxes (B, Q, 4)."""
    boxes = heads.bbox_embed[layer](hidden) + inverse_sigmoid(reference)
    return {"pred_logits": heads.class_embed[layer](hidden), "pred_boxes": boxes.sigmoid()}


class BodyStageReadout:
    """Heads of one body-refinement layer on the (Nb + 4)-token groups."""

    def __init__(self, config: AiOSConfig, heads: PredictionHeads, layer: int):
        self.config, self.heads, self.layer = config, heads, layer
        self.index = layer - config.num_box_decoder_layers
        self.layout = BodyStageLayout(config.num_body_points)

    def _slot(self, x: Tensor, slot: int) -> Tensor:
        return x[:, slot :: self.layout.tokens]  # (B, G, ...)

    def _part_box(self, hidden: Tensor, reference: Tensor, slot: int, xy_head, wh_head) -> Tensor:
        tokens = self._slot(hidden, slot)
        boxes = inverse_sigmoid(self._slot(reference, slot).clone())
        boxes[..., :2] += xy_head(tokens)[..., :2]
        boxes[..., 2:] += wh_head(tokens)
        return boxes.sigmoid()

    def _body_keypoints(self, hidden: Tensor, reference: Tensor) -> Tensor:
        """(B, G, 3 Nb): (x, y) pairs then the constant sigmoid(1) visibilities."""
        batch, groups, n = hidden.shape[0], self.config.num_group, self.config.num_body_points
        tokens = hidden.unflatten(1, (groups, self.layout.tokens))[:, :, 1 : n + 1]
        refs = reference.unflatten(1, (groups, self.layout.tokens))[:, :, 1 : n + 1]
        xy = self.heads.pose_embed[self.index](tokens) + inverse_sigmoid(refs[..., :2])
        xyv = torch.cat((xy, torch.ones_like(xy)[..., :1]), dim=-1).sigmoid()
        return torch.cat((xyv[..., :2].flatten(2), xyv[..., 2]), dim=-1).reshape(batch, groups, -1)

    def __call__(self, hidden: Tensor, reference: Tensor, body_model) -> dict[str, Tensor]:
        h, lay, i, c = self.heads, self.layout, self.index, self.config
        batch, groups, channels = hidden.shape[0], c.num_group, hidden.shape[-1]
        out = box_stage_outputs(
            h, self.layer, self._slot(hidden, lay.body_box), self._slot(reference, lay.body_box)
        )
        hand_xy, hand_wh = h.bbox_hand_embed[i], h.bbox_hand_hw_embed[i]
        out["pred_lhand_boxes"] = self._part_box(hidden, reference, lay.lhand_box, hand_xy, hand_wh)
        out["pred_rhand_boxes"] = self._part_box(hidden, reference, lay.rhand_box, hand_xy, hand_wh)
        out["pred_face_boxes"] = self._part_box(
            hidden, reference, lay.face_box, h.bbox_face_embed[i], h.bbox_face_hw_embed[i]
        )
        out["pred_keypoints"] = self._body_keypoints(hidden, reference)

        person = hidden.reshape(batch, groups, channels * lay.tokens)  # all tokens of a person
        lhand = self._slot(hidden, lay.lhand_box)
        rhand = self._slot(hidden, lay.rhand_box)
        face = self._slot(hidden, lay.face_box)
        smplx = SmplxPrediction(
            body_pose=_rotations(h.smpl_pose_embed[i](person), c.body_model_joint_num),
            lhand_pose=_rotations(h.smpl_hand_pose_embed[i](lhand), c.hand_joint_num),
            rhand_pose=_rotations(h.smpl_hand_pose_embed[i](rhand), c.hand_joint_num),
            jaw_pose=_rotations(h.smpl_jaw_embed[i](face), 1),
            expression=h.smpl_expr_embed[i](face),
            betas=h.smpl_beta_embed[i](person),
            camera=h.smpl_cam_embed[i](person),
        )
        # The official poses this stage's mesh without hands and expression.
        eye = torch.eye(3, dtype=hidden.dtype, device=hidden.device)
        posed = SmplxPrediction(
            body_pose=smplx.body_pose,
            lhand_pose=eye.expand_as(smplx.lhand_pose),
            rhand_pose=eye.expand_as(smplx.rhand_pose),
            jaw_pose=smplx.jaw_pose,
            expression=torch.zeros_like(smplx.expression),
            betas=smplx.betas,
            camera=smplx.camera,
        )
        joints, _ = run_body_model(body_model, posed)
        out.update(_smplx_outputs(smplx, joints))
        return out


class WholeBodyStageReadout(FinalLayerReadout):
    """The inference readout, for any whole-body layer."""

    def __init__(self, config: AiOSConfig, heads: PredictionHeads, layer: int):
        super().__init__(config, heads)
        self.layer = layer
        self.body_stage_index = layer - config.num_box_decoder_layers
        self.part_stage_index = layer - config.num_hand_face_decoder_layers

    def __call__(self, hidden: Tensor, reference: Tensor, body_model) -> dict[str, Tensor]:
        out = self.detections(hidden, reference)
        smplx = self.smplx_parameters(hidden)
        joints, _ = run_body_model(body_model, smplx)
        out.update(_smplx_outputs(smplx, joints))
        return out
