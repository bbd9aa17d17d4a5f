"""Sine position encoding of feature maps, with separate temperatures for rows and columns."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

# Added to the per-row/column valid length before normalising (official value).
_NORMALIZE_EPS = 1e-6


class PositionEmbeddingSineHW(nn.Module):
    """Maps a padding mask (B, H, W) to sine/cosine embeddings (B, 2 * num_pos_feats, H, W).

    Positions count valid pixels only (a cumulative sum over the non-padded mask), so padding at the
    right/bottom leaves the embedding of valid pixels unchanged. Channels are [y-part, x-part], each
    interleaving sin (even frequencies) and cos (odd frequencies).
    """

    def __init__(
        self,
        num_pos_feats: int = 128,
        temperature_h: float = 20,
        temperature_w: float = 20,
        normalize: bool = True,
        scale: float | None = None,
    ):
        super().__init__()
        if scale is not None and not normalize:
            raise ValueError("a scale only makes sense with normalize=True")
        self.num_pos_feats = num_pos_feats
        self.temperature_h = temperature_h
        self.temperature_w = temperature_w
        self.normalize = normalize
        self.scale = 2 * math.pi if scale is None else scale

    def _frequencies(self, temperature: float, device: torch.device) -> Tensor:
        # Pairs of channels (2k, 2k+1) share one frequency: temperature ** (2 * floor(i / 2) / n).
        index = torch.arange(self.num_pos_feats, dtype=torch.float32, device=device)
        return temperature ** (2 * (index // 2) / self.num_pos_feats)

    @staticmethod
    def _interleave_sin_cos(angles: Tensor) -> Tensor:
        # (B, H, W, n) -> (B, H, W, n): sin of even channels and cos of odd channels, alternating.
        return torch.stack((angles[..., 0::2].sin(), angles[..., 1::2].cos()), dim=4).flatten(3)

    def forward(self, mask: Tensor) -> Tensor:
        """mask: (B, H, W) bool, True on padding -> (B, 2 * num_pos_feats, H, W) float32."""
        not_mask = ~mask
        y_embed = not_mask.cumsum(1, dtype=torch.float32)  # (B, H, W) row index among valid rows
        x_embed = not_mask.cumsum(2, dtype=torch.float32)
        if self.normalize:
            y_embed = y_embed / (y_embed[:, -1:, :] + _NORMALIZE_EPS) * self.scale
            x_embed = x_embed / (x_embed[:, :, -1:] + _NORMALIZE_EPS) * self.scale

        pos_x = x_embed[..., None] / self._frequencies(self.temperature_w, mask.device)
        pos_y = y_embed[..., None] / self._frequencies(self.temperature_h, mask.device)
        pos = torch.cat((self._interleave_sin_cos(pos_y), self._interleave_sin_cos(pos_x)), dim=3)
        return pos.permute(0, 3, 1, 2)  # (B, 2 * num_pos_feats, H, W)
