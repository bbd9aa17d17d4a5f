"""Multi-scale deformable attention against an explicit per-point bilinear reference."""

from __future__ import annotations

import math

import pytest
import torch

from aios_core.model import deformable_attention as da
from aios_core.model import deformable_sampling
from aios_core.model.deformable_attention import (
    MultiScaleDeformableAttention,
    multi_scale_deformable_attention,
)
from aios_core.model.deformable_sampling import ms_deform_attn_pytorch


def level_layout(shapes: list[tuple[int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    spatial_shapes = torch.tensor(shapes, dtype=torch.long)
    sizes = [h * w for h, w in shapes]
    starts = torch.tensor([sum(sizes[:i]) for i in range(len(sizes))], dtype=torch.long)
    return spatial_shapes, starts


def bilinear_zero_padded(level_map: torch.Tensor, x: float, y: float) -> torch.Tensor:
    """level_map (H, W, D); x, y in pixels with pixel centres at integers -> (D,)."""
    height, width, _ = level_map.shape
    x0, y0 = math.floor(x), math.floor(y)
    result = torch.zeros(level_map.shape[-1], dtype=torch.float64)
    for yi, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xi, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yi < height and 0 <= xi < width:
                result += wy * wx * level_map[yi, xi].double()
    return result


def naive_deformable_attention(value, shapes, starts, locations, weights) -> torch.Tensor:
    """Loop over every (batch, query, head, level, point); locations are normalised (x, y)."""
    batch, _, heads, head_dim = value.shape
    _, queries, _, levels, points, _ = locations.shape
    out = torch.zeros(batch, queries, heads * head_dim, dtype=torch.float64)
    for b in range(batch):
        for h in range(heads):
            maps = []
            for lvl in range(levels):
                height, width = shapes[lvl].tolist()
                start = int(starts[lvl])
                flat = value[b, start : start + height * width, h]
                maps.append(flat.reshape(height, width, head_dim))
            for q in range(queries):
                acc = torch.zeros(head_dim, dtype=torch.float64)
                for lvl in range(levels):
                    height, width = shapes[lvl].tolist()
                    for p in range(points):
                        loc_x, loc_y = locations[b, q, h, lvl, p].tolist()
                        # Pixel-centre convention: normalised 0 is the left edge of pixel 0.
                        sample = bilinear_zero_padded(
                            maps[lvl], loc_x * width - 0.5, loc_y * height - 0.5
                        )
                        acc += float(weights[b, q, h, lvl, p]) * sample
                out[b, q, h * head_dim : (h + 1) * head_dim] = acc
    return out


CASES = [
    # batch, level shapes, heads, head_dim, points, queries
    (1, [(3, 4)], 1, 2, 1, 5),
    (2, [(4, 6), (2, 3)], 2, 3, 2, 4),
    (2, [(5, 3), (3, 2), (2, 1)], 4, 2, 3, 3),
    (1, [(6, 7), (3, 4), (2, 2), (1, 1)], 3, 4, 4, 2),
]


@pytest.mark.parametrize("batch,shapes,heads,head_dim,points,queries", CASES)
def test_pytorch_core_matches_naive_bilinear(batch, shapes, heads, head_dim, points, queries):
    generator = torch.Generator().manual_seed(len(shapes) * 7 + heads)
    spatial_shapes, starts = level_layout(shapes)
    num_values = sum(h * w for h, w in shapes)
    levels = len(shapes)
    value = torch.randn(batch, num_values, heads, head_dim, generator=generator)
    # Reach beyond [0, 1] so that zero padding on every side is exercised.
    locations = torch.rand(batch, queries, heads, levels, points, 2, generator=generator)
    locations = locations * 1.6 - 0.3
    weights = torch.rand(batch, queries, heads, levels, points, generator=generator)

    expected = naive_deformable_attention(value, spatial_shapes, starts, locations, weights)
    got = ms_deform_attn_pytorch(value, spatial_shapes, starts, locations, weights)
    assert got.shape == (batch, queries, heads * head_dim)
    torch.testing.assert_close(got.double(), expected, atol=1e-5, rtol=0)
    dispatched = multi_scale_deformable_attention(value, spatial_shapes, starts, locations, weights)
    torch.testing.assert_close(dispatched, got, atol=0, rtol=0)


def test_samples_outside_the_map_read_zero():
    spatial_shapes, starts = level_layout([(2, 2)])
    value = torch.ones(1, 4, 1, 1)
    # (x, y) = (-0.5, 0.5): more than one pixel left of the map; (1.5, 0.5) right of it.
    locations = torch.tensor([[-0.5, 0.5], [1.5, 0.5], [0.5, 0.5]]).view(1, 3, 1, 1, 1, 2)
    weights = torch.ones(1, 3, 1, 1, 1)
    got = ms_deform_attn_pytorch(value, spatial_shapes, starts, locations, weights)
    torch.testing.assert_close(got.flatten(), torch.tensor([0.0, 0.0, 1.0]))


def test_kernel_is_only_used_for_cuda_tensors():
    calls = []

    def fake_kernel(*args):
        calls.append(args)
        raise AssertionError("a CPU call must not reach the kernel")

    spatial_shapes, starts = level_layout([(2, 3)])
    value = torch.randn(1, 6, 2, 2)
    locations = torch.rand(1, 4, 2, 1, 2, 2)
    weights = torch.rand(1, 4, 2, 1, 2)
    da.register_kernel(fake_kernel)
    try:
        assert da.registered_kernel() is fake_kernel
        got = multi_scale_deformable_attention(value, spatial_shapes, starts, locations, weights)
    finally:
        da.register_kernel(None)
    assert not calls
    torch.testing.assert_close(
        got, ms_deform_attn_pytorch(value, spatial_shapes, starts, locations, weights)
    )
    assert da.registered_kernel() is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_registered_kernel_handles_cuda_tensors():
    spatial_shapes, starts = level_layout([(2, 3)])
    args = (
        torch.randn(1, 6, 2, 2).cuda(),
        spatial_shapes.cuda(),
        starts.cuda(),
        torch.rand(1, 4, 2, 1, 2, 2).cuda(),
        torch.rand(1, 4, 2, 1, 2).cuda(),
    )
    sentinel = torch.zeros(1, 4, 4, device="cuda")
    da.register_kernel(lambda *_: sentinel)
    try:
        assert multi_scale_deformable_attention(*args) is sentinel
    finally:
        da.register_kernel(None)


def randomized_attention(
    embed_dim=16, levels=2, heads=2, points=3
) -> MultiScaleDeformableAttention:
    torch.manual_seed(0)
    module = MultiScaleDeformableAttention(embed_dim, levels, heads, points)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0.0, 0.5)
    return module.eval()


def expected_module_output(module, query, reference_points, value_input, shapes, starts, mask):
    """The module's arithmetic spelled out, sampled with the naive reference."""
    batch, queries, _ = query.shape
    heads, levels, points = module.num_heads, module.num_levels, module.num_points
    value = module.value_proj(value_input)
    if mask is not None:
        value = torch.where(mask[..., None], torch.zeros_like(value), value)
    value = value.view(batch, value_input.shape[1], heads, -1)
    offsets = module.sampling_offsets(query).view(batch, queries, heads, levels, points, 2)
    logits = module.attention_weights(query).view(batch, queries, heads, levels * points)
    weights = logits.softmax(-1).view(batch, queries, heads, levels, points)
    if reference_points.shape[-1] == 2:
        level_wh = shapes.flip(-1).float()  # (L, 2) as (W, H)
        locations = reference_points[:, :, None, :, None] + offsets / level_wh[:, None]
    else:
        centers = reference_points[:, :, None, :, None, :2]
        half_sizes = reference_points[:, :, None, :, None, 2:] / 2
        locations = centers + offsets / points * half_sizes
    sampled = naive_deformable_attention(value, shapes, starts, locations, weights)
    return module.output_proj(sampled.float())


@pytest.mark.parametrize("ref_dim", [2, 4])
def test_module_matches_spelled_out_arithmetic(ref_dim):
    module = randomized_attention()
    shapes, starts = level_layout([(3, 5), (2, 2)])
    generator = torch.Generator().manual_seed(1)
    query = torch.randn(2, 4, 16, generator=generator)
    value_input = torch.randn(2, 19, 16, generator=generator)
    reference_points = torch.rand(2, 4, 2, ref_dim, generator=generator)
    mask = torch.zeros(2, 19, dtype=torch.bool)
    mask[1, 3:5] = True
    with torch.no_grad():
        got = module(query, reference_points, value_input, shapes, starts, mask)
        expected = expected_module_output(
            module, query, reference_points, value_input, shapes, starts, mask
        )
    assert got.shape == (2, 4, 16)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("ref_dim", [2, 4])
def test_masked_values_have_no_influence(ref_dim):
    module = randomized_attention()
    shapes, starts = level_layout([(4, 4), (2, 2)])
    query = torch.randn(1, 6, 16)
    value_input = torch.randn(1, 20, 16)
    reference_points = torch.rand(1, 6, 2, ref_dim)
    mask = torch.zeros(1, 20, dtype=torch.bool)
    mask[0, 5:11] = True
    mask[0, 16:] = True
    altered = value_input.clone()
    altered[mask] = torch.randn(int(mask.sum()), 16) * 100
    with torch.no_grad():
        reference = module(query, reference_points, value_input, shapes, starts, mask)
        masked = module(query, reference_points, altered, shapes, starts, mask)
        unmasked = module(query, reference_points, altered, shapes, starts, None)
    torch.testing.assert_close(masked, reference, atol=0, rtol=0)
    assert (unmasked - reference).abs().max() > 1e-2  # the altered tokens are actually sampled


def test_initial_offsets_form_a_ring_and_weights_are_uniform():
    module = MultiScaleDeformableAttention(embed_dim=32, num_levels=2, num_heads=8, num_points=3)
    assert not module.sampling_offsets.weight.any()
    bias = module.sampling_offsets.bias.view(8, 2, 3, 2)
    # Head 0 points along +x, head 1 along the diagonal, head 2 along +y; point p at p + 1.
    torch.testing.assert_close(bias[0, 1, 2], torch.tensor([3.0, 0.0]))
    torch.testing.assert_close(bias[1, 0, 1], torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(bias[2, 0, 0], torch.tensor([0.0, 1.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(bias[4, 1, 0], torch.tensor([-1.0, 0.0]), atol=1e-6, rtol=0)
    assert not module.attention_weights.weight.any() and not module.attention_weights.bias.any()
    assert not module.value_proj.bias.any() and not module.output_proj.bias.any()


def test_parameter_names_match_official_layout():
    module = MultiScaleDeformableAttention(256, 4, 8, 4)
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    assert shapes == {
        "sampling_offsets.weight": (256, 256),
        "sampling_offsets.bias": (256,),
        "attention_weights.weight": (128, 256),
        "attention_weights.bias": (128,),
        "value_proj.weight": (256, 256),
        "value_proj.bias": (256,),
        "output_proj.weight": (256, 256),
        "output_proj.bias": (256,),
    }


def test_chunked_cpu_sampling_changes_no_bit(monkeypatch):
    """Query chunking on the CPU is a speed measure only: every output bit stays the same."""
    from cuda_ops.self_check import AttentionShape, random_inputs

    shape = AttentionShape(batch=2, queries=301, heads=4, head_dim=8,
                           level_hw=((16, 20), (8, 10), (4, 5)), points=4)
    inputs = random_inputs(shape, "cpu", torch.float32)
    monkeypatch.setattr(deformable_sampling, "CPU_CHUNK_BYTES", 2**40)  # one chunk
    whole = ms_deform_attn_pytorch(*inputs)
    seven_queries = 7 * 2 * 4 * 8 * 3 * 4 * 4  # bytes of 7 queries' samples
    monkeypatch.setattr(deformable_sampling, "CPU_CHUNK_BYTES", seven_queries)
    chunked = ms_deform_attn_pytorch(*inputs)
    assert torch.equal(whole, chunked)


def _official_layout_inputs(batch: int, queries: int, seed: int):
    """The released layout (4 levels, 4 points, 8 heads of 32) on small maps; some samples
    fall outside the maps, weights are a softmax as in the module."""
    generator = torch.Generator().manual_seed(seed)
    spatial_shapes, starts = level_layout([(20, 27), (10, 14), (5, 7), (3, 4)])
    num_values = int((spatial_shapes[:, 0] * spatial_shapes[:, 1]).sum())
    value = torch.randn(batch, num_values, 8, 32, generator=generator)
    locations = torch.rand(batch, queries, 8, 4, 4, 2, generator=generator) * 1.2 - 0.1
    weights = torch.randn(batch, queries, 8, 16, generator=generator).softmax(-1)
    return value, spatial_shapes, starts, locations, weights.view(batch, queries, 8, 4, 4)


@pytest.mark.parametrize("batch", [1, 2])
def test_fused_cpu_kernel_equals_the_grid_sample_path_bit_for_bit(batch):
    from aios_core.model.cpu.deformable_sampling import ms_deform_attn_cpu, summation_lanes

    value, shapes, starts, locations, weights = _official_layout_inputs(batch, 700, seed=batch)
    lanes = summation_lanes(4, 4, 8, 32)
    assert lanes is not None  # the released layout must get the fast path
    expected = ms_deform_attn_pytorch(value, shapes, starts, locations, weights)
    got = ms_deform_attn_cpu(value, shapes, locations, weights, lanes)
    assert torch.equal(got, expected)
    with torch.no_grad():
        assert torch.equal(multi_scale_deformable_attention(value, shapes, starts, locations,
                                                            weights), expected)


def test_fused_cpu_kernel_is_not_used_when_autograd_needs_the_graph():
    value, shapes, starts, locations, weights = _official_layout_inputs(1, 50, seed=3)
    value.requires_grad_(True)
    out = multi_scale_deformable_attention(value, shapes, starts, locations, weights)
    out.sum().backward()
    assert value.grad is not None and value.grad.abs().sum() > 0


def test_fused_cpu_kernel_samples_bfloat16_values_in_float32():
    from aios_core.model.cpu.deformable_sampling import ms_deform_attn_cpu

    value, shapes, starts, locations, weights = _official_layout_inputs(1, 200, seed=4)
    value = value.bfloat16()
    got = ms_deform_attn_cpu(value, shapes, locations, weights.bfloat16(), lanes=8)
    assert got.dtype == torch.bfloat16
    expected = ms_deform_attn_pytorch(value.float(), shapes, starts, locations,
                                      weights.bfloat16().float())
    torch.testing.assert_close(got.float(), expected, atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_encoder_sampling_locations_are_the_broadcast_formula_bit_for_bit(dtype):
    """The row layout of sampling_locations does the official ref + offsets / (W, H) exactly."""
    module = MultiScaleDeformableAttention(32, num_levels=3, num_heads=4, num_points=2)
    shapes, _ = level_layout([(7, 9), (4, 5), (2, 3)])
    generator = torch.Generator().manual_seed(3)
    reference = torch.rand(2, 11, 3, 2, generator=generator)
    offsets = (torch.randn(2, 11, 4, 3, 2, 2, generator=generator) * 5).to(dtype)
    normalizer = torch.stack([shapes[..., 1], shapes[..., 0]], -1)
    expected = reference[:, :, None, :, None, :] + offsets / normalizer[None, None, None, :, None]
    got = module.sampling_locations(reference, offsets, shapes)
    assert got.dtype == expected.dtype
    assert torch.equal(got, expected)


def test_first_use_self_check_falls_back_when_the_kernel_sums_otherwise(monkeypatch):
    # A machine whose torch sums in another order than any lane width the kernel offers: the
    # self-check finds no match and the network keeps the grid_sample path, with its bits.
    from aios_core.model.cpu import deformable_sampling as deformable_sampling_cpu

    exact_kernel = deformable_sampling_cpu.ms_deform_attn_cpu

    def kernel_one_ulp_off(*arguments):
        out = exact_kernel(*arguments)
        return torch.nextafter(out, torch.full_like(out, float("inf")))

    monkeypatch.setattr(deformable_sampling_cpu, "ms_deform_attn_cpu", kernel_one_ulp_off)
    deformable_sampling_cpu.summation_lanes.cache_clear()
    try:
        assert deformable_sampling_cpu.summation_lanes(4, 4, 8, 32) is None
        value, shapes, starts, locations, weights = _official_layout_inputs(1, 120, seed=7)
        with torch.no_grad():
            got = multi_scale_deformable_attention(value, shapes, starts, locations, weights)
        assert torch.equal(got, ms_deform_attn_pytorch(value, shapes, starts, locations, weights))
    finally:
        deformable_sampling_cpu.summation_lanes.cache_clear()
