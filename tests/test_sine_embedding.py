"""Sine embedding of anchor boxes, checked channel by channel against the formula."""

from __future__ import annotations

import math

import pytest
import torch

from aios_core.model.sine_embedding import sine_embed_positions


def _channel(value: float, index: int, feats: int) -> float:
    angle = value * 2 * math.pi / 10000 ** (2 * (index // 2) / feats)
    return math.sin(angle) if index % 2 == 0 else math.cos(angle)


@pytest.mark.parametrize("coords", [2, 4])
def test_blocks_are_y_x_w_h_with_interleaved_sin_cos(coords):
    feats = 8
    positions = torch.rand(3, 2, coords, generator=torch.Generator().manual_seed(0))
    embedded = sine_embed_positions(positions, feats)
    assert embedded.shape == (3, 2, coords * feats)
    order = [1, 0, 2, 3][:coords]  # y first, then x, w, h
    for q in range(3):
        for b in range(2):
            expected = [
                _channel(float(positions[q, b, c]), i, feats) for c in order for i in range(feats)
            ]
            torch.testing.assert_close(embedded[q, b], torch.tensor(expected), atol=1e-5, rtol=0)


def test_default_width_is_128_per_coordinate():
    assert sine_embed_positions(torch.rand(5, 1, 4)).shape == (5, 1, 512)


def test_rejects_other_coordinate_counts():
    with pytest.raises(ValueError):
        sine_embed_positions(torch.rand(2, 1, 3))
