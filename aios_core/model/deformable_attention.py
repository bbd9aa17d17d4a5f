"""Multi-scale deformable attention (Deformable DETR), with a pure-PyTorch sampling core.

For CUDA tensors the sampling core is whatever kernel was registered with ``register_kernel``
(``cuda_ops`` registers its Triton kernel there when ``aios_core.device.choose_device`` picks
a GPU; this module never imports it), else the PyTorch core. Both compute the same thing
(bilinear sampling with zero padding, pixel centres at half-integers, i.e.
``grid_sample(align_corners=False)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aios_core.model.cpu.deformable_sampling import ms_deform_attn_cpu, summation_lanes
from aios_core.model.deformable_sampling import ms_deform_attn_pytorch

# (value, spatial_shapes, level_start_index, sampling_locations, attention_weights) -> output
DeformableAttentionKernel = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]

_registered_kernel: DeformableAttentionKernel | None = None


def register_kernel(kernel: DeformableAttentionKernel | None) -> None:
    """Use ``kernel`` for CUDA tensors from now on (None restores the PyTorch path)."""
    global _registered_kernel
    _registered_kernel = kernel


def registered_kernel() -> DeformableAttentionKernel | None:
    return _registered_kernel


def _cpu_kernel_lanes(value: Tensor, locations: Tensor, weights: Tensor) -> int | None:
    """The fused CPU kernel's summation lanes when it can run (CPU, no autograd), else None."""
    if value.device.type != "cpu" or value.dtype not in (torch.float32, torch.bfloat16):
        return None
    if torch.is_grad_enabled() and any(t.requires_grad for t in (value, locations, weights)):
        return None
    _, _, heads, head_dim = value.shape
    return summation_lanes(locations.shape[3], locations.shape[4], heads, head_dim)


def multi_scale_deformable_attention(
    value: Tensor,
    spatial_shapes: Tensor,
    level_start_index: Tensor,
    sampling_locations: Tensor,
    attention_weights: Tensor,
) -> Tensor:
    """The registered kernel for CUDA tensors when there is one, else ``ms_deform_attn_pytorch``."""
    kernel = _registered_kernel if value.is_cuda else None
    if kernel is not None:
        return kernel(
            value, spatial_shapes, level_start_index, sampling_locations, attention_weights
        )
    lanes = _cpu_kernel_lanes(value, sampling_locations, attention_weights)
    if lanes is not None:
        return ms_deform_attn_cpu(
            value, spatial_shapes, sampling_locations, attention_weights, lanes
        )
    return ms_deform_attn_pytorch(
        value, spatial_shapes, level_start_index, sampling_locations, attention_weights
    )


