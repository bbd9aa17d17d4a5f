"""Per-person decoder self-attention computed group by group equals the dense masked form."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aios_core.model.decoder_layer import DeformableDecoderLayer
from aios_core.model.group_attention import GroupAttentionPattern, grouped_self_attention
from aios_core.model.query_layout import group_attention_mask

CPU = torch.device("cpu")


def dense(attention: nn.MultiheadAttention, x: torch.Tensor, y: torch.Tensor,
          pattern: GroupAttentionPattern) -> torch.Tensor:
    return attention(x, x, y, attn_mask=pattern.dense_mask(CPU))[0]


@pytest.mark.parametrize("groups, tokens, boxes, batch", [
    (100, 39, (0, 18, 25, 32), 1),  # the released whole-body stage
    (100, 21, (0, 18, 19, 20), 2),  # the released body stage, two images
    (3, 5, (0,), 1),
    (4, 6, (), 1),  # no box slots: groups only see themselves
])
def test_grouped_attention_equals_the_dense_mask_to_rounding(groups, tokens, boxes, batch):
    torch.manual_seed(0)
    attention = nn.MultiheadAttention(64, 8).eval()
    pattern = GroupAttentionPattern(groups, tokens, boxes)
    x = torch.randn(groups * tokens, batch, 64)
    y = torch.randn(groups * tokens, batch, 64)
    with torch.no_grad():
        expected = dense(attention, x, y, pattern)
        got = grouped_self_attention(attention, x, y, pattern)
    assert got.shape == expected.shape == (groups * tokens, batch, 64)
    # Only the order of the sums differs (float32 rounding, ~1e-7 at these magnitudes).
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)


def test_a_token_sees_exactly_its_group_and_box_tokens_see_all_boxes():
    """Perturb one token's value and watch which outputs move."""
    torch.manual_seed(1)
    attention = nn.MultiheadAttention(16, 2).eval()
    pattern = GroupAttentionPattern(3, 4, (0,))
    x = torch.randn(12, 1, 16)
    y = torch.randn(12, 1, 16)
    with torch.no_grad():
        before = grouped_self_attention(attention, x, y, pattern)
        moved_keypoint = y.clone()
        moved_keypoint[5] += 10.0  # group 1, slot 1 (not a box)
        after = grouped_self_attention(attention, x, moved_keypoint, pattern)
        changed = (after - before).abs().amax(dim=(1, 2)) > 1e-6
        assert changed.nonzero().flatten().tolist() == [4, 5, 6, 7]
        moved_box = y.clone()
        moved_box[8] += 10.0  # group 2's box token
        after = grouped_self_attention(attention, x, moved_box, pattern)
        changed = (after - before).abs().amax(dim=(1, 2)) > 1e-6
        assert changed.nonzero().flatten().tolist() == [0, 4, 8, 9, 10, 11]


def test_dense_mask_of_a_pattern_is_the_query_layout_mask():
    pattern = GroupAttentionPattern(4, 39, (0, 18, 25, 32))
    assert torch.equal(pattern.dense_mask(CPU),
                       group_attention_mask(4, 39, [0, 18, 25, 32], CPU))


def test_token_count_that_is_not_whole_groups_is_refused():
    attention = nn.MultiheadAttention(16, 2).eval()
    x = torch.randn(10, 1, 16)
    with pytest.raises(ValueError, match="do not form 3 groups of 4"):
        grouped_self_attention(attention, x, x, GroupAttentionPattern(3, 4, (0,)))


def test_decoder_layer_takes_a_pattern_or_a_mask_alike():
    torch.manual_seed(2)
    layer = DeformableDecoderLayer(d_model=32, d_ffn=64, n_levels=1, n_heads=4, n_points=2).eval()
    pattern = GroupAttentionPattern(5, 3, (0,))
    queries = torch.randn(15, 1, 32)
    query_pos = torch.randn(15, 1, 32)
    reference = torch.rand(15, 1, 1, 4)
    memory = torch.randn(1, 12, 32)
    shapes = torch.tensor([[3, 4]])
    starts = torch.tensor([0])
    padding = torch.zeros(1, 12, dtype=torch.bool)
    with torch.no_grad():
        with_mask = layer(queries, query_pos, reference, memory, padding, shapes, starts,
                          pattern.dense_mask(CPU))
        with_pattern = layer(queries, query_pos, reference, memory, padding, shapes, starts,
                             pattern)
    torch.testing.assert_close(with_pattern, with_mask, atol=1e-6, rtol=1e-5)


def test_gradients_equal_those_of_the_dense_mask():
    torch.manual_seed(3)
    attention = nn.MultiheadAttention(16, 2)
    pattern = GroupAttentionPattern(4, 5, (0, 3))
    x = torch.randn(20, 2, 16, requires_grad=True)
    y = torch.randn(20, 2, 16, requires_grad=True)
    dense(attention, x, y, pattern).square().sum().backward()
    expected = [t.grad.clone() for t in (x, y, attention.in_proj_weight)]
    for t in (x, y, attention.in_proj_weight):
        t.grad = None
    grouped_self_attention(attention, x, y, pattern).square().sum().backward()
    for got, want in zip((x.grad, y.grad, attention.in_proj_weight.grad), expected, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
