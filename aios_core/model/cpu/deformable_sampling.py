"""Deformable attention's sampling on the CPU as one fused loop (Numba), bit for bit the official.

The official PyTorch core (``ms_deform_attn_pytorch``) calls ``grid_sample`` per level, on
channel-first value maps: every sample gathers its 4 corners x head_dim channels one float at
a time, and the stacked samples make three more passes over ~360 MB per 800x1333 encoder
layer. Here each (image, query, head) reads its corners as contiguous rows of a channels-last
value tensor and accumulates in registers. The arithmetic is the official one, operation by
operation, in float32:

- pixel position x = fma(grid_x + 1, W / 2, -0.5) with grid = 2 * location - 1 (how torch's
  CPU ``grid_sample`` unnormalises, compiled to a fused multiply-add);
- corner weights nw = (1 - dy)(1 - dx), ne = (1 - dy) dx, sw = dy (1 - dx), se = dy dx;
- sample = fma(se_v, se, fma(sw_v, sw, fma(ne_v, ne, nw_v * nw))), corners outside the map
  reading 0 (``grid_sample``'s own order and fusion);
- output = sum over levels then points, left to right from 0, of attention weight * sample
  (``(stacked * weights).sum(-1)``: torch sums 16 contiguous floats in order on AVX-512).

``tests/test_deformable_attention.py`` checks the result equals the ``grid_sample`` path
exactly. Numba is optional: without it (or for autograd) the ``grid_sample`` path runs.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

from aios_core.model.cpu.numba_runtime import numba, threads_like_torch
from aios_core.model.deformable_sampling import ms_deform_attn_pytorch

if numba is not None:
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _fma32(typingctx, a, b, c):
        """float32 a * b + c with one rounding (LLVM's fma), as the compiled grid_sample does."""
        signature = types.float32(types.float32, types.float32, types.float32)

        def codegen(context, builder, sig, args):
            return builder.fma(*args)

        return signature, codegen

    @numba.njit(parallel=True, cache=True, nogil=True)
    def _sample_kernel(values, locations, weights, heights, widths, starts, zero_row, lanes,
                       output):
        """values (B, M, Lv + 1, D) float32, zero row last; locations (B, Lq, M, L, P, 2); weights
        (B, Lq, M, L, P); heights/widths/starts (L,) int64; output (B, Lq, M, D).

        The L * P weighted samples of an output are summed the way torch's CPU ``sum`` sums a
        contiguous row: ``lanes``-wide vectors added lane by lane, then the lanes in order;
        each sample is added to its lane as soon as it is computed."""
        batch, num_queries, num_heads, num_levels, num_points, _ = locations.shape
        head_dim = values.shape[3]
        one = np.float32(1.0)
        two = np.float32(2.0)
        minus_half = np.float32(-0.5)
        for item in numba.prange(batch * num_queries):
            b = item // num_queries
            q = item - b * num_queries
            lane_sums = np.empty((lanes, head_dim), dtype=np.float32)
            for m in range(num_heads):
                plane = values[b, m]
                lane_sums[:] = np.float32(0.0)
                lane = 0  # the sample's lane: its index among the L * P samples, mod lanes
                for level in range(num_levels):
                    height = heights[level]
                    width = widths[level]
                    half_w = np.float32(width) / np.float32(2.0)
                    half_h = np.float32(height) / np.float32(2.0)
                    for p in range(num_points):
                        # The official grid, 2 * location - 1, then grid_sample's unnormalising.
                        grid_x = two * locations[b, q, m, level, p, 0] - one
                        grid_y = two * locations[b, q, m, level, p, 1] - one
                        x = _fma32(grid_x + one, half_w, minus_half)
                        y = _fma32(grid_y + one, half_h, minus_half)
                        x_west = np.floor(x)
                        y_north = np.floor(y)
                        dx = x - x_west
                        dy = y - y_north
                        w_nw = (one - dy) * (one - dx)
                        w_ne = (one - dy) * dx
                        w_sw = dy * (one - dx)
                        w_se = dy * dx
                        ix = np.int64(x_west)
                        iy = np.int64(y_north)
                        in_w = ix > -1 and ix < width
                        in_e = ix + 1 > -1 and ix + 1 < width
                        in_n = iy > -1 and iy < height
                        in_s = iy + 1 > -1 and iy + 1 < height
                        base = starts[level] + iy * width + ix
                        v_nw = plane[base if in_n and in_w else zero_row]
                        v_ne = plane[base + 1 if in_n and in_e else zero_row]
                        v_sw = plane[base + width if in_s and in_w else zero_row]
                        v_se = plane[base + width + 1 if in_s and in_e else zero_row]
                        weight = weights[b, q, m, level, p]
                        lane_sum = lane_sums[lane]
                        for d in range(head_dim):
                            sample = v_nw[d] * w_nw
                            sample = _fma32(v_ne[d], w_ne, sample)
                            sample = _fma32(v_sw[d], w_sw, sample)
                            sample = _fma32(v_se[d], w_se, sample)
                            lane_sum[d] = lane_sum[d] + weight * sample
                        lane = lane + 1 if lane + 1 < lanes else 0
                total = output[b, q, m]
                for d in range(head_dim):
                    total[d] = np.float32(0.0)
                for lane_index in range(lanes):
                    lane_sum = lane_sums[lane_index]
                    for d in range(head_dim):
                        total[d] = total[d] + lane_sum[d]


def ms_deform_attn_cpu(
    value: Tensor,
    spatial_shapes: Tensor,
    sampling_locations: Tensor,
    attention_weights: Tensor,
    lanes: int,
) -> Tensor:
    """``ms_deform_attn_pytorch`` for CPU tensors without autograd, same shapes and bits.

    value (B, Lv, M, D); spatial_shapes (L, 2) as (H, W); sampling_locations
    (B, Lq, M, L, P, 2); attention_weights (B, Lq, M, L, P) -> (B, Lq, M * D); ``lanes`` from
    ``summation_lanes``. bfloat16 inputs are sampled in float32 and the result is returned in
    the value's dtype.
    """
    batch, num_values, num_heads, head_dim = value.shape
    num_queries = sampling_locations.shape[1]
    shapes = spatial_shapes.to(torch.int64).cpu()
    sizes = shapes[:, 0] * shapes[:, 1]
    starts = torch.cumsum(sizes, 0) - sizes
    # (B, Lv, M, D) -> (B, M, Lv + 1, D): each head's rows contiguous, one zero row for corners
    # outside the map.
    values = torch.empty(batch, num_heads, num_values + 1, head_dim, dtype=torch.float32)
    values[:, :, :num_values] = value.transpose(1, 2)
    values[:, :, num_values] = 0.0
    locations = sampling_locations.float().contiguous()
    weights = attention_weights.float().contiguous()
    output = torch.empty(batch, num_queries, num_heads, head_dim, dtype=torch.float32)
    with threads_like_torch():
        _sample_kernel(
            values.numpy(), locations.numpy(), weights.numpy(), shapes[:, 0].numpy(),
            shapes[:, 1].numpy(), starts.numpy(), num_values, lanes, output.numpy(),
        )
    return output.view(batch, num_queries, num_heads * head_dim).to(value.dtype)


@functools.cache
def summation_lanes(num_levels: int, num_points: int, num_heads: int, head_dim: int) -> int | None:
    """The lane width with which the kernel reproduces the ``grid_sample`` path bit for bit on
    this machine and torch build, or None (then that path must be used).

    How torch's CPU ``sum`` orders a short contiguous row depends on the build's vector width
    (8 floats on this project's reference machine), and ``grid_sample``'s fused multiply-adds
    on the compiler; both are checked once on a small random problem rather than assumed.
    """
    if numba is None:
        return None
    generator = torch.Generator().manual_seed(0)
    shapes = torch.tensor([[7 + level, 5 + 2 * level] for level in range(num_levels)])
    num_values = int((shapes[:, 0] * shapes[:, 1]).sum())
    value = torch.randn(1, num_values, num_heads, head_dim, generator=generator)
    locations = torch.rand(1, 96, num_heads, num_levels, num_points, 2, generator=generator)
    locations = locations * 1.2 - 0.1  # some samples fall outside the maps
    weights = torch.rand(1, 96, num_heads, num_levels, num_points, generator=generator)
    starts = torch.cumsum(shapes[:, 0] * shapes[:, 1], 0) - shapes[:, 0] * shapes[:, 1]
    expected = ms_deform_attn_pytorch(value, shapes, starts, locations, weights)
    for lanes in (8, 16, 4, 32, 1):
        if torch.equal(ms_deform_attn_cpu(value, shapes, locations, weights, lanes), expected):
            return lanes
    return None
