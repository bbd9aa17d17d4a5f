"""The training forward of AiOS: every decoder layer's predictions, the encoder proposals' and
the denoising queries' (official ``AiOSSMPLX.forward`` in train mode).

Output (a plain dict, so DDP can find its tensors)::

    "layers":  list of dec_layers dicts (official key names), the last = final layer;
               layer l holds pred_logits / pred_boxes (all stages) and, from the body stage on,
               pred_{lhand,rhand,face}_boxes, pred_keypoints, pred_smpl_* (see
               ``aios_core.model.readout``); from the whole-body stage on also
               pred_{lhand,rhand,face}_keypoints. SMPL-X joints are in the 137-keypoint
               training order (the official training body model converts to 'smplx_137').
    "interm":  {"pred_logits" (B, Q, K), "pred_boxes" (B, Q, 4)} of the selected encoder tokens.
    "dn":      list of dec_layers dicts {"pred_logits" (B, D, K), "pred_boxes" (B, D, 4)};
               empty without denoising.
    "dn_labels" (B, D) long, "dn_boxes" (B, D, 4): the clean targets of the denoising queries
               (only with denoising).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from aios_core.body.keypoints import select_smplx_137
from aios_core.data.image_targets import ImageTargets
from aios_core.model.network import AiOS
from aios_core.model.readout import (
    BodyStageReadout,
    SmplxPrediction,
    box_stage_outputs,
    run_body_model,
    stage_readout,
)
from aios_core.training.denoising import DenoisingConfig, build_denoising_queries


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


def _without_hands_and_expression(smplx: SmplxPrediction) -> SmplxPrediction:
    """The official poses a body-stage mesh with identity hand poses and zero expression."""
    eye = torch.eye(3, dtype=smplx.lhand_pose.dtype, device=smplx.lhand_pose.device)
    return SmplxPrediction(
        body_pose=smplx.body_pose, lhand_pose=eye.expand_as(smplx.lhand_pose),
        rhand_pose=eye.expand_as(smplx.rhand_pose), jaw_pose=smplx.jaw_pose,
        expression=torch.zeros_like(smplx.expression), betas=smplx.betas, camera=smplx.camera)


class TrainingForward(nn.Module):
    """Wraps an ``AiOS`` network (its only submodule, ``.network``) for training.

    Denoising queries are added while ``self.training`` is True and ``denoising`` is not None
    (the official trains with them; its eval forward has none).
    """

    def __init__(self, network: AiOS, denoising: DenoisingConfig | None = None):
        super().__init__()
        self.network = network
        self.denoising = DenoisingConfig() if denoising is None else denoising
        c = network.config
        heads = network.readout.heads
        self._readouts = {layer: stage_readout(c, heads, layer)
                          for layer in range(c.num_box_decoder_layers, c.dec_layers)}

    def forward(
        self, images: Tensor, padding_mask: Tensor, targets: list[ImageTargets]
    ) -> dict:
        """images (B, 3, H, W), padding_mask (B, H, W) True on padding, B targets."""
        net, c = self.network, self.network.config
        features, masks, positions = net.project_features(images, padding_mask)
        dn = None
        if self.training and self.denoising is not None and self.denoising.dn_number > 0:
            dn = build_denoising_queries(targets, net.label_enc, c, self.denoising)
        transformer_out = net.transformer(
            features, masks, positions, None if dn is None else dn.queries
        )
        decoded = transformer_out.decoder
        d = decoded.num_denoising

        layers, dn_layers = [], []
        heads = net.readout.heads
        for layer, hidden in enumerate(decoded.hidden_states):
            reference = decoded.references[layer]  # the layer's input boxes
            if layer < c.num_box_decoder_layers:
                layers.append(box_stage_outputs(heads, layer, hidden[:, d:], reference[:, d:]))
            else:
                layers.append(self._layer_outputs(layer, hidden[:, d:], reference[:, d:]))
            if d:
                dn_layers.append(box_stage_outputs(heads, layer, hidden[:, :d], reference[:, :d]))

        outputs: dict = {
            "layers": layers,
            "interm": {
                # The official scores the selected encoder tokens again, with gradient.
                "pred_logits": net.transformer.enc_out_class_embed(transformer_out.encoder_queries),
                "pred_boxes": transformer_out.encoder_boxes,
            },
            "dn": dn_layers,
        }
        if dn is not None:
            outputs["dn_labels"] = dn.labels
            outputs["dn_boxes"] = dn.boxes
        return outputs

    def _layer_outputs(self, layer: int, hidden: Tensor, reference: Tensor) -> dict[str, Tensor]:
        """Detections and SMPL-X of one layer past the box stage (queries without DN)."""
        readout = self._readouts[layer]
        out = readout.detections(hidden, reference)
        smplx = readout.smplx_parameters(hidden)
        posed = (_without_hands_and_expression(smplx) if isinstance(readout, BodyStageReadout)
                 else smplx)
        joints, _ = run_body_model(self.network.body_model, posed)
        out.update(_smplx_outputs(smplx, joints))
        return out
