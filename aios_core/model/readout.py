"""Turn a decoder layer's tokens into per-person boxes, keypoints and SMPL-X parameters.

One read-out for inference (the final layer) and training (every layer's auxiliary outputs),
following the official AiOSSMPLX forward. Boxes and keypoints are offsets (in logit space) from
that layer's INPUT reference boxes; SMPL-X heads read concatenated part tokens. Inputs are
batch-first and exclude denoising queries: hidden (B, N, C) after the decoder's LayerNorm,
reference (B, N, 4) sigmoid boxes. Stages (``stage_readout`` picks the class for a layer):

* box stage (layers < num_box): N = num_queries; class logits and body boxes only;
* body stage: N = G * (Nb + 4); + part boxes, body keypoints and SMPL-X;
* whole-body stage: N = G * T, T = whole-body tokens per person; + hand / face keypoints, and
  the SMPL-X heads read the part tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn

from aios_core.body.rotations import matrix_to_axis_angle_aios as matrix_to_axis_angle
from aios_core.body.rotations import rot6d_to_matrix
from aios_core.model.config import AiOSConfig
from aios_core.model.heads import PredictionHeads
from aios_core.model.layers import inverse_sigmoid
from aios_core.model.query_layout import (
    BodyStageLayout,
    WholeBodyStageLayout,
    index_tensor,
    token_indices,
)


@dataclass
class SmplxPrediction:
    """Per-person SMPL-X parameters, rotations as matrices."""

    body_pose: Tensor  # (B, G, 22, 3, 3) root + 21 body joints
    lhand_pose: Tensor  # (B, G, 15, 3, 3)
    rhand_pose: Tensor  # (B, G, 15, 3, 3)
    jaw_pose: Tensor  # (B, G, 1, 3, 3)
    expression: Tensor  # (B, G, 10)
    betas: Tensor  # (B, G, 10)
    camera: Tensor  # (B, G, 3) weak-perspective camera (scale, tx, ty) as regressed


def _rotations(six_d: Tensor, batch: int, groups: int, joints: int) -> Tensor:
    """(B, G, joints * 6) -> (B, G, joints, 3, 3) via Gram-Schmidt on each 6-d pair."""
    return rot6d_to_matrix(six_d.reshape(-1, 6)).reshape(batch, groups, joints, 3, 3)


def box_stage_outputs(heads: PredictionHeads, layer: int, hidden: Tensor, reference: Tensor):
    """(B, Q, C), (B, Q, 4) -> class logits (B, Q, K) and body boxes (B, Q, 4) of ``layer``."""
    boxes = heads.bbox_embed[layer](hidden) + inverse_sigmoid(reference)
    return {"pred_logits": heads.class_embed[layer](hidden), "pred_boxes": boxes.sigmoid()}


class _GroupReadout:
    """What the body and whole-body stages share: per-person token slots, part boxes and
    keypoints. Holds no parameters (the heads belong to the network)."""

    def __init__(self, config: AiOSConfig, heads: PredictionHeads, layer: int,
                 layout: BodyStageLayout | WholeBodyStageLayout):
        self.config, self.heads, self.layer, self.layout = config, heads, layer, layout
        # Head lists that start at the body stage / at the whole-body stage index from there.
        self.body_stage_index = layer - config.num_box_decoder_layers
        self.part_stage_index = layer - config.num_hand_face_decoder_layers

    def _indices(self, slots: range | list[int], device: torch.device) -> Tensor:
        return index_tensor(token_indices(self.config.num_group, self.layout.tokens, slots), device)

    def _per_group(self, x: Tensor, slot: int) -> Tensor:
        return x[:, slot :: self.layout.tokens]  # (B, G, ...)

    def _part_box(
        self, hidden: Tensor, reference: Tensor, slot: int, centre_head: nn.Module,
        size_head: nn.Module,
    ) -> Tensor:
        """(B, G, 4) box of one part token: centre offset from one head, size from another."""
        tokens = self._per_group(hidden, slot)
        boxes = inverse_sigmoid(self._per_group(reference, slot).clone())
        boxes[..., :2] += centre_head(tokens)[..., :2]
        boxes[..., 2:] += size_head(tokens)
        return boxes.sigmoid()

    def _keypoints(
        self, hidden: Tensor, reference: Tensor, slots: range, head: nn.Module
    ) -> Tensor:
        """(B, G, 3 n) as [x0, y0, x1, y1, ..., v0 .. v(n-1)], normalised to the valid image.

        The official appends a visibility logit of 1 before one sigmoid, so every v is
        sigmoid(1); it is kept for layout compatibility.
        """
        batch, num_points = hidden.shape[0], len(slots)
        indices = self._indices(slots, hidden.device)
        delta = head(hidden.index_select(1, indices))
        xy = delta + inverse_sigmoid(reference.index_select(1, indices)[..., :2])
        xyv = torch.cat((xy, torch.ones_like(xy)[..., :1]), dim=-1).sigmoid()
        xyv = xyv.reshape(batch, self.config.num_group, num_points, 3)
        return torch.cat((xyv[..., :2].flatten(2), xyv[..., 2]), dim=-1)

    def _boxes(self, hidden: Tensor, reference: Tensor) -> dict[str, Tensor]:
        """Scores and the four boxes of every person (B, G, K), (B, G, 4) x 4."""
        h, lay, i = self.heads, self.layout, self.body_stage_index
        out = box_stage_outputs(h, self.layer, self._per_group(hidden, lay.body_box),
                                self._per_group(reference, lay.body_box))
        hand_xy, hand_wh = h.bbox_hand_embed[i], h.bbox_hand_hw_embed[i]
        out["pred_lhand_boxes"] = self._part_box(hidden, reference, lay.lhand_box, hand_xy, hand_wh)
        out["pred_rhand_boxes"] = self._part_box(hidden, reference, lay.rhand_box, hand_xy, hand_wh)
        out["pred_face_boxes"] = self._part_box(
            hidden, reference, lay.face_box, h.bbox_face_embed[i], h.bbox_face_hw_embed[i])
        return out


class BodyStageReadout(_GroupReadout):
    """Heads of one body-refinement layer on the (Nb + 4)-token groups."""

    def __init__(self, config: AiOSConfig, heads: PredictionHeads, layer: int):
        super().__init__(config, heads, layer, BodyStageLayout(config.num_body_points))

    def detections(self, hidden: Tensor, reference: Tensor) -> dict[str, Tensor]:
        """Scores, the four boxes and the body keypoints of every person."""
        out = self._boxes(hidden, reference)
        out["pred_keypoints"] = self._keypoints(
            hidden, reference, self.layout.body_keypoints,
            self.heads.pose_embed[self.body_stage_index])
        return out

    def smplx_parameters(self, hidden: Tensor) -> SmplxPrediction:
        h, lay, c, i = self.heads, self.layout, self.config, self.body_stage_index
        batch, groups = hidden.shape[0], c.num_group
        person = hidden.reshape(batch, groups, -1)  # all tokens of a person, in sequence order
        lhand = self._per_group(hidden, lay.lhand_box)
        rhand = self._per_group(hidden, lay.rhand_box)
        face = self._per_group(hidden, lay.face_box)
        return SmplxPrediction(
            body_pose=_rotations(h.smpl_pose_embed[i](person), batch, groups,
                                 c.body_model_joint_num),
            lhand_pose=_rotations(h.smpl_hand_pose_embed[i](lhand), batch, groups,
                                  c.hand_joint_num),
            rhand_pose=_rotations(h.smpl_hand_pose_embed[i](rhand), batch, groups,
                                  c.hand_joint_num),
            jaw_pose=_rotations(h.smpl_jaw_embed[i](face), batch, groups, 1),
            expression=h.smpl_expr_embed[i](face),
            betas=h.smpl_beta_embed[i](person),
            camera=h.smpl_cam_embed[i](person),
        )


class WholeBodyStageReadout(_GroupReadout):
    """Heads of one whole-body layer (the final layer's is the inference read-out)."""

    def __init__(self, config: AiOSConfig, heads: PredictionHeads, layer: int):
        layout = WholeBodyStageLayout(
            config.num_body_points, config.num_hand_points, config.num_face_points)
        super().__init__(config, heads, layer, layout)

    def _features(self, hidden: Tensor, slots: list[int]) -> Tensor:
        """Concatenate the given tokens of each person (in sequence order) -> (B, G, len * C)."""
        batch, _, channels = hidden.shape
        tokens = hidden.index_select(1, self._indices(slots, hidden.device))
        return tokens.reshape(batch, -1, channels * len(slots))

    def detections(self, hidden: Tensor, reference: Tensor) -> dict[str, Tensor]:
        """Scores, the four boxes and the four keypoint sets of every person."""
        h, lay = self.heads, self.layout
        hand_kp = h.pose_hand_embed[self.part_stage_index]
        out = self._boxes(hidden, reference)
        out.update(
            pred_keypoints=self._keypoints(
                hidden, reference, lay.body_keypoints, h.pose_embed[self.body_stage_index]),
            pred_lhand_keypoints=self._keypoints(hidden, reference, lay.lhand_keypoints, hand_kp),
            pred_rhand_keypoints=self._keypoints(hidden, reference, lay.rhand_keypoints, hand_kp),
            pred_face_keypoints=self._keypoints(
                hidden, reference, lay.face_keypoints, h.pose_face_embed[self.part_stage_index]),
        )
        return out

    def smplx_parameters(self, hidden: Tensor) -> SmplxPrediction:
        h, lay, c, i = self.heads, self.layout, self.config, self.body_stage_index
        batch, groups = hidden.shape[0], c.num_group
        body = self._features(
            hidden, [lay.body_box, *lay.body_keypoints, lay.lhand_box, lay.rhand_box, lay.face_box]
        )
        # Each hand reads the body box, BOTH hand boxes and its own keypoints (official index
        # lists), the face reads the body box, the face box and the face keypoints.
        lhand = self._features(
            hidden, [lay.body_box, lay.lhand_box, *lay.lhand_keypoints, lay.rhand_box]
        )
        rhand = self._features(
            hidden, [lay.body_box, lay.lhand_box, lay.rhand_box, *lay.rhand_keypoints]
        )
        face = self._features(hidden, [lay.body_box, lay.face_box, *lay.face_keypoints])
        return SmplxPrediction(
            body_pose=_rotations(h.smpl_pose_embed[i](body), batch, groups, c.body_model_joint_num),
            lhand_pose=_rotations(h.smpl_hand_pose_embed[i](lhand), batch, groups, 15),
            rhand_pose=_rotations(h.smpl_hand_pose_embed[i](rhand), batch, groups, 15),
            jaw_pose=_rotations(h.smpl_jaw_embed[i](face), batch, groups, 1),
            expression=h.smpl_expr_embed[i](face),
            betas=h.smpl_beta_embed[i](body),
            camera=h.smpl_cam_embed[i](body),
        )


class FinalLayerReadout(WholeBodyStageReadout):
    """The inference read-out: the whole-body heads of the last decoder layer."""

    def __init__(self, config: AiOSConfig, heads: PredictionHeads):
        super().__init__(config, heads, config.dec_layers - 1)


def stage_readout(
    config: AiOSConfig, heads: PredictionHeads, layer: int
) -> BodyStageReadout | WholeBodyStageReadout:
    """The read-out of a decoder layer past the box stage (those use ``box_stage_outputs``)."""
    if layer < config.num_box_decoder_layers:
        raise ValueError(f"layer {layer} is a box-stage layer (use box_stage_outputs)")
    if layer < config.num_hand_face_decoder_layers:
        return BodyStageReadout(config, heads, layer)
    return WholeBodyStageReadout(config, heads, layer)


def run_body_model(body_model: nn.Module, smplx: SmplxPrediction) -> tuple[Tensor, Tensor]:
    """Pose the SMPL-X mesh of every person -> joints (B, G, 144, 3), vertices (B, G, V, 3).

    No camera translation is applied (the official passes none; the model's own ``transl``
    parameter is added). The eyes get the axis-angle of an all-zero matrix, as in the official
    code, which is the zero rotation. Always computed in float32, also under autocast: the
    rotation conversions and the skinning lose too much in half precision (fp16 gives NaN).
    """
    with torch.autocast(smplx.betas.device.type, enabled=False):
        return _run_body_model_fp32(body_model, smplx)


def _run_body_model_fp32(body_model: nn.Module, smplx: SmplxPrediction) -> tuple[Tensor, Tensor]:
    smplx = SmplxPrediction(**{f.name: getattr(smplx, f.name).float() for f in fields(smplx)})
    batch, groups = smplx.betas.shape[:2]
    body_aa = matrix_to_axis_angle(smplx.body_pose)  # (B, G, 22, 3)
    eye_aa = matrix_to_axis_angle(torch.zeros_like(smplx.jaw_pose))
    posed = body_model(
        betas=smplx.betas.reshape(-1, smplx.betas.shape[-1]),
        global_orient=body_aa[:, :, 0].reshape(-1, 3).unsqueeze(1),
        body_pose=body_aa[:, :, 1:].reshape(-1, 21 * 3),
        left_hand_pose=matrix_to_axis_angle(smplx.lhand_pose).reshape(-1, 15 * 3),
        right_hand_pose=matrix_to_axis_angle(smplx.rhand_pose).reshape(-1, 15 * 3),
        jaw_pose=matrix_to_axis_angle(smplx.jaw_pose).reshape(-1, 3),
        leye_pose=eye_aa,
        reye_pose=eye_aa,
        expression=smplx.expression.reshape(-1, smplx.expression.shape[-1]),
    )
    return (
        posed.joints.reshape(batch, groups, -1, 3),
        posed.vertices.reshape(batch, groups, -1, 3),
    )
