"""Multi-scale deformable attention as Triton kernels (forward and backward).

Same contract as ``aios_core.model.deformable_sampling.ms_deform_attn_pytorch`` (bilinear
sampling, zero padding, pixel centres at half-integers): value (B, Lv, M, D), spatial_shapes
(L, 2) long as (H, W), level_start_index (L,) long, sampling_locations (B, Lq, M, L, P, 2) as
(x, y) in [0, 1], attention_weights (B, Lq, M, L, P) -> (B, Lq, M * D) in value's dtype.

One program computes a block of queries for one (image, head): the D channels of a head are a
contiguous row of ``value``, so each of the 4 bilinear corners is one coalesced row load per
query. Arithmetic is float32 whatever the input dtype. The backward scatters into the value
gradient with float32 atomics and writes the location and weight gradients directly (each
(query, head, level, point) belongs to exactly one program).

Runs on CUDA, and on CPU under ``TRITON_INTERPRET=1`` (slow; how the tests check it there).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK_QUERIES = 64


@triton.jit
def _program_layout(num_values, num_queries, NUM_HEADS: tl.constexpr, HEAD_DIM: tl.constexpr,
                    NUM_LEVELS: tl.constexpr, NUM_POINTS: tl.constexpr, BLOCK_Q: tl.constexpr,
                    BLOCK_D: tl.constexpr):
    """This program's queries and channels, and where its rows start in each tensor."""
    batch_head = tl.program_id(1)
    batch = (batch_head // NUM_HEADS).to(tl.int64)
    head = batch_head % NUM_HEADS
    queries = tl.program_id(0) * BLOCK_Q + tl.arange(0, BLOCK_Q)
    channels = tl.arange(0, BLOCK_D)
    query_mask = queries < num_queries
    channel_mask = channels < HEAD_DIM
    # value row of token t for this (image, head): ((batch * Lv + t) * M + head) * D
    head_offset = (batch * num_values * NUM_HEADS + head) * HEAD_DIM
    # (B, Lq, M, L, P) flat index of point 0 of level 0, and the (B, Lq, M, D) output row
    query_head = (batch * num_queries + queries) * NUM_HEADS + head
    point_base = query_head * NUM_LEVELS * NUM_POINTS
    out_offsets = (query_head * HEAD_DIM)[:, None] + channels[None, :]
    return (channels, query_mask, channel_mask, head_offset, point_base, out_offsets)


@triton.jit
def _bilinear_footprint(shapes_ptr, starts_ptr, locations_ptr, weights_ptr, index, level,
                        channels, query_mask, channel_mask, ROW_STRIDE: tl.constexpr):
    """One sampling point per query: its attention weight, fractional position, and the
    (query, channel) offsets and masks of its 4 corner rows in value (zero padding outside)."""
    height = tl.load(shapes_ptr + 2 * level).to(tl.int32)
    width = tl.load(shapes_ptr + 2 * level + 1).to(tl.int32)
    start = tl.load(starts_ptr + level).to(tl.int32)
    x = tl.load(locations_ptr + 2 * index, mask=query_mask, other=0.0).to(tl.float32)
    y = tl.load(locations_ptr + 2 * index + 1, mask=query_mask, other=0.0).to(tl.float32)
    weight = tl.load(weights_ptr + index, mask=query_mask, other=0.0).to(tl.float32)
    x_px = x * width - 0.5  # pixel centres at half-integers
    y_px = y * height - 0.5
    x0f = tl.floor(x_px)
    y0f = tl.floor(y_px)
    x0 = x0f.to(tl.int32)
    y0 = y0f.to(tl.int32)
    in_x0 = (x0 >= 0) & (x0 < width)
    in_x1 = (x0 + 1 >= 0) & (x0 + 1 < width)
    in_y0 = (y0 >= 0) & (y0 < height) & query_mask
    in_y1 = (y0 + 1 >= 0) & (y0 + 1 < height) & query_mask
    row00 = (start + y0 * width + x0).to(tl.int64) * ROW_STRIDE
    o00 = row00[:, None] + channels[None, :]
    o01 = o00 + ROW_STRIDE
    o10 = o00 + width.to(tl.int64) * ROW_STRIDE
    o11 = o10 + ROW_STRIDE
    m00 = (in_y0 & in_x0)[:, None] & channel_mask[None, :]
    m01 = (in_y0 & in_x1)[:, None] & channel_mask[None, :]
    m10 = (in_y1 & in_x0)[:, None] & channel_mask[None, :]
    m11 = (in_y1 & in_x1)[:, None] & channel_mask[None, :]
    return (weight, x_px - x0f, y_px - y0f, width, height,
            o00, o01, o10, o11, m00, m01, m10, m11)


@triton.jit
def _corner_values(rows, o00, o01, o10, o11, m00, m01, m10, m11):
    """The 4 corner rows (BLOCK_Q, BLOCK_D) of value as float32, zero outside the map."""
    return (tl.load(rows + o00, mask=m00, other=0.0).to(tl.float32),
            tl.load(rows + o01, mask=m01, other=0.0).to(tl.float32),
            tl.load(rows + o10, mask=m10, other=0.0).to(tl.float32),
            tl.load(rows + o11, mask=m11, other=0.0).to(tl.float32))


@triton.jit
def _forward_kernel(
    value_ptr, shapes_ptr, starts_ptr, locations_ptr, weights_ptr, out_ptr,
    num_values, num_queries,
    NUM_HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, NUM_LEVELS: tl.constexpr,
    NUM_POINTS: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_D: tl.constexpr,
):
    (channels, query_mask, channel_mask, head_offset, point_base, out_offsets) = \
        _program_layout(num_values, num_queries, NUM_HEADS, HEAD_DIM, NUM_LEVELS, NUM_POINTS,
                        BLOCK_Q, BLOCK_D)
    rows = value_ptr + head_offset
    accumulator = tl.zeros((BLOCK_Q, BLOCK_D), dtype=tl.float32)
    for level in tl.static_range(NUM_LEVELS):
        for point in tl.static_range(NUM_POINTS):
            (weight, fx, fy, _w, _h, o00, o01, o10, o11, m00, m01, m10, m11) = \
                _bilinear_footprint(shapes_ptr, starts_ptr, locations_ptr, weights_ptr,
                                    point_base + level * NUM_POINTS + point, level, channels,
                                    query_mask, channel_mask, NUM_HEADS * HEAD_DIM)
            (v00, v01, v10, v11) = _corner_values(rows, o00, o01, o10, o11, m00, m01, m10, m11)
            sample = ((1 - fy)[:, None] * ((1 - fx)[:, None] * v00 + fx[:, None] * v01)
                      + fy[:, None] * ((1 - fx)[:, None] * v10 + fx[:, None] * v11))
            accumulator += weight[:, None] * sample
    tl.store(out_ptr + out_offsets, accumulator.to(out_ptr.dtype.element_ty),
             mask=query_mask[:, None] & channel_mask[None, :])


@triton.jit
def _backward_kernel(
    value_ptr, shapes_ptr, starts_ptr, locations_ptr, weights_ptr, grad_out_ptr,
    grad_value_ptr, grad_locations_ptr, grad_weights_ptr,
    num_values, num_queries,
    NUM_HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, NUM_LEVELS: tl.constexpr,
    NUM_POINTS: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_D: tl.constexpr,
):
    (channels, query_mask, channel_mask, head_offset, point_base, out_offsets) = \
        _program_layout(num_values, num_queries, NUM_HEADS, HEAD_DIM, NUM_LEVELS, NUM_POINTS,
                        BLOCK_Q, BLOCK_D)
    rows = value_ptr + head_offset
    grad_rows = grad_value_ptr + head_offset
    grad_out = tl.load(grad_out_ptr + out_offsets,
                       mask=query_mask[:, None] & channel_mask[None, :],
                       other=0.0).to(tl.float32)  # (BLOCK_Q, BLOCK_D)
    for level in tl.static_range(NUM_LEVELS):
        for point in tl.static_range(NUM_POINTS):
            index = point_base + level * NUM_POINTS + point
            (weight, fx, fy, width, height, o00, o01, o10, o11, m00, m01, m10, m11) = \
                _bilinear_footprint(shapes_ptr, starts_ptr, locations_ptr, weights_ptr, index,
                                    level, channels, query_mask, channel_mask,
                                    NUM_HEADS * HEAD_DIM)
            (v00, v01, v10, v11) = _corner_values(rows, o00, o01, o10, o11, m00, m01, m10, m11)
            w00 = (1 - fx) * (1 - fy)
            w01 = fx * (1 - fy)
            w10 = (1 - fx) * fy
            w11 = fx * fy
            sample = (w00[:, None] * v00 + w01[:, None] * v01
                      + w10[:, None] * v10 + w11[:, None] * v11)
            # d sample / d x_px and / d y_px (pixel units of this level)
            d_dx = (1 - fy)[:, None] * (v01 - v00) + fy[:, None] * (v11 - v10)
            d_dy = (1 - fx)[:, None] * (v10 - v00) + fx[:, None] * (v11 - v01)
            tl.store(grad_weights_ptr + index,
                     tl.sum(grad_out * sample, axis=1).to(grad_weights_ptr.dtype.element_ty),
                     mask=query_mask)
            grad_x = weight * tl.sum(grad_out * d_dx, axis=1) * width
            grad_y = weight * tl.sum(grad_out * d_dy, axis=1) * height
            tl.store(grad_locations_ptr + 2 * index,
                     grad_x.to(grad_locations_ptr.dtype.element_ty), mask=query_mask)
            tl.store(grad_locations_ptr + 2 * index + 1,
                     grad_y.to(grad_locations_ptr.dtype.element_ty), mask=query_mask)
            scaled = weight[:, None] * grad_out
            tl.atomic_add(grad_rows + o00, w00[:, None] * scaled, mask=m00)
            tl.atomic_add(grad_rows + o01, w01[:, None] * scaled, mask=m01)
            tl.atomic_add(grad_rows + o10, w10[:, None] * scaled, mask=m10)
            tl.atomic_add(grad_rows + o11, w11[:, None] * scaled, mask=m11)


def _launch_grid(batch: int, num_queries: int, num_heads: int) -> tuple[int, int]:
    return (triton.cdiv(num_queries, BLOCK_QUERIES), batch * num_heads)


class _TritonDeformableAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, value: Tensor, spatial_shapes: Tensor, level_start_index: Tensor,
                sampling_locations: Tensor, attention_weights: Tensor) -> Tensor:
        value = value.contiguous()
        sampling_locations = sampling_locations.contiguous()
        attention_weights = attention_weights.contiguous()
        batch, num_values, num_heads, head_dim = value.shape
        _, num_queries, _, num_levels, num_points, _ = sampling_locations.shape
        output = torch.empty(batch, num_queries, num_heads, head_dim, dtype=value.dtype,
                             device=value.device)
        _forward_kernel[_launch_grid(batch, num_queries, num_heads)](
            value, spatial_shapes, level_start_index, sampling_locations, attention_weights,
            output, num_values, num_queries,
            NUM_HEADS=num_heads, HEAD_DIM=head_dim, NUM_LEVELS=num_levels,
            NUM_POINTS=num_points, BLOCK_Q=BLOCK_QUERIES,
            BLOCK_D=triton.next_power_of_2(head_dim),
        )
        ctx.save_for_backward(value, spatial_shapes, level_start_index, sampling_locations,
                              attention_weights)
        return output.view(batch, num_queries, num_heads * head_dim)

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        value, spatial_shapes, level_start_index, locations, weights = ctx.saved_tensors
        batch, num_values, num_heads, head_dim = value.shape
        _, num_queries, _, num_levels, num_points, _ = locations.shape
        # float32 accumulation: many queries scatter into the same value rows
        grad_value = torch.zeros(value.shape, dtype=torch.float32, device=value.device)
        grad_locations = torch.empty_like(locations)
        grad_weights = torch.empty_like(weights)
        _backward_kernel[_launch_grid(batch, num_queries, num_heads)](
            value, spatial_shapes, level_start_index, locations, weights,
            grad_output.contiguous(), grad_value, grad_locations, grad_weights,
            num_values, num_queries,
            NUM_HEADS=num_heads, HEAD_DIM=head_dim, NUM_LEVELS=num_levels,
            NUM_POINTS=num_points, BLOCK_Q=BLOCK_QUERIES,
            BLOCK_D=triton.next_power_of_2(head_dim),
        )
        return grad_value.to(value.dtype), None, None, grad_locations, grad_weights


def ms_deform_attn_triton(value: Tensor, spatial_shapes: Tensor, level_start_index: Tensor,
                          sampling_locations: Tensor, attention_weights: Tensor) -> Tensor:
    """The Triton kernel with autograd; see the module docstring for shapes."""
    return _TritonDeformableAttention.apply(value, spatial_shapes, level_start_index,
                                            sampling_locations, attention_weights)
