"""Sine position encoding against a hand computation."""

from __future__ import annotations

import math

import torch

from aios_core.model.position_encoding import PositionEmbeddingSineHW


def hand_encoding(mask: list[list[bool]], feats: int, t_h: float, t_w: float) -> torch.Tensor:
    """Per pixel: [sin y/f0, cos y/f0, sin y/f1, ...] then the same for x, f_k = T^(2k / feats).

    y counts valid pixels from the top of the pixel's column up to it, divided by the column's
    valid total (likewise x along the row), times 2 pi.
    """
    scale, eps = 2 * math.pi, 1e-6
    height, width = len(mask), len(mask[0])
    out = torch.zeros(2 * feats, height, width, dtype=torch.float64)
    for i in range(height):
        for j in range(width):
            column = [not mask[r][j] for r in range(height)]
            row = [not mask[i][c] for c in range(width)]
            y = sum(column[: i + 1]) / (sum(column) + eps) * scale
            x = sum(row[: j + 1]) / (sum(row) + eps) * scale
            for part, (coord, temperature) in enumerate(((y, t_h), (x, t_w))):
                for k in range(feats // 2):
                    angle = coord / temperature ** (2 * k / feats)
                    out[part * feats + 2 * k, i, j] = math.sin(angle)
                    out[part * feats + 2 * k + 1, i, j] = math.cos(angle)
    return out


def test_matches_hand_computation_on_2x3_mask_with_padding():
    mask = [[False, False, True], [False, False, True]]  # last column is padding
    encoding = PositionEmbeddingSineHW(num_pos_feats=4, temperature_h=20, temperature_w=10)
    got = encoding(torch.tensor([mask]))
    assert got.shape == (1, 8, 2, 3) and got.dtype == torch.float32
    expected = hand_encoding(mask, 4, 20, 10)
    torch.testing.assert_close(got[0].double(), expected, atol=1e-6, rtol=0)
    # Spot values: pixel (1, 0) has y = 2/2 * 2 pi, x = 1/2 * 2 pi; lowest frequency is 1.
    assert math.isclose(got[0, 0, 1, 0].item(), math.sin(2 * math.pi), abs_tol=1e-5)
    assert math.isclose(got[0, 4, 1, 0].item(), math.sin(math.pi), abs_tol=1e-5)
    assert math.isclose(got[0, 7, 1, 0].item(), math.cos(math.pi / 10 ** (2 / 4)), abs_tol=1e-6)


def test_unpadded_and_padded_images_agree_on_valid_pixels():
    encoding = PositionEmbeddingSineHW(num_pos_feats=8)
    plain = encoding(torch.zeros(1, 3, 4, dtype=torch.bool))
    torch.testing.assert_close(
        plain[0].double(), hand_encoding([[False] * 4] * 3, 8, 20, 20), atol=1e-6, rtol=0
    )
    padded_mask = torch.zeros(1, 5, 7, dtype=torch.bool)
    padded_mask[:, 3:, :] = True
    padded_mask[:, :, 4:] = True
    padded = encoding(padded_mask)
    torch.testing.assert_close(padded[..., :3, :4], plain)
