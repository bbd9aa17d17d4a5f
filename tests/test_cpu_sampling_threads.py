"""The fused CPU sampling kernel leaves torch's threads alone (else later results change)."""

from __future__ import annotations

import pytest
import torch

from aios_core.model.cpu.numba_runtime import numba_available
from aios_core.model.deformable_attention import multi_scale_deformable_attention


@pytest.mark.skipif(not numba_available(), reason="the fused kernel needs Numba")
def test_the_fused_kernel_keeps_torch_thread_count() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = torch.Generator().manual_seed(0)
        shapes = torch.tensor([[6, 8], [3, 4]])
        starts = torch.tensor([0, 48])
        value = torch.randn(1, 60, 2, 8, generator=g)
        locations = torch.rand(1, 10, 2, 2, 4, 2, generator=g)
        weights = torch.rand(1, 10, 2, 2, 4, generator=g)
        with torch.inference_mode():
            multi_scale_deformable_attention(value, shapes, starts, locations, weights)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
