"""Sine/cosine embedding of normalised anchor positions (x, y[, w, h]) for the decoder queries."""

from __future__ import annotations

import math

import torch
from torch import Tensor

# The official code fixes the frequency base at 10000 and the angle scale at 2*pi.
_TEMPERATURE = 10000
_SCALE = 2 * math.pi


def _embed_coordinate(values: Tensor, frequencies: Tensor) -> Tensor:
    """(..., ) in [0, 1] -> (..., n): sin on even channels, cos on odd channels, interleaved."""
    angles = (values * _SCALE)[..., None] / frequencies
    return torch.stack((angles[..., 0::2].sin(), angles[..., 1::2].cos()), dim=-1).flatten(-2)


def sine_embed_positions(positions: Tensor, feats_per_coord: int = 128) -> Tensor:
    """(Q, B, 2 | 4) anchors -> (Q, B, 2 | 4 * feats_per_coord), channel blocks ordered y, x, w, h.

    Same formula as the official gen_sineembed_for_position (which fixes feats_per_coord at 128,
    i.e. hidden_dim // 2 for the released 256-wide model).
    """
    index = torch.arange(feats_per_coord, dtype=torch.float32, device=positions.device)
    frequencies = _TEMPERATURE ** (2 * (index // 2) / feats_per_coord)
    embed_x = _embed_coordinate(positions[..., 0], frequencies)
    embed_y = _embed_coordinate(positions[..., 1], frequencies)
    if positions.shape[-1] == 2:
        return torch.cat((embed_y, embed_x), dim=-1)
    if positions.shape[-1] == 4:
        embed_w = _embed_coordinate(positions[..., 2], frequencies)
        embed_h = _embed_coordinate(positions[..., 3], frequencies)
        return torch.cat((embed_y, embed_x, embed_w, embed_h), dim=-1)
    raise ValueError(f"positions must end in 2 or 4 coordinates, got {positions.shape[-1]}")
