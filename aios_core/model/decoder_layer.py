"""One decoder layer: query self-attention, deformable cross-attention into the memory, FFN."""

from __future__ import annotations

from torch import Tensor, nn

from aios_core.model.deformable_attention import MultiScaleDeformableAttention
from aios_core.model.group_attention import GroupAttentionPattern, grouped_self_attention
from aios_core.model.layers import activation_from_name, apply_by_rows


class DeformableDecoderLayer(nn.Module):
    """Post-norm layer (self-attn -> cross-attn -> FFN) on sequence-first queries (Q, B, C).

    Parameter names follow the official DeformableTransformerDecoderLayer: ``self_attn`` (a
    torch MultiheadAttention) + ``norm2``, ``cross_attn`` + ``norm1``, ``linear1/2`` + ``norm3``.
    """

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
        self.cross_attn = MultiScaleDeformableAttention(d_model, n_levels, n_heads, n_points)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)

        self.self_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model)

        self.linear1 = nn.Linear(d_model, d_ffn)
        self.activation = activation_from_name(activation)
        self.dropout3 = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ffn, d_model)
        self.dropout4 = nn.Dropout(dropout)
        self.norm3 = nn.LayerNorm(d_model)

    def forward(
        self,
        queries: Tensor,
        query_pos: Tensor,
        reference_points: Tensor,
        memory: Tensor,
        memory_padding_mask: Tensor | None,
        spatial_shapes: Tensor,
        level_start_index: Tensor,
        self_attn_mask: Tensor | GroupAttentionPattern | None = None,
    ) -> Tensor:
        """queries, query_pos (Q, B, C); reference_points (Q, B, L, 4) scaled by valid ratios;
        memory (B, S, C); memory_padding_mask (B, S) or None; self_attn_mask (Q, Q) or
        (B*heads, Q, Q) bool, True = blocked, or the per-person pattern it encodes -> (Q, B, C)."""
        with_pos = queries + query_pos
        if isinstance(self_attn_mask, GroupAttentionPattern):
            attended = grouped_self_attention(self.self_attn, with_pos, queries, self_attn_mask)
        else:
            # need_weights stays at its default (True): that is the official call, and it
            # selects the explicit-softmax attention path rather than the fused kernel.
            attended = self.self_attn(with_pos, with_pos, queries, attn_mask=self_attn_mask)[0]
        queries = self.norm2(queries + self.dropout2(attended))

        attended = self.cross_attn(
            (queries + query_pos).transpose(0, 1),
            reference_points.transpose(0, 1).contiguous(),
            memory,
            spatial_shapes,
            level_start_index,
            memory_padding_mask,
        ).transpose(0, 1)
        queries = self.norm1(queries + self.dropout1(attended))
        return apply_by_rows(self._feed_forward, queries)

    def _feed_forward(self, queries: Tensor) -> Tensor:
        """FFN, residual and LayerNorm: row-wise. (..., C) -> (..., C)."""
        hidden = self.linear2(self.dropout3(self.activation(self.linear1(queries))))
        return self.norm3(queries + self.dropout4(hidden))
