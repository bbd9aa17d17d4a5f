"""Deformable encoder: reference points, valid ratios, layout and padding behaviour."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from aios_core.model.encoder import (
    DeformableEncoder,
    encoder_reference_points,
    valid_ratios_from_masks,
)

STATE_DICT_TSV = Path(__file__).parent / "data" / "aios_state_dict.tsv"
SMALL = dict(d_model=32, d_ffn=64, n_levels=2, n_heads=4, n_points=2, num_layers=2)


def small_encoder() -> DeformableEncoder:
    torch.manual_seed(0)
    encoder = DeformableEncoder(**SMALL)
    with torch.no_grad():
        for layer in encoder.layers:
            # Random offsets/weights so sampling reaches across the map, beyond the initial ring.
            layer.self_attn.sampling_offsets.weight.normal_(0.0, 0.3)
            layer.self_attn.attention_weights.weight.normal_(0.0, 0.3)
    return encoder.eval()


def flatten_levels(maps: list[torch.Tensor]) -> torch.Tensor:
    """[(B, C, H, W)] -> (B, sum HW, C)."""
    return torch.cat([m.flatten(2).transpose(1, 2) for m in maps], 1)


def layout(shapes):
    spatial_shapes = torch.tensor(shapes, dtype=torch.long)
    sizes = spatial_shapes.prod(1)
    return spatial_shapes, torch.cat([sizes.new_zeros(1), sizes.cumsum(0)[:-1]])


def test_reference_points_are_pixel_centres_without_padding():
    shapes = torch.tensor([[2, 3], [1, 2]])
    ratios = torch.ones(1, 2, 2)
    ref = encoder_reference_points(shapes, ratios)
    assert ref.shape == (1, 8, 2, 2)
    expected = [(0.5 / 3, 0.25), (1.5 / 3, 0.25), (2.5 / 3, 0.25)]
    expected += [(0.5 / 3, 0.75), (1.5 / 3, 0.75), (2.5 / 3, 0.75), (0.25, 0.5), (0.75, 0.5)]
    expected = torch.tensor(expected)
    torch.testing.assert_close(ref[0, :, 0], expected)
    torch.testing.assert_close(ref[0, :, 1], expected)


def test_reference_points_with_padding_use_the_valid_extent():
    shapes = torch.tensor([[4, 4], [2, 2]])
    # Image valid in the left half and the top three quarters (level 0) / half (level 1).
    ratios = torch.tensor([[[0.5, 0.75], [0.5, 0.5]]])
    ref = encoder_reference_points(shapes, ratios)
    # Token (row 0, col 1) of level 0: centre (1.5, 0.5) over the valid 2 x 3 pixels gives
    # (0.75, 1/6) of the valid image, then that fraction of each level's valid part.
    torch.testing.assert_close(ref[0, 1, 0], torch.tensor([0.75 * 0.5, 0.5 / 3 * 0.75]))
    torch.testing.assert_close(ref[0, 1, 1], torch.tensor([0.75 * 0.5, 0.5 / 3 * 0.5]))


def test_valid_ratios_from_masks():
    mask = torch.zeros(2, 4, 5, dtype=torch.bool)
    mask[1, 3:, :] = True
    mask[1, :, 2:] = True
    ratios = valid_ratios_from_masks([mask, mask[:, :2, :2]])
    assert ratios.shape == (2, 2, 2)
    torch.testing.assert_close(ratios[0], torch.ones(2, 2))
    torch.testing.assert_close(ratios[1], torch.tensor([[2 / 5, 3 / 4], [1.0, 1.0]]))


def test_state_dict_layout_matches_official_names():
    encoder = DeformableEncoder(**SMALL)
    keys = set(encoder.state_dict())
    per_layer = {
        "self_attn.sampling_offsets.weight",
        "self_attn.sampling_offsets.bias",
        "self_attn.attention_weights.weight",
        "self_attn.attention_weights.bias",
        "self_attn.value_proj.weight",
        "self_attn.value_proj.bias",
        "self_attn.output_proj.weight",
        "self_attn.output_proj.bias",
        "norm1.weight",
        "norm1.bias",
        "linear1.weight",
        "linear1.bias",
        "linear2.weight",
        "linear2.bias",
        "norm2.weight",
        "norm2.bias",
    }
    assert keys == {f"layers.{i}.{name}" for i in range(2) for name in per_layer}


@pytest.mark.skipif(
    not STATE_DICT_TSV.exists(), reason="tests/data/aios_state_dict.tsv not generated yet"
)
def test_keys_and_shapes_equal_official_checkpoint():
    prefix = "transformer.encoder."
    expected = {}
    for line in STATE_DICT_TSV.read_text().splitlines():
        columns = line.split("\t")
        if len(columns) >= 2 and columns[0].startswith(prefix):
            shape = tuple(int(n) for n in re.findall(r"\d+", columns[1]))
            expected[columns[0][len(prefix) :]] = shape
    got = {k: tuple(v.shape) for k, v in DeformableEncoder().state_dict().items()}
    assert got == expected


def random_inputs(batch: int, shapes, generator):
    maps = [torch.randn(batch, 32, h, w, generator=generator) for h, w in shapes]
    pos = [torch.randn(batch, 32, h, w, generator=generator) for h, w in shapes]
    return maps, pos


def test_output_shape_and_padded_content_is_ignored():
    encoder = small_encoder()
    shapes = [(5, 8), (3, 4)]
    spatial_shapes, starts = layout(shapes)
    generator = torch.Generator().manual_seed(0)
    maps, pos = random_inputs(2, shapes, generator)
    masks = [torch.zeros(2, h, w, dtype=torch.bool) for h, w in shapes]
    masks[0][1, 4:, :] = True
    masks[0][1, :, 6:] = True
    masks[1][1, 2:, :] = True
    masks[1][1, :, 3:] = True
    padding = flatten_levels([m[:, None].float() for m in masks])[..., 0].bool()
    ratios = valid_ratios_from_masks(masks)
    src = flatten_levels(maps)
    with torch.no_grad():
        memory = encoder(src, flatten_levels(pos), spatial_shapes, starts, ratios, padding)
        altered = torch.where(padding[..., None], torch.randn_like(src) * 10, src)
        memory_altered = encoder(
            altered, flatten_levels(pos), spatial_shapes, starts, ratios, padding
        )
    assert memory.shape == src.shape
    valid = ~padding
    torch.testing.assert_close(memory_altered[valid], memory[valid], atol=0, rtol=0)
    # Padding tokens are still computed (as queries); only their value contribution is removed.
    assert (memory_altered[padding] - memory[padding]).abs().max() > 1e-3


def test_padding_the_maps_does_not_change_valid_tokens():
    """Right/bottom padding changes no valid token: reference points follow the valid extent,
    offsets are in pixels, and padded values are zeroed like samples outside the map."""
    encoder = small_encoder()
    generator = torch.Generator().manual_seed(1)
    valid_shapes = [(4, 6), (2, 3)]
    padded_shapes = [(5, 8), (3, 4)]
    maps, pos = random_inputs(1, valid_shapes, generator)

    spatial_shapes, starts = layout(valid_shapes)
    plain_ratios = torch.ones(1, 2, 2)
    with torch.no_grad():
        plain = encoder(
            flatten_levels(maps),
            flatten_levels(pos),
            spatial_shapes,
            starts,
            plain_ratios,
            torch.zeros(1, 30, dtype=torch.bool),
        )

    padded_maps, padded_pos, masks = [], [], []
    for (h, w), (ph, pw), m, p in zip(valid_shapes, padded_shapes, maps, pos, strict=True):
        big = torch.randn(1, 32, ph, pw, generator=generator)
        big[..., :h, :w] = m
        big_pos = torch.randn(1, 32, ph, pw, generator=generator)
        big_pos[..., :h, :w] = p
        mask = torch.ones(1, ph, pw, dtype=torch.bool)
        mask[:, :h, :w] = False
        padded_maps.append(big)
        padded_pos.append(big_pos)
        masks.append(mask)
    spatial_shapes, starts = layout(padded_shapes)
    padding = flatten_levels([m[:, None].float() for m in masks])[..., 0].bool()
    with torch.no_grad():
        padded = encoder(
            flatten_levels(padded_maps),
            flatten_levels(padded_pos),
            spatial_shapes,
            starts,
            valid_ratios_from_masks(masks),
            padding,
        )
    # Rounding differs (coordinates are divided and re-multiplied by the valid ratios).
    torch.testing.assert_close(padded[~padding].view(1, 30, 32), plain, atol=1e-4, rtol=1e-4)