class MultiScaleDeformableAttention(nn.Module):
    """Each query attends to ``num_points`` learned offsets around its reference point per level
    and head. Parameter names match the official ``MSDeformAttn``."""

    def __init__(
        self, embed_dim: int = 256, num_levels: int = 4, num_heads: int = 8, num_points: int = 4
    ):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim = embed_dim
        self.num_levels = num_levels
        self.num_heads = num_heads
        self.num_points = num_points
        self.head_dim = embed_dim // num_heads
        self.sampling_offsets = nn.Linear(embed_dim, num_heads * num_levels * num_points * 2)
        self.attention_weights = nn.Linear(embed_dim, num_heads * num_levels * num_points)
        self.value_proj = nn.Linear(embed_dim, embed_dim)
        self.output_proj = nn.Linear(embed_dim, embed_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Offsets start on a ring: head h points along angle 2*pi*h/M, point p at distance p+1
        (in feature-map pixels, direction scaled so its larger component is 1); uniform weights."""
        nn.init.constant_(self.sampling_offsets.weight, 0.0)
        angles = torch.arange(self.num_heads, dtype=torch.float32) * (
            2.0 * math.pi / self.num_heads
        )
        directions = torch.stack([angles.cos(), angles.sin()], -1)
        directions = directions / directions.abs().max(-1, keepdim=True)[0]
        ring = directions.view(self.num_heads, 1, 1, 2).repeat(
            1, self.num_levels, self.num_points, 1
        )
        ring = ring * torch.arange(1, self.num_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(ring.view(-1))
        nn.init.constant_(self.attention_weights.weight, 0.0)
        nn.init.constant_(self.attention_weights.bias, 0.0)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.constant_(self.value_proj.bias, 0.0)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.constant_(self.output_proj.bias, 0.0)

    def sampling_locations(
        self, reference_points: Tensor, offsets: Tensor, spatial_shapes: Tensor
    ) -> Tensor:
        """reference_points (B, Lq, L, 2|4), offsets (B, Lq, M, L, P, 2) -> (B, Lq, M, L, P, 2)."""
        if reference_points.shape[-1] == 2:
            # Offsets are in pixels of each level: divide by (W, H) to get normalised units.
            # Both operations run on rows of L * P * 2 contiguous numbers (normalizer and
            # reference repeated to that layout) rather than broadcasting along the size-2
            # axis: the same element-wise arithmetic, about twice as fast on the CPU.
            batch, num_queries, heads, levels, points, _ = offsets.shape
            row = levels * points * 2
            normalizer = torch.stack([spatial_shapes[..., 1], spatial_shapes[..., 0]], -1)
            normalizer = normalizer[:, None, :].expand(levels, points, 2).reshape(row)
            offsets = offsets.reshape(batch, num_queries, heads, row)
            references = reference_points[:, :, :, None, :].expand(
                batch, num_queries, levels, points, 2).reshape(batch, num_queries, 1, row)
            if offsets.dtype == references.dtype:
                # reference + offset / normalizer in one pass; the quotient's factor 1 is exact,
                # so these are the bits of the separate division and sum.
                locations = torch.addcdiv(references, offsets, normalizer.to(offsets.dtype))
            else:  # bfloat16 offsets: the quotient is rounded to bfloat16 before the sum
                locations = references + offsets / normalizer
            return locations.view(batch, num_queries, heads, levels, points, 2)
        if reference_points.shape[-1] == 4:
            # Reference boxes (cx, cy, w, h): offsets scale with the box half-size, divided by P.
            centers = reference_points[:, :, None, :, None, :2]
            sizes = reference_points[:, :, None, :, None, 2:]
            return centers + offsets / self.num_points * sizes * 0.5
        raise ValueError(
            f"reference_points must end in 2 or 4 coordinates, got {reference_points.shape[-1]}"
        )

    def forward(
        self,
        query: Tensor,
        reference_points: Tensor,
        value_input: Tensor,
        spatial_shapes: Tensor,
        level_start_index: Tensor,
        value_padding_mask: Tensor | None = None,
    ) -> Tensor:
        """query (B, Lq, C), reference_points (B, Lq, L, 2|4) in [0, 1], value_input (B, Lv, C),
        spatial_shapes (L, 2) long (H, W), level_start_index (L,), value_padding_mask (B, Lv)
        True on padding -> (B, Lq, C)."""
        batch, num_queries, _ = query.shape
        num_values = value_input.shape[1]

        value = self.value_proj(value_input)
        if value_padding_mask is not None:
            value = value.masked_fill(value_padding_mask[..., None], 0.0)
        value = value.view(batch, num_values, self.num_heads, self.head_dim)

        heads, levels, points = self.num_heads, self.num_levels, self.num_points
        offsets = self.sampling_offsets(query).view(batch, num_queries, heads, levels, points, 2)
        weights = self.attention_weights(query).view(batch, num_queries, heads, levels * points)
        # One softmax across all levels and points of a head.
        weights = F.softmax(weights, -1).view(batch, num_queries, heads, levels, points)
        locations = self.sampling_locations(reference_points, offsets, spatial_shapes)

        if value.dtype == torch.float16:
            # Sampling runs in float32 under mixed precision, as the official module does.
            output = multi_scale_deformable_attention(
                value.float(), spatial_shapes, level_start_index, locations.float(), weights.float()
            ).to(torch.float16)
        else:
            output = multi_scale_deformable_attention(
                value, spatial_shapes, level_start_index, locations, weights
            )
        return self.output_proj(output)  # (B, Lq, C)
