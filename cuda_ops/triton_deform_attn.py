"""Multi-scale deformable attention as Triton kernels (forward and backward).

Same contract as ``aios_core.model.deformable_attention.ms_deform_attn_pytorch`` (bilinear
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
def _corner_offsets(x_px, y_px, width, height, start, query_mask):
    """Integer corners of the bilinear footprint, their validity and fractional parts."""
    x0f = tl.floor(x_px)
    y0f = tl.floor(y_px)
    fx = x_px - x0f
    fy = y_px - y0f
    x0 = x0f.to(tl.int32)
    y0 = y0f.to(tl.int32)
    x1 = x0 + 1
    y1 = y0 + 1
    in_x0 = (x0 >= 0) & (x0 < width)
    in_x1 = (x1 >= 0) & (x1 < width)
    in_y0 = (y0 >= 0) & (y0 < height) & query_mask
    in_y1 = (y1 >= 0) & (y1 < height) & query_mask
    row0 = start + y0 * width
    row1 = start + y1 * width
    return (fx, fy, row0 + x0, row0 + x1, row1 + x0, row1 + x1,
            in_y0 & in_x0, in_y0 & in_x1, in_y1 & in_x0, in_y1 & in_x1)


@triton.jit
def _forward_kernel(
    value_ptr, shapes_ptr, starts_ptr, locations_ptr, weights_ptr, out_ptr,
    num_values, num_queries,
    NUM_HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, NUM_LEVELS: tl.constexpr,
    NUM_POINTS: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_D: tl.constexpr,
):
    batch_head = tl.program_id(1)
    batch = batch_head // NUM_HEADS
    head = batch_head % NUM_HEADS
    queries = tl.program_id(0) * BLOCK_Q + tl.arange(0, BLOCK_Q)
    channels = tl.arange(0, BLOCK_D)
    query_mask = queries < num_queries
    channel_mask = channels < HEAD_DIM

    # value row of token t for this (image, head): ((batch * Lv + t) * M + head) * D
    value_base = value_ptr + (batch.to(tl.int64) * num_values * NUM_HEADS + head) * HEAD_DIM
    # (B, Lq, M, L, P) flat index of point 0 of level 0 for each query
    point_base = ((batch.to(tl.int64) * num_queries + queries) * NUM_HEADS + head) \
        * NUM_LEVELS * NUM_POINTS
    accumulator = tl.zeros((BLOCK_Q, BLOCK_D), dtype=tl.float32)
    for level in tl.static_range(NUM_LEVELS):
        height = tl.load(shapes_ptr + 2 * level).to(tl.int32)
        width = tl.load(shapes_ptr + 2 * level + 1).to(tl.int32)
        start = tl.load(starts_ptr + level).to(tl.int32)
        for point in tl.static_range(NUM_POINTS):
            index = point_base + level * NUM_POINTS + point
            x = tl.load(locations_ptr + 2 * index, mask=query_mask, other=0.0).to(tl.float32)
            y = tl.load(locations_ptr + 2 * index + 1, mask=query_mask, other=0.0).to(tl.float32)
            weight = tl.load(weights_ptr + index, mask=query_mask, other=0.0).to(tl.float32)
            (fx, fy, t00, t01, t10, t11, ok00, ok01, ok10, ok11) = _corner_offsets(
                x * width - 0.5, y * height - 0.5, width, height, start, query_mask)
            rows = value_base + channels[None, :]
            v00 = tl.load(rows + t00[:, None].to(tl.int64) * (NUM_HEADS * HEAD_DIM),
                          mask=ok00[:, None] & channel_mask[None, :], other=0.0).to(tl.float32)
            v01 = tl.load(rows + t01[:, None].to(tl.int64) * (NUM_HEADS * HEAD_DIM),
                          mask=ok01[:, None] & channel_mask[None, :], other=0.0).to(tl.float32)
            v10 = tl.load(rows + t10[:, None].to(tl.int64) * (NUM_HEADS * HEAD_DIM),
                          mask=ok10[:, None] & channel_mask[None, :], other=0.0).to(tl.float32)
            v11 = tl.load(rows + t11[:, None].to(tl.int64) * (NUM_HEADS * HEAD_DIM),
                          mask=ok11[:, None] & channel_mask[None, :], other=0.0).to(tl.float32)
            sample = ((1 - fy)[:, None] * ((1 - fx)[:, None] * v00 + fx[:, None] * v01)
                      + fy[:, None] * ((1 - fx)[:, None] * v10 + fx[:, None] * v11))
            accumulator += weight[:, None] * sample

    out_rows = ((batch.to(tl.int64) * num_queries + queries) * NUM_HEADS + head) * HEAD_DIM
    out_pointers = out_ptr + out_rows[:, None] + channels[None, :]
    tl.store(out_pointers, accumulator.to(out_ptr.dtype.element_ty),
             mask=query_mask[:, None] & channel_mask[None, :])


@triton.jit
def _backward_kernel(
    value_ptr, shapes_ptr, starts_ptr, locations_ptr, weights_ptr, grad_out_ptr,
    grad_value_ptr, grad_locations_ptr, grad_weights_ptr,
    num_values, num_queries,
    NUM_HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, NUM_LEVELS: tl.constexpr,
    NUM_POINTS: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_D: tl.constexpr,
):
    batch_head = tl.program_id(1)
    batch = batch_head // NUM_HEADS
    head = batch_head % NUM_HEADS
    queries = tl.program_id(0) * BLOCK_Q + tl.arange(0, BLOCK_Q)
    channels = tl.arange(0, BLOCK_D)
    query_mask = queries < num_queries
    channel_mask = channels < HEAD_DIM
    row_stride = NUM_HEADS * HEAD_DIM

    head_offset = (batch.to(tl.int64) * num_values * NUM_HEADS + head) * HEAD_DIM
    point_base = ((batch.to(tl.int64) * num_queries + queries) * NUM_HEADS + head) \
        * NUM_LEVELS * NUM_POINTS
    out_rows = ((batch.to(tl.int64) * num_queries + queries) * NUM_HEADS + head) * HEAD_DIM
    grad_out = tl.load(grad_out_ptr + out_rows[:, None] + channels[None, :],
                       mask=query_mask[:, None] & channel_mask[None, :],
                       other=0.0).to(tl.float32)  # (BLOCK_Q, BLOCK_D)
    for level in tl.static_range(NUM_LEVELS):
        height = tl.load(shapes_ptr + 2 * level).to(tl.int32)
        width = tl.load(shapes_ptr + 2 * level + 1).to(tl.int32)
        start = tl.load(starts_ptr + level).to(tl.int32)
        for point in tl.static_range(NUM_POINTS):
            index = point_base + level * NUM_POINTS + point
            x = tl.load(locations_ptr + 2 * index, mask=query_mask, other=0.0).to(tl.float32)
            y = tl.load(locations_ptr + 2 * index + 1, mask=query_mask, other=0.0).to(tl.float32)
            weight = tl.load(weights_ptr + index, mask=query_mask, other=0.0).to(tl.float32)
            (fx, fy, t00, t01, t10, t11, ok00, ok01, ok10, ok11) = _corner_offsets(
                x * width - 0.5, y * height - 0.5, width, height, start, query_mask)
            o00 = t00[:, None].to(tl.int64) * row_stride + channels[None, :]
            o01 = t01[:, None].to(tl.int64) * row_stride + channels[None, :]
            o10 = t10[:, None].to(tl.int64) * row_stride + channels[None, :]
            o11 = t11[:, None].to(tl.int64) * row_stride + channels[None, :]
            m00 = ok00[:, None] & channel_mask[None, :]
            m01 = ok01[:, None] & channel_mask[None, :]
            m10 = ok10[:, None] & channel_mask[None, :]
            m11 = ok11[:, None] & channel_mask[None, :]
            v00 = tl.load(value_ptr + head_offset + o00, mask=m00, other=0.0).to(tl.float32)
            v01 = tl.load(value_ptr + head_offset + o01, mask=m01, other=0.0).to(tl.float32)
            v10 = tl.load(value_ptr + head_offset + o10, mask=m10, other=0.0).to(tl.float32)
            v11 = tl.load(value_ptr + head_offset + o11, mask=m11, other=0.0).to(tl.float32)

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
            tl.atomic_add(grad_value_ptr + head_offset + o00, w00[:, None] * scaled, mask=m00)
            tl.atomic_add(grad_value_ptr + head_offset + o01, w01[:, None] * scaled, mask=m01)
            tl.atomic_add(grad_value_ptr + head_offset + o10, w10[:, None] * scaled, mask=m10)
            tl.atomic_add(grad_value_ptr + head_offset + o11, w11[:, None] * scaled, mask=m11)


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
