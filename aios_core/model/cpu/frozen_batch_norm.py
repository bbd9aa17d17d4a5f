"""Frozen batch norm, residual add and ReLU in one pass over a float32 CPU feature map (Numba).

Torch runs ``x.mul_(scale).add_(shift)``, ``.add_(identity)`` and ``.relu_()`` as separate
passes over each of ResNet-50's feature maps (up to 68 MB at 800x1333); here each element is
read and written once. The arithmetic is torch's, operation by operation in float32: the
product rounded, then each sum rounded (no fused multiply-add), and ReLU as torch's
``clamp_min(0)``: 0 for negatives, the value itself otherwise (NaN and -0.0 pass through).
``tests/test_frozen_batch_norm_cpu.py`` checks it against the torch operations bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from aios_core.model.cpu.numba_runtime import numba, threads_like_torch

if numba is not None:

    @numba.njit(parallel=True, cache=True, nogil=True)
    def _normalise_kernel(x, scale, shift, residual, add_residual, relu):
        """x, residual (B, C, N) float32, x updated in place; scale, shift (C,) float32."""
        batch, channels, size = x.shape
        zero = np.float32(0.0)
        for item in numba.prange(batch * channels):
            b = item // channels
            c = item - b * channels
            row = x[b, c]
            s = scale[c]
            t = shift[c]
            if add_residual:
                other = residual[b, c]
                for i in range(size):
                    v = row[i] * s + t
                    v = v + other[i]
                    row[i] = zero if relu and v < zero else v
            else:
                for i in range(size):
                    v = row[i] * s + t
                    row[i] = zero if relu and v < zero else v


def normalise_in_place(
    x: Tensor, scale: Tensor, shift: Tensor, residual: Tensor | None = None, relu: bool = False
) -> Tensor:
    """``x * scale + shift`` (then ``+ residual``, then ReLU) written into ``x``, which is returned.

    x (B, C, H, W) and residual like it, no autograd; scale and shift broadcast as (1, C, 1, 1).
    The one pass runs for contiguous float32 CPU maps with Numba; otherwise the torch
    operations do, in place, in the same order."""
    fused = (
        numba is not None and x.device.type == "cpu" and x.dtype == torch.float32
        and scale.dtype == torch.float32 and x.is_contiguous()
        and (residual is None or (residual.is_contiguous() and residual.dtype == x.dtype
                                  and residual.shape == x.shape))
    )
    if not fused:
        return add_residual_and_relu_(x.mul_(scale).add_(shift), residual, relu)
    rows = x.view(x.shape[0], x.shape[1], -1).numpy()
    others = rows if residual is None else residual.view(rows.shape).numpy()
    with threads_like_torch():
        _normalise_kernel(rows, scale.reshape(-1).contiguous().numpy(),
                          shift.reshape(-1).contiguous().numpy(), others,
                          residual is not None, relu)
    return x


def add_residual_and_relu_(x: Tensor, residual: Tensor | None, relu: bool) -> Tensor:
    """``x + residual``, then ReLU, written into ``x`` (torch operations; fine under autograd
    for a fresh ``x``: neither backward needs what is overwritten)."""
    if residual is not None:
        x.add_(residual)
    return x.relu_() if relu else x
