"""Reference-box arithmetic of the decoder stages: spawning part tokens and refining them.

Everything here is sequence-first, (tokens, B, ...), like the decoder. Boxes are (cx, cy, w, h)
normalised to the valid image; "unsigmoid" means inverse-sigmoid (logit) space.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from aios_core.model.layers import inverse_sigmoid


def spawn_part_tokens(
    parent_content: Tensor,
    parent_boxes: Tensor,
    token_embed: nn.Embedding,
    offset_head: nn.Module,
    size_logits: nn.Embedding,
) -> tuple[Tensor, Tensor]:
    """Create ``n = token_embed.num_embeddings`` child tokens per parent token.

    parent_content (G, B, C), parent_boxes (G, B, 4) sigmoid space
    -> content (G, n, B, C) = parent + learned per-child embedding,
       boxes (G, n, B, 4): centre = parent centre moved by the head's (x, y) offset in logit
       space; size = sigmoid(learned per-child logits) * parent size.
    """
    num_parents, batch = parent_content.shape[0], parent_content.shape[1]
    content = parent_content[:, None, :, :] + token_embed.weight[None, :, None, :]
    delta_xy = offset_head(content)[..., :2]  # (G, n, B, 2)
    centre_xy = (inverse_sigmoid(parent_boxes[..., :2][:, None]) + delta_xy).sigmoid()
    size_ratio = size_logits.weight.unsqueeze(0).unsqueeze(-2).repeat(num_parents, 1, batch, 1)
    size_wh = size_ratio.sigmoid() * parent_boxes[..., 2:][:, None]
    return content, torch.cat((centre_xy, size_wh), dim=-1)


@dataclass
class PartUpdate:
    """How one kind of token moves its box in a refinement layer.

    ``centre_head`` gives the (x, y) logit offset (only its first two outputs are used);
    ``size_head`` gives the (w, h) logit offset. With ``size_head`` None, ``centre_head`` outputs
    a full 4-d (x, y, w, h) offset (the body box).
    """

    # Positions in the sequence: a strided slice for one slot per group (the official slices
    # these, and strided and gathered inputs can round differently in the heads), else indices.
    tokens: slice | Tensor
    centre_head: nn.Module
    size_head: nn.Module | None = None

    def select(self, x: Tensor) -> Tensor:
        return x[self.tokens] if isinstance(self.tokens, slice) else x.index_select(0, self.tokens)


def refine_boxes(reference_points: Tensor, output: Tensor, updates: list[PartUpdate]) -> Tensor:
    """New reference boxes (N, B, 4) = sigmoid(logit(old) + offsets predicted from ``output``).

    reference_points (N, B, 4) are this layer's input boxes, output (N, B, C) its output tokens.
    Every token must be covered by exactly one update.
    """
    unsigmoid = inverse_sigmoid(reference_points)
    refined = torch.empty_like(reference_points)
    for update in updates:
        tokens = update.select(output)
        old = update.select(unsigmoid)
        if update.size_head is None:
            new = update.centre_head(tokens) + old
        else:
            new = old.clone()
            new[..., :2] += update.centre_head(tokens)[..., :2]
            new[..., 2:] += update.size_head(tokens)
        # Sigmoid per part, on the same tensor shapes as the official code: vectorised math can
        # round the last bit differently depending on a tensor's length.
        refined[update.tokens] = new.sigmoid()
    return refined


def select_top_groups(
    class_logits: Tensor, output: Tensor, boxes: Tensor, num_groups: int
) -> tuple[Tensor, Tensor]:
    """Keep the num_groups queries with the highest best-class logit, per image.

    class_logits (Q, B, K), output (Q, B, C), boxes (Q, B, 4) -> (G, B, C), (G, B, 4), ranked.
    """
    top = torch.topk(class_logits.max(-1)[0], num_groups, dim=0)[1]  # (G, B)
    kept_boxes = torch.gather(boxes, 0, top.unsqueeze(-1).repeat(1, 1, 4))
    kept_output = torch.gather(output, 0, top.unsqueeze(-1).repeat(1, 1, output.shape[-1]))
    return kept_output, kept_boxes
