"""The Triton deformable attention kernel against the PyTorch path: forward and gradients.

With CUDA the kernel runs on the GPU (marked ``gpu``); without it, Triton's interpreter runs the
same kernel code on the CPU when Triton is installed (CUDA builds of torch bring it), so its
indexing, masking and gradient formulas are checked on any machine that has Triton.
"""

from __future__ import annotations

import os

import pytest
import torch

from aios_core.model.deformable_sampling import ms_deform_attn_pytorch
from cuda_ops.self_check import AttentionShape, random_inputs

ON_GPU = torch.cuda.is_available()
if not ON_GPU:
    os.environ["TRITON_INTERPRET"] = "1"  # read when the kernels are defined (module import)
triton_kernel = pytest.importorskip("cuda_ops.triton_deform_attn", exc_type=ImportError)

SHAPES = [
    AttentionShape(batch=1, queries=5, heads=1, head_dim=4, level_hw=((3, 4),), points=1),
    AttentionShape(batch=2, queries=70, heads=2, head_dim=8, level_hw=((6, 8), (3, 4), (2, 2)),
                   points=3),
    AttentionShape(batch=1, queries=129, heads=8, head_dim=32,
                   level_hw=((13, 21), (7, 11), (4, 6), (2, 3)), points=4),  # AiOS sizes
    AttentionShape(batch=2, queries=3, heads=2, head_dim=20, level_hw=((1, 1), (5, 2)),
                   points=2),  # head_dim not a power of two, 1x1 level
]
DEVICE = "cuda" if ON_GPU else "cpu"


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual.float() - expected.float()).abs().max()
                 / expected.float().abs().max().clamp_min(1e-12))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.heads}x{s.head_dim}x{s.points}")
def test_forward_and_gradients_match_pytorch_in_fp32(shape: AttentionShape) -> None:
    value, shapes, starts, locations, weights = random_inputs(shape, DEVICE, torch.float32)
    leaves = [t.clone().requires_grad_() for t in (value, locations, weights)]
    reference = [t.clone().requires_grad_() for t in (value, locations, weights)]
    out_kernel = triton_kernel.ms_deform_attn_triton(leaves[0], shapes, starts, *leaves[1:])
    out_torch = ms_deform_attn_pytorch(reference[0], shapes, starts, *reference[1:])
    assert out_kernel.shape == out_torch.shape == (shape.batch, shape.queries,
                                                   shape.heads * shape.head_dim)
    assert relative_error(out_kernel, out_torch) < 1e-4
    upstream = torch.randn_like(out_torch)
    grads_kernel = torch.autograd.grad(out_kernel, leaves, upstream)
    grads_torch = torch.autograd.grad(out_torch, reference, upstream)
    for name, a, b in zip(("value", "locations", "weights"), grads_kernel, grads_torch,
                          strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert relative_error(a, b) < 1e-4, name


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_give_float32_accuracy_of_their_dtype(dtype) -> None:
    shape = SHAPES[2]
    inputs = random_inputs(shape, DEVICE, dtype)
    out = triton_kernel.ms_deform_attn_triton(*inputs)
    assert out.dtype == dtype
    # the reference sees the same rounded inputs, computed in float32
    expected = ms_deform_attn_pytorch(*(t.float() if t.is_floating_point() else t
                                        for t in inputs))
    tolerance = 1e-2 if dtype == torch.bfloat16 else 2e-3  # one rounding of the output
    assert relative_error(out, expected) < tolerance


@pytest.mark.gpu
@pytest.mark.skipif(not ON_GPU, reason="needs CUDA")
def test_choosing_the_gpu_registers_the_kernel_with_the_model() -> None:
    import aios_core.device as device_choice
    import aios_core.model.deformable_attention as da

    device_choice._kernels_tried = False  # as in a fresh process
    da.register_kernel(None)
    assert device_choice.choose_device("cuda").type == "cuda"
    assert da.registered_kernel() is triton_kernel.ms_deform_attn_triton
    inputs = random_inputs(SHAPES[1], "cuda", torch.float32)
    out = da.multi_scale_deformable_attention(*inputs)
    assert relative_error(out, ms_deform_attn_pytorch(*inputs)) < 1e-4
