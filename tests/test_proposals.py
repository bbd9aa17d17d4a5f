"""Two-stage anchors from the encoder tokens and the top-k query selection."""

from __future__ import annotations

import math

import torch

from aios_core.model.proposals import encoder_anchor_proposals, select_top_queries


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_anchor_centres_sizes_and_invalid_tokens():
    # Level 0: 2 x 4 map whose last column is padding; level 1: 1 x 2, no padding.
    spatial_shapes = torch.tensor([[2, 4], [1, 2]])
    padding = torch.zeros(1, 10, dtype=torch.bool)
    padding[0, [3, 7]] = True
    memory = torch.ones(1, 10, 3)
    masked, anchors = encoder_anchor_proposals(memory, padding, spatial_shapes, base_wh=0.05)

    # Level 0, token (row 1, col 1): centre ((1 + .5) / 3 valid cols, (1 + .5) / 2 rows).
    expected = [_logit(1.5 / 3), _logit(1.5 / 2), _logit(0.05), _logit(0.05)]
    torch.testing.assert_close(anchors[0, 5], torch.tensor(expected))
    # Level 1 doubles the size.
    expected = [_logit(0.25), _logit(0.5), _logit(0.1), _logit(0.1)]
    torch.testing.assert_close(anchors[0, 8], torch.tensor(expected))
    # The padded column gets +inf anchors and zeroed memory; the rest stays valid.
    assert torch.isinf(anchors[0, 3]).all() and torch.isinf(anchors[0, 7]).all()
    assert masked[0, 3].abs().sum() == 0 and masked[0, 7].abs().sum() == 0
    assert torch.isfinite(anchors[0, [0, 1, 2, 4, 5, 6, 8, 9]]).all()
    assert torch.equal(masked[0, 0], memory[0, 0])


def test_anchor_outside_the_valid_band_is_invalid():
    # A 1 x 1 map: centre (0.5, 0.5) but a level-6 size 0.05 * 64 = 3.2 > 0.99.
    spatial_shapes = torch.tensor([[1, 1]] * 7)
    padding = torch.zeros(1, 7, dtype=torch.bool)
    masked, anchors = encoder_anchor_proposals(torch.ones(1, 7, 2), padding, spatial_shapes)
    assert torch.isfinite(anchors[0, :5]).all()  # 0.05 * 2**4 = 0.8 still valid
    assert torch.isinf(anchors[0, 5:]).all()
    assert masked[0, 5:].abs().sum() == 0


def test_select_top_queries_ranks_by_best_class():
    logits = torch.tensor([[[0.1, 0.0], [0.0, 0.9], [0.5, 0.2], [0.3, 0.4]]])
    boxes = torch.arange(16.0).view(1, 4, 4)
    content = torch.arange(8.0).view(1, 4, 2)
    anchors = torch.zeros(1, 4, 4)
    selected = select_top_queries(logits, boxes, content, anchors, k=2)
    assert selected.indices.tolist() == [[1, 2]]
    assert torch.equal(selected.boxes_unsigmoid[0], boxes[0, [1, 2]])
    assert torch.equal(selected.content[0], content[0, [1, 2]])
    torch.testing.assert_close(selected.anchors, torch.full((1, 2, 4), 0.5))
