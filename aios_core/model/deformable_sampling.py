"""The sampling core of multi-scale deformable attention in PyTorch, as the official code has it.

``grid_sample`` per level on channel-first value maps, then one attention-weighted sum over all
levels and points. It is the reference every other path is checked against (the fused CPU kernel
in ``model/cpu``, the Triton kernel in ``cuda_ops``) and the path autograd uses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# Queries are sampled in chunks of about this many bytes of (level, point) samples on the CPU:
# the stacked samples of a whole 800x1333 encoder layer are ~360 MB per image, a chunk stays in
# cache, which halves the time of this function there. Each output element is computed by the
# same operations in the same order either way, so chunking changes no bit of the result.
CPU_CHUNK_BYTES = 16 * 2**20


def ms_deform_attn_pytorch(
    value: Tensor,
    spatial_shapes: Tensor,
    level_start_index: Tensor,
    sampling_locations: Tensor,
    attention_weights: Tensor,
) -> Tensor:
    """Attention-weighted sum of bilinear samples of every level's value map.

    value (B, Lv, M, D) with levels flattened row-major one after another; spatial_shapes (L, 2)
    as (H, W); level_start_index (L,); sampling_locations (B, Lq, M, L, P, 2) as (x, y) in [0, 1]
    of each level's full (padded) extent; attention_weights (B, Lq, M, L, P) -> (B, Lq, M * D).
    Samples outside the map read zeros.
    """
    batch, _, num_heads, head_dim = value.shape
    _, num_queries, _, num_levels, num_points, _ = sampling_locations.shape
    # grid_sample wants coordinates in [-1, 1]; with align_corners=False, -1 is the left edge of
    # pixel 0, so x_px = loc * W - 0.5 exactly as in the CUDA kernel.
    grids = 2 * sampling_locations - 1
    # One batch entry per (image, head): (B * M, Lq, L, P, 2) and (B * M, 1, Lq, L * P).
    grids = grids.transpose(1, 2).flatten(0, 1)
    weights = attention_weights.transpose(1, 2).flatten(0, 1).unsqueeze(1).flatten(-2)

    shapes = spatial_shapes.tolist()
    # Levels are contiguous in order, so their sizes alone locate them (level_start_index is
    # part of the kernel signature; recomputing here avoids extra device syncs).
    per_level_values = value.split([height * width for height, width in shapes], dim=1)
    value_maps = [  # (B, H*W, M, D) -> (B * M, D, H, W)
        per_level_values[level].flatten(2).transpose(1, 2)
        .reshape(batch * num_heads, head_dim, height, width)
        for level, (height, width) in enumerate(shapes)
    ]
    chunk = num_queries
    if value.device.type == "cpu":
        bytes_per_query = batch * num_heads * head_dim * num_levels * num_points * 4
        chunk = max(1, CPU_CHUNK_BYTES // bytes_per_query)
    output: Tensor | None = None  # (B * M, D, Lq), dtype of the samples (autocast decides)
    for first in range(0, num_queries, chunk):
        queries = slice(first, min(first + chunk, num_queries))
        samples = [
            F.grid_sample(value_maps[level], grids[:, queries, level], mode="bilinear",
                          padding_mode="zeros", align_corners=False)  # (B * M, D, q, P)
            for level in range(num_levels)
        ]
        # One sum over all levels and points together, in the official order: accumulating
        # level by level moves the encoder memory by ~1e-6, enough to reorder near-tied
        # proposals in the two-stage top-k and change the selected people.
        stacked = torch.stack(samples, dim=-2).flatten(-2)  # (B * M, D, q, L * P)
        summed = (stacked * weights[:, :, queries]).sum(-1)
        if output is None:
            output = summed.new_empty(batch * num_heads, head_dim, num_queries)
        output[:, :, queries] = summed
    # (B * M, D, Lq) -> (B, Lq, M * D), heads outermost in the channel dimension.
    assert output is not None  # num_queries >= 1
    output = output.view(batch, num_heads * head_dim, num_queries)
    return output.transpose(1, 2).contiguous()
