"""The decoder's per-person self-attention computed group by group instead of through a dense mask.

From the body stage on, a token attends to the tokens of its own person (group) and a box
token also to the box tokens of every other person (``query_layout.group_attention_mask``).
With 100 groups of 39 tokens the dense form scores and soft-maxes 8 x 3900 x 3900 pairs
(half a gigabyte per layer in float32) of which 2.4% are allowed. Here only the allowed pairs
are scored: each group's T x T block, plus one (G S) x (G S) block of box tokens against box
tokens (S box slots per group; the own-group entries there are already in the T x T block and
are blocked).

The operations are those of ``torch.nn.MultiheadAttention``'s explicit path (the same input
projections, the same 1/sqrt(d) scaling, softmax, output projection); only the dot products and
sums run over the allowed keys instead of over all keys with zeros for the blocked ones, which
orders the sums differently: outputs move by float rounding (about 1e-7 relative), not more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aios_core.model.query_layout import group_attention_mask


@dataclass(frozen=True)
class GroupAttentionPattern:
    """Which tokens may attend to which, kept as structure: groups of consecutive tokens."""

    num_groups: int
    tokens_per_group: int
    box_slots: tuple[int, ...]

    def dense_mask(self, device: torch.device) -> Tensor:
        """The same pattern as an (N, N) bool mask, True = blocked (MultiheadAttention's form)."""
        return group_attention_mask(
            self.num_groups, self.tokens_per_group, list(self.box_slots), device
        )


def grouped_self_attention(
    attention: nn.MultiheadAttention, query_key: Tensor, value: Tensor,
    pattern: GroupAttentionPattern,
) -> Tensor:
    """``attention(query_key, query_key, value, attn_mask=pattern.dense_mask(...))[0]`` for an
    eval-time MultiheadAttention (sequence-first, no dropout), scoring only allowed pairs.

    query_key, value (N, B, C) with N = num_groups * tokens_per_group -> (N, B, C).
    """
    num_tokens, batch, channels = value.shape
    groups, tokens = pattern.num_groups, pattern.tokens_per_group
    if num_tokens != groups * tokens:
        raise ValueError(f"{num_tokens} tokens do not form {groups} groups of {tokens}")
    heads = attention.num_heads
    head_dim = channels // heads
    boxes = list(pattern.box_slots)
    num_boxes = len(boxes)

    # MultiheadAttention's projections when query is key but not value: three linears.
    w_q, w_k, w_v = attention.in_proj_weight.chunk(3)
    b_q, b_k, b_v = attention.in_proj_bias.chunk(3)

    def per_group(x: Tensor) -> Tensor:  # (N, B, C) -> (B * heads, G, T, head_dim)
        x = x.reshape(num_tokens, batch * heads, head_dim).transpose(0, 1)
        return x.reshape(batch * heads, groups, tokens, head_dim)

    q = per_group(F.linear(query_key, w_q, b_q))
    k = per_group(F.linear(query_key, w_k, b_k))
    v = per_group(F.linear(value, w_v, b_v))
    q = q * math.sqrt(1.0 / float(head_dim))

    scores = q @ k.transpose(-2, -1)  # (BH, G, T, T)
    output = torch.softmax(scores, dim=-1) @ v  # (BH, G, T, head_dim)
    if num_boxes:
        bh = batch * heads
        box_q = q[:, :, boxes].reshape(bh, groups * num_boxes, head_dim)
        box_k = k[:, :, boxes].reshape(bh, groups * num_boxes, head_dim)
        box_v = v[:, :, boxes].reshape(bh, groups * num_boxes, head_dim)
        across = box_q @ box_k.transpose(-2, -1)  # (BH, G S, G S)
        group_of = torch.arange(groups * num_boxes, device=value.device) // num_boxes
        across = across.masked_fill(group_of[:, None] == group_of[None, :], float("-inf"))
        # A box token's softmax runs over its own group's T keys and the other groups' boxes.
        own = scores[:, :, boxes].reshape(bh, groups * num_boxes, tokens)
        box_weights = torch.softmax(torch.cat([own, across.to(own.dtype)], dim=-1), dim=-1)
        own_weights, across_weights = box_weights.split([tokens, groups * num_boxes], dim=-1)
        box_output = (own_weights.reshape(bh, groups, num_boxes, tokens) @ v).reshape(
            bh, groups * num_boxes, head_dim) + across_weights @ box_v
        output[:, :, boxes] = box_output.reshape(bh, groups, num_boxes, head_dim).to(output.dtype)

    # (BH, G, T, head_dim) -> (N * B, C), heads outermost in the channels as in torch.
    output = output.reshape(batch * heads, num_tokens, head_dim).transpose(0, 1)
    output = output.reshape(num_tokens * batch, channels)
    output = F.linear(output, attention.out_proj.weight, attention.out_proj.bias)
    return output.view(num_tokens, batch, channels)
