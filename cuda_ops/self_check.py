"""Random inputs for a deformable attention kernel, and a check of one against PyTorch."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from aios_core.model.deformable_attention import DeformableAttentionKernel
from aios_core.model.deformable_sampling import ms_deform_attn_pytorch


@dataclass(frozen=True)
class AttentionShape:
    """Sizes of one deformable attention call."""

    batch: int
    queries: int
    heads: int
    head_dim: int
    level_hw: tuple[tuple[int, int], ...]
    points: int


def random_inputs(shape: AttentionShape, device: torch.device | str, dtype: torch.dtype,
                  seed: int = 0, margin: float = 0.2) -> tuple[Tensor, ...]:
    """(value, spatial_shapes, level_start_index, locations, weights) for ``shape``.

    Locations spread ``margin`` beyond [0, 1] on each side, so border and outside samples are
    exercised; weights are positive as after the softmax.
    """
    generator = torch.Generator().manual_seed(seed)
    levels = len(shape.level_hw)
    spatial_shapes = torch.tensor(shape.level_hw, dtype=torch.long)
    sizes = spatial_shapes.prod(1)
    level_start_index = torch.cat((sizes.new_zeros(1), sizes.cumsum(0)[:-1]))
    value = torch.randn(shape.batch, int(sizes.sum()), shape.heads, shape.head_dim,
                        generator=generator)
    locations = torch.rand(shape.batch, shape.queries, shape.heads, levels, shape.points, 2,
                           generator=generator) * (1 + 2 * margin) - margin
    weights = torch.rand(shape.batch, shape.queries, shape.heads, levels, shape.points,
                         generator=generator)
    return (value.to(device, dtype), spatial_shapes.to(device), level_start_index.to(device),
            locations.to(device, dtype), weights.to(device, dtype))


SELF_CHECK_SHAPE = AttentionShape(batch=2, queries=37, heads=8, head_dim=32,
                                  level_hw=((12, 17), (6, 9), (3, 5), (2, 3)), points=4)


def kernel_agrees_with_pytorch(kernel: DeformableAttentionKernel,
                               device: torch.device | str = "cuda") -> bool:
    """Forward of ``kernel`` equals the PyTorch path (float32, 1e-4 relative) on one shape."""
    inputs = random_inputs(SELF_CHECK_SHAPE, device, torch.float32)
    with torch.no_grad():
        expected = ms_deform_attn_pytorch(*inputs)
        actual = kernel(*inputs)
    scale = expected.abs().max().clamp_min(1e-6)
    return bool(((actual - expected).abs().max() / scale) < 1e-4)
