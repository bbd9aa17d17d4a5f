"""Two-stage query selection: one anchor box per encoder token, then the top-scoring tokens."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

# Anchors whose normalised coordinates leave (0.01, 0.99) are marked invalid (official bounds).
_VALID_LOW = 0.01
_VALID_HIGH = 0.99


def encoder_anchor_proposals(
    memory: Tensor, padding_mask: Tensor, spatial_shapes: Tensor, base_wh: float = 0.05
) -> tuple[Tensor, Tensor]:
    """Anchor box for every encoder token, and the memory with invalid tokens zeroed.

    memory (B, S, C), padding_mask (B, S) True on padding, spatial_shapes (L, 2) as (h, w).
    Returns masked memory (B, S, C) and anchors (B, S, 4) as logits of (cx, cy, w, h), +inf where
    the token is padding or the anchor falls outside the valid band. Centres are pixel centres
    divided by the valid (unpadded) size of the level; w = h = base_wh * 2**level.
    """
    batch = memory.shape[0]
    anchors_per_level = []
    start = 0
    for level, (height, width) in enumerate(spatial_shapes.tolist()):
        level_mask = padding_mask[:, start : start + height * width].view(batch, height, width)
        valid_h = (~level_mask[:, :, 0]).sum(1)  # (B,)
        valid_w = (~level_mask[:, 0, :]).sum(1)
        grid_y, grid_x = torch.meshgrid(
            torch.linspace(0, height - 1, height, dtype=torch.float32, device=memory.device),
            torch.linspace(0, width - 1, width, dtype=torch.float32, device=memory.device),
            indexing="ij",
        )
        grid = torch.stack((grid_x, grid_y), dim=-1)  # (h, w, 2)
        valid_size = torch.stack((valid_w, valid_h), dim=-1).view(batch, 1, 1, 2)
        centres = (grid.unsqueeze(0).expand(batch, -1, -1, -1) + 0.5) / valid_size
        sizes = torch.ones_like(centres) * base_wh * (2.0**level)
        anchors_per_level.append(torch.cat((centres, sizes), dim=-1).view(batch, -1, 4))
        start += height * width

    anchors = torch.cat(anchors_per_level, dim=1)  # (B, S, 4) in [0, 1]-ish
    inside = ((anchors > _VALID_LOW) & (anchors < _VALID_HIGH)).all(-1, keepdim=True)
    anchor_logits = torch.log(anchors / (1 - anchors))
    anchor_logits = anchor_logits.masked_fill(padding_mask.unsqueeze(-1), float("inf"))
    anchor_logits = anchor_logits.masked_fill(~inside, float("inf"))

    masked_memory = memory.masked_fill(padding_mask.unsqueeze(-1), 0.0)
    masked_memory = masked_memory.masked_fill(~inside, 0.0)
    return masked_memory, anchor_logits


@dataclass
class SelectedQueries:
    """The num_queries encoder tokens chosen to start the decoder."""

    indices: Tensor  # (B, Q) token indices into the flattened memory
    boxes_unsigmoid: Tensor  # (B, Q, 4) refined anchor logits (head delta + anchor), not detached
    content: Tensor  # (B, Q, C) selected (normalised) encoder memory, not detached
    anchors: Tensor  # (B, Q, 4) the chosen raw anchors, sigmoid applied


def select_top_queries(
    class_logits: Tensor, boxes_unsigmoid: Tensor, content: Tensor, anchor_logits: Tensor, k: int
) -> SelectedQueries:
    """Keep the k tokens with the highest best-class logit (B, S, ...) -> (B, k, ...)."""
    indices = torch.topk(class_logits.max(-1)[0], k, dim=1)[1]  # (B, k)
    gather_box = indices.unsqueeze(-1).repeat(1, 1, 4)
    return SelectedQueries(
        indices=indices,
        boxes_unsigmoid=torch.gather(boxes_unsigmoid, 1, gather_box),
        content=torch.gather(content, 1, indices.unsqueeze(-1).repeat(1, 1, content.shape[-1])),
        anchors=torch.gather(anchor_logits, 1, gather_box).sigmoid(),
    )
