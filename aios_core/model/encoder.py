"""Deformable transformer encoder: self-attention among all multi-scale feature tokens.

Matches the official ``TransformerEncoder`` with ``DeformableTransformerEncoderLayer`` as the AiOS
inference config builds it: post-norm layers, no final norm (pre_norm=False), no layer sharing or
layer dropout, and two_stage_type='standard' (so the encoder returns no intermediate tokens; query
selection happens after it, in the transformer).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from aios_core.model.deformable_attention import MultiScaleDeformableAttention
from aios_core.model.layers import activation_from_name, apply_by_rows


class DeformableEncoderLayer(nn.Module):
    """Deformable self-attention + feed-forward, each followed by residual add and LayerNorm."""

    def __init__(
        self,
        d_model: int = 256,
        d_ffn: int = 2048,
        dropout: float = 0.0,
        activation: str = "relu",
        n_levels: int = 4,
        n_heads: int = 8,
        n_points: int = 4,
    ):
        super().__init__()
        self.self_attn = MultiScaleDeformableAttention(d_model, n_levels, n_heads, n_points)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, d_ffn)
        self.activation = activation_from_name(activation)
        self.dropout2 = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ffn, d_model)
        self.dropout3 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(
        self,
        src: Tensor,
        pos: Tensor | None,
        reference_points: Tensor,
        spatial_shapes: Tensor,
        level_start_index: Tensor,
        padding_mask: Tensor | None = None,
    ) -> Tensor:
        """src, pos (B, S, C); reference_points (B, S, L, 2) -> (B, S, C)."""
        # Queries carry the position embedding, values do not.
        query = src if pos is None else src + pos
        attended = self.self_attn(
            query, reference_points, src, spatial_shapes, level_start_index, padding_mask
        )
        src = self.norm1(src + self.dropout1(attended))
        return apply_by_rows(self._feed_forward, src)

    def _feed_forward(self, src: Tensor) -> Tensor:
        """FFN, residual and LayerNorm: row-wise. (..., C) -> (..., C)."""
        hidden = self.linear2(self.dropout2(self.activation(self.linear1(src))))
        return self.norm2(src + self.dropout3(hidden))


def encoder_reference_points(spatial_shapes: Tensor, valid_ratios: Tensor) -> Tensor:
    """Pixel centres of every token as reference points for every level.

    spatial_shapes (L, 2) as (H, W); valid_ratios (B, L, 2) as (w, h) fractions of each level that
    are not padding -> (B, S, L, 2) as (x, y).

    Each token's centre is normalised by its own level's valid extent, then rescaled by the valid
    ratio of every level, so it lands on the same relative spot of the valid image in all levels.
    The division and multiplication are kept separate (not simplified) to follow the official
    floating-point arithmetic.
    """
    device = valid_ratios.device
    per_level = []
    for level, (height, width) in enumerate(spatial_shapes.tolist()):
        centers_y, centers_x = torch.meshgrid(
            torch.linspace(0.5, height - 0.5, height, dtype=torch.float32, device=device),
            torch.linspace(0.5, width - 0.5, width, dtype=torch.float32, device=device),
            indexing="ij",
        )
        ref_y = centers_y.reshape(-1)[None] / (valid_ratios[:, None, level, 1] * height)
        ref_x = centers_x.reshape(-1)[None] / (valid_ratios[:, None, level, 0] * width)
        per_level.append(torch.stack((ref_x, ref_y), -1))  # (B, H*W, 2)
    reference_points = torch.cat(per_level, 1)  # (B, S, 2)
    return reference_points[:, :, None] * valid_ratios[:, None]  # (B, S, L, 2)


class DeformableEncoder(nn.Module):
    """``num_layers`` independent ``DeformableEncoderLayer``s, keys ``layers.{i}.*``."""

    def __init__(
        self,
        d_model: int = 256,
        d_ffn: int = 2048,
        dropout: float = 0.0,
        activation: str = "relu",
        n_levels: int = 4,
        n_heads: int = 8,
        n_points: int = 4,
        num_layers: int = 6,
    ):
        super().__init__()
        self.d_model = d_model
        self.layers = nn.ModuleList(
            DeformableEncoderLayer(d_model, d_ffn, dropout, activation, n_levels, n_heads, n_points)
            for _ in range(num_layers)
        )

    def forward(
        self,
        src: Tensor,
        pos: Tensor,
        spatial_shapes: Tensor,
        level_start_index: Tensor,
        valid_ratios: Tensor,
        padding_mask: Tensor | None = None,
    ) -> Tensor:
        """src (B, S, C) flattened levels; pos (B, S, C) with the level embedding already added;
        spatial_shapes (L, 2); level_start_index (L,); valid_ratios (B, L, 2) as (w, h);
        padding_mask (B, S) True on padding -> memory (B, S, C)."""
        reference_points = encoder_reference_points(spatial_shapes, valid_ratios)
        output = src
        for layer in self.layers:
            output = layer(
                output, pos, reference_points, spatial_shapes, level_start_index, padding_mask
            )
        return output


def valid_ratios_from_masks(masks: Sequence[Tensor]) -> Tensor:
    """Per level (B, h, w) padding masks -> (B, L, 2) valid fraction as (w, h).

    Valid extent is read off the first column (height) and first row (width), as in the official
    ``get_valid_ratio``: padding is assumed to sit at the bottom/right.
    """
    ratios = []
    for mask in masks:
        _, height, width = mask.shape
        valid_h = torch.sum(~mask[:, :, 0], 1)
        valid_w = torch.sum(~mask[:, 0, :], 1)
        ratios.append(torch.stack([valid_w.float() / width, valid_h.float() / height], -1))
    return torch.stack(ratios, 1)
