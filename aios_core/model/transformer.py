"""Deformable encoder, two-stage query selection, whole-body decoder (official ``Transformer``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from aios_core.model.config import AiOSConfig
from aios_core.model.decoder import DecoderOutput, DenoisingQueries, WholeBodyDecoder
from aios_core.model.deformable_attention import MultiScaleDeformableAttention
from aios_core.model.encoder import DeformableEncoder, valid_ratios_from_masks
from aios_core.model.heads import PredictionHeads
from aios_core.model.proposals import encoder_anchor_proposals, select_top_queries


def _padding_for_attention(padding_mask: Tensor) -> Tensor | None:
    """The (B, S) padding mask the deformable attention should zero values by; None when a CPU
    mask pads nothing (zeroing no value changes no result). On an accelerator the mask is kept:
    asking it would make the host wait for the backbone."""
    if padding_mask.device.type == "cpu" and not bool(padding_mask.any()):
        return None
    return padding_mask


@dataclass
class TransformerOutput:
    decoder: DecoderOutput
    encoder_queries: Tensor  # (B, Q, C) selected encoder tokens (official hs_enc[-1])
    encoder_boxes: Tensor  # (B, Q, 4) their refined boxes, sigmoid (official ref_enc[-1])
    initial_anchors: Tensor  # (B, Q, 4) their raw anchors, sigmoid (official init_box_proposal)


@dataclass
class FlattenedLevels:
    """Feature levels flattened into one token sequence (level after level, row-major)."""

    tokens: Tensor  # (B, S, C)
    padding_mask: Tensor  # (B, S) True on padding
    pos: Tensor  # (B, S, C) position + level embedding
    spatial_shapes: Tensor  # (L, 2) long, (h, w)
    level_start_index: Tensor  # (L,)
    valid_ratios: Tensor  # (B, L, 2) as (w, h)


class DeformableTransformer(nn.Module):
    """Keys: level_embed, encoder.*, decoder.*, enc_output(_norm), enc_out_{bbox,class}_embed."""

    def __init__(self, config: AiOSConfig):
        super().__init__()
        c = config
        self.config = config
        self.d_model = c.hidden_dim
        self.num_decoder_layers = c.dec_layers
        self.encoder = DeformableEncoder(
            c.hidden_dim,
            c.dim_feedforward,
            c.dropout,
            c.transformer_activation,
            c.num_feature_levels,
            c.nheads,
            c.enc_n_points,
            c.enc_layers,
        )
        self.decoder = WholeBodyDecoder(config)
        self.level_embed = nn.Parameter(torch.empty(c.num_feature_levels, c.hidden_dim))
        # Projection of the encoder memory before scoring two-stage proposals.
        self.enc_output = nn.Linear(c.hidden_dim, c.hidden_dim)
        self.enc_output_norm = nn.LayerNorm(c.hidden_dim)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # Official order: xavier on every matrix, then the deformable-attention init, then the
        # level embedding; heads are attached afterwards and keep their own init.
        for parameter in self.parameters():
            if parameter.dim() > 1:
                nn.init.xavier_uniform_(parameter)
        for module in self.modules():
            if isinstance(module, MultiScaleDeformableAttention):
                module.reset_parameters()
        nn.init.normal_(self.level_embed)

    def attach_heads(self, heads: PredictionHeads) -> None:
        """Mount the two-stage encoder heads and the decoder's head lists."""
        self.decoder.attach_heads(heads)
        self.enc_out_bbox_embed = heads.enc_out_bbox_embed
        self.enc_out_class_embed = heads.enc_out_class_embed

    def flatten_levels(
        self, features: list[Tensor], masks: list[Tensor], positions: list[Tensor]
    ) -> FlattenedLevels:
        """Per level (B, C, h, w), (B, h, w), (B, C, h, w) -> one sequence of all tokens."""
        tokens, padding, pos = [], [], []
        levels = zip(features, masks, positions, strict=True)
        for level, (feature, mask, position) in enumerate(levels):
            tokens.append(feature.flatten(2).transpose(1, 2))
            padding.append(mask.flatten(1))
            pos.append(position.flatten(2).transpose(1, 2) + self.level_embed[level].view(1, 1, -1))
        spatial_shapes = torch.as_tensor(
            [f.shape[-2:] for f in features], dtype=torch.long, device=features[0].device
        )
        level_start_index = torch.cat(
            (spatial_shapes.new_zeros((1,)), spatial_shapes.prod(1).cumsum(0)[:-1])
        )
        return FlattenedLevels(
            tokens=torch.cat(tokens, 1),
            padding_mask=torch.cat(padding, 1),
            pos=torch.cat(pos, 1),
            spatial_shapes=spatial_shapes,
            level_start_index=level_start_index,
            valid_ratios=valid_ratios_from_masks(masks),
        )

    def forward(
        self,
        features: list[Tensor],
        masks: list[Tensor],
        positions: list[Tensor],
        denoising: DenoisingQueries | None = None,
    ) -> TransformerOutput:
        """Projected features (B, C, h, w), padding masks (B, h, w) and position embeddings
        (B, C, h, w) per level -> decoder states and the two-stage selection. ``denoising``
        (training only) queries go in front of the selected ones, as in the official code."""
        levels = self.flatten_levels(features, masks, positions)
        if levels.tokens.shape[1] < self.config.num_queries:
            raise ValueError(
                f"input too small: {levels.tokens.shape[1]} feature tokens for "
                f"{self.config.num_queries} queries (the released model needs about 210 x 210 "
                "pixels or more)"
            )
        attention_padding = _padding_for_attention(levels.padding_mask)
        memory = self.encoder(
            levels.tokens,
            levels.pos,
            levels.spatial_shapes,
            levels.level_start_index,
            levels.valid_ratios,
            attention_padding,
        )  # (B, S, C)

        masked_memory, anchor_logits = encoder_anchor_proposals(
            memory, levels.padding_mask, levels.spatial_shapes, self.config.proposal_base_wh
        )
        content = self.enc_output_norm(self.enc_output(masked_memory))  # (B, S, C)
        class_logits = self.enc_out_class_embed(content)  # (B, S, K)
        boxes_unsigmoid = self.enc_out_bbox_embed(content) + anchor_logits  # (B, S, 4)
        selected = select_top_queries(
            class_logits, boxes_unsigmoid, content, anchor_logits, self.config.num_queries
        )

        # Selected queries start the decoder; like the official, no gradient flows back into the
        # selection through them.
        queries = selected.content.detach()
        boxes_unsigmoid = selected.boxes_unsigmoid.detach()
        if denoising is not None:
            queries = torch.cat((denoising.content, queries), dim=1)
            boxes_unsigmoid = torch.cat((denoising.boxes_unsigmoid, boxes_unsigmoid), dim=1)
        decoded = self.decoder(
            queries.transpose(0, 1),
            boxes_unsigmoid.transpose(0, 1),
            memory,
            attention_padding,
            levels.spatial_shapes,
            levels.level_start_index,
            levels.valid_ratios,
            denoising,
        )
        return TransformerOutput(
            decoder=decoded,
            encoder_queries=selected.content,
            encoder_boxes=selected.boxes_unsigmoid.sigmoid(),
            initial_anchors=selected.anchors,
        )
