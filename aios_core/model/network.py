"""The AiOS network: image batch -> per-person detections, keypoints and posed SMPL-X meshes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn

from aios_core.body.embedded_smplx import NUM_OUTPUT_JOINTS, EmbeddedSMPLX
from aios_core.body.rotations import matrix_to_axis_angle_aios as matrix_to_axis_angle
from aios_core.model.backbone import build_backbone, resize_padding_mask
from aios_core.model.config import AiOSConfig
from aios_core.model.heads import build_prediction_heads
from aios_core.model.readout import FinalLayerReadout, SmplxPrediction, run_body_model
from aios_core.model.returned_queries import returned_people
from aios_core.model.transformer import DeformableTransformer

if TYPE_CHECKING:
    from aios_core.inference.predict import ImageResult

# Eval output keys of the official network, in its order.
OUTPUT_KEYS = (
    "pred_logits",
    "pred_boxes",
    "pred_lhand_boxes",
    "pred_rhand_boxes",
    "pred_face_boxes",
    "pred_keypoints",
    "pred_lhand_keypoints",
    "pred_rhand_keypoints",
    "pred_face_keypoints",
    "pred_smpl_pose",
    "pred_smpl_rhand_pose",
    "pred_smpl_lhand_pose",
    "pred_smpl_jaw_pose",
    "pred_smpl_expr",
    "pred_smpl_beta",
    "pred_smpl_cam",
    "pred_smpl_kp3d",
    "pred_smpl_verts",
    "pred_smpl_fullpose",
)


def _input_projections(backbone_channels: list[int], config: AiOSConfig) -> nn.ModuleList:
    """1x1 conv + GroupNorm per backbone level, then stride-2 3x3 convs for the extra levels."""
    d = config.hidden_dim
    projections = [
        nn.Sequential(nn.Conv2d(channels, d, kernel_size=1), nn.GroupNorm(32, d))
        for channels in backbone_channels
    ]
    in_channels = backbone_channels[-1]
    for _ in range(config.num_feature_levels - len(backbone_channels)):
        projections.append(
            nn.Sequential(
                nn.Conv2d(in_channels, d, kernel_size=3, stride=2, padding=1),
                nn.GroupNorm(32, d),
            )
        )
        in_channels = d
    for projection in projections:
        nn.init.xavier_uniform_(projection[0].weight, gain=1)
        nn.init.constant_(projection[0].bias, 0)
    return nn.ModuleList(projections)


class AiOS(nn.Module):
    """ResNet-50 + deformable transformer + whole-body decoder + SMPL-X (official AiOSSMPLX).

    State-dict keys equal the official checkpoint's ``model`` entry, including the duplicated
    head keys under ``transformer.decoder.*`` and the SMPL-X tensors under ``body_model.*``.
    """

    def __init__(self, config: AiOSConfig | None = None):
        super().__init__()
        self.config = config = config or AiOSConfig()
        # Registration order follows the official network (it fixes the state-dict order).
        self.transformer = DeformableTransformer(config)
        # Label embedding of the denoising queries (training only; kept for the checkpoint).
        self.label_enc = nn.Embedding(config.dn_labelbook_size + 1, config.hidden_dim)
        self.body_model = EmbeddedSMPLX(config.num_betas, config.num_expression_coeffs)
        backbone = build_backbone(
            config.hidden_dim,
            config.pe_temperature_h,
            config.pe_temperature_w,
            config.return_interm_indices,
        )
        self.input_proj = _input_projections(backbone.num_channels, config)
        self.backbone = backbone
        heads = build_prediction_heads(config)
        for name, head_list in heads.network_heads():
            setattr(self, name, head_list)
        self.transformer.attach_heads(heads)
        self.readout = FinalLayerReadout(config, heads)

    def project_features(
        self, images: Tensor, padding_mask: Tensor
    ) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
        """Backbone levels projected to hidden_dim, plus the extra strided levels.

        -> per level: features (B, C, h, w), padding masks (B, h, w), position maps (B, C, h, w).
        """
        features, masks, positions = self.backbone(images, padding_mask)
        projected = [proj(f) for proj, f in zip(self.input_proj, features, strict=False)]
        for level in range(len(features), self.config.num_feature_levels):
            # The first extra level reads the last raw backbone map, later ones the previous
            # projected level; masks are resized from the full-resolution padding mask.
            source = features[-1] if level == len(features) else projected[-1]
            feature = self.input_proj[level](source)
            mask = resize_padding_mask(padding_mask, feature.shape[-2:])
            projected.append(feature)
            masks.append(mask)
            positions.append(self.backbone[1](mask).to(feature.dtype))
        return projected, masks, positions

    def forward(
        self, images: Tensor, padding_mask: Tensor, posed_score_threshold: float | None = None
    ) -> dict[str, Tensor]:
        """images (B, 3, H, W) normalised RGB; padding_mask (B, H, W) bool, True on padding.

        Returns, for the G = num_group persons of the final decoder layer (unsorted):
        pred_logits (B, G, K); pred_boxes / pred_{l,r}hand_boxes / pred_face_boxes (B, G, 4) as
        normalised (cx, cy, w, h); pred_keypoints (B, G, 3 * 17) and pred_{l,r}hand_keypoints /
        pred_face_keypoints (B, G, 3 * 6) as [x, y pairs..., visibilities...]; pred_smpl_pose
        (B, G, 22, 3, 3), pred_smpl_{l,r}hand_pose (B, G, 15, 3, 3), pred_smpl_jaw_pose
        (B, G, 1, 3, 3) rotation matrices; pred_smpl_expr, pred_smpl_beta (B, G, 10);
        pred_smpl_cam (B, G, 3); pred_smpl_kp3d (B, G, 144, 3); pred_smpl_verts
        (B, G, 10475, 3); pred_smpl_fullpose (B, G, 159) axis-angle of the 53 joints.

        posed_score_threshold: inference only. When given, the SMPL-X mesh is posed only for
        the people inference returns (the post-processor's top ``config.num_select`` scores at
        or above the threshold); the other people's pred_smpl_kp3d and pred_smpl_verts are 0.
        """
        features, masks, positions = self.project_features(images, padding_mask)
        decoded = self.transformer(features, masks, positions).decoder
        hidden = decoded.hidden_states[-1]  # (B, G * T, C)
        reference = decoded.references[-2]  # (B, G * T, 4): the last layer's input boxes

        outputs = self.readout.detections(hidden, reference)
        smplx = self.readout.smplx_parameters(hidden)
        if posed_score_threshold is None:
            joints, vertices = run_body_model(self.body_model, smplx)
        else:
            posed = returned_people(
                outputs["pred_logits"], self.config.num_select, posed_score_threshold
            )
            joints, vertices = self._pose_some(smplx, posed)
        batch, groups = smplx.betas.shape[:2]
        full_pose = torch.cat(
            (smplx.body_pose, smplx.lhand_pose, smplx.rhand_pose, smplx.jaw_pose), dim=2
        )
        outputs.update(
            pred_smpl_pose=smplx.body_pose,
            pred_smpl_rhand_pose=smplx.rhand_pose,
            pred_smpl_lhand_pose=smplx.lhand_pose,
            pred_smpl_jaw_pose=smplx.jaw_pose,
            pred_smpl_expr=smplx.expression,
            pred_smpl_beta=smplx.betas,
            pred_smpl_cam=smplx.camera,
            pred_smpl_kp3d=joints,
            pred_smpl_verts=vertices,
            pred_smpl_fullpose=matrix_to_axis_angle(full_pose).reshape(batch, groups, -1),
        )
        return {key: outputs[key] for key in OUTPUT_KEYS}

    def _pose_some(self, smplx: SmplxPrediction, posed: Tensor) -> tuple[Tensor, Tensor]:
        """Joints (B, G, 144, 3) and vertices (B, G, V, 3) of the people where ``posed`` (B, G)
        is True, zeros elsewhere: posing every query costs ~1 s per image on a CPU."""
        batch, groups = posed.shape
        num_vertices = self.body_model.v_template.shape[0]
        device = smplx.betas.device
        joints = torch.zeros(batch, groups, NUM_OUTPUT_JOINTS, 3, device=device)
        vertices = torch.zeros(batch, groups, num_vertices, 3, device=device)
        if posed.any():
            chosen = SmplxPrediction(
                **{f.name: getattr(smplx, f.name)[posed][None] for f in fields(smplx)}
            )  # (1, M, ...)
            chosen_joints, chosen_vertices = run_body_model(self.body_model, chosen)
            joints[posed] = chosen_joints[0]
            vertices[posed] = chosen_vertices[0]
        return joints, vertices

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike,
        device: str | torch.device = "cpu",
        config: AiOSConfig | None = None,
    ) -> AiOS:
        """Build the architecture the checkpoint records (``config`` if given; the released
        one for files without a record, such as the official checkpoint), load it strictly,
        move it to ``device``."""
        from aios_core.model.checkpoint import load_stored_into, read_checkpoint

        stored = read_checkpoint(path)
        model = cls(config or stored.model_config)
        load_stored_into(model, stored)
        return model.to(device).eval()

    def predict(
        self, images: Sequence[np.ndarray | Tensor], threshold: float | None = None
    ) -> list[ImageResult]:
        """People in each image (original pixels); see ``aios_core.inference.predict``."""
        from aios_core.inference.predict import predict_images

        return predict_images(self, images, threshold)
