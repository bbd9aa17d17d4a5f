"""Decoder stage arithmetic: spawning part tokens, refining boxes, keeping the best persons."""

from __future__ import annotations

import torch
from torch import nn

from aios_core.model.decoder_stages import (
    PartUpdate,
    refine_boxes,
    select_top_groups,
    spawn_part_tokens,
)


def _logit(x: torch.Tensor) -> torch.Tensor:
    return torch.log(x / (1 - x))


class ConstantHead(nn.Module):
    """Predicts the same offset for every token (easy to check by hand)."""

    def __init__(self, offset: list[float]):
        super().__init__()
        self.register_buffer("offset", torch.tensor(offset))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.offset.expand(*tokens.shape[:-1], -1)


def test_spawned_tokens_sit_around_their_parent():
    parents = torch.randn(2, 3, 4)  # (G, B, C)
    boxes = torch.tensor([[0.5, 0.5, 0.2, 0.4], [0.3, 0.6, 0.1, 0.1], [0.2, 0.2, 0.5, 0.5]])
    boxes = boxes.unsqueeze(0).repeat(2, 1, 1)  # (G, B, 4)
    embed = nn.Embedding(5, 4)
    size_logits = nn.Embedding(5, 2)
    content, spawned = spawn_part_tokens(parents, boxes, embed, ConstantHead([0.3, -0.2]),
                                         size_logits)
    assert content.shape == (2, 5, 3, 4) and spawned.shape == (2, 5, 3, 4)
    torch.testing.assert_close(content[1, 2, 0], parents[1, 0] + embed.weight[2])
    centre = torch.sigmoid(_logit(boxes[0, 1, :2]) + torch.tensor([0.3, -0.2]))
    torch.testing.assert_close(spawned[0, 4, 1, :2], centre)
    size = torch.sigmoid(size_logits.weight[4]) * boxes[0, 1, 2:]
    torch.testing.assert_close(spawned[0, 4, 1, 2:], size)


def test_refine_moves_each_part_with_its_heads():
    reference = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.4, 0.3, 0.1, 0.1], [0.6, 0.7, 0.3, 0.2]])
    reference = reference[:, None]  # (N=3, B=1, 4)
    output = torch.zeros(3, 1, 8)
    updates = [
        PartUpdate(slice(0, None, 3), ConstantHead([0.1, 0.2, 0.3, 0.4])),
        PartUpdate(torch.tensor([1, 2]), ConstantHead([1.0, -1.0, 9.0]), ConstantHead([0.5, 0.5])),
    ]
    refined = refine_boxes(reference, output, updates)
    expected_box = torch.sigmoid(_logit(reference[0, 0]) + torch.tensor([0.1, 0.2, 0.3, 0.4]))
    torch.testing.assert_close(refined[0, 0], expected_box)
    # Only the first two outputs of the centre head count; the size head moves (w, h).
    expected_part = torch.sigmoid(_logit(reference[1:, 0]) + torch.tensor([1.0, -1.0, 0.5, 0.5]))
    torch.testing.assert_close(refined[1:, 0], expected_part)


def test_select_top_groups_keeps_the_best_per_image():
    logits = torch.tensor([[[0.1, 0.0], [0.9, 0.0]], [[0.0, 0.5], [0.2, 0.0]],
                           [[0.3, 0.3], [0.0, 0.1]]])  # (Q=3, B=2, K=2)
    output = torch.arange(12.0).view(3, 2, 2)
    boxes = torch.arange(24.0).view(3, 2, 4)
    kept_output, kept_boxes = select_top_groups(logits, output, boxes, 2)
    # image 0 ranks queries 1, 2, 0; image 1 ranks 0, 1, 2
    assert torch.equal(kept_output[:, 0], output[[1, 2], 0])
    assert torch.equal(kept_output[:, 1], output[[0, 1], 1])
    assert torch.equal(kept_boxes[:, 1], boxes[[0, 1], 1])
