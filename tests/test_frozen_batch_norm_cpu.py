"""The backbone's inference-only shortcuts give torch's own numbers, bit for bit: the one-pass
batch norm (+ residual + ReLU) and the stem's max pool by rows and columns."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from aios_core.model.backbone import Bottleneck, ResNet50Body, StemMaxPool
from aios_core.model.cpu import frozen_batch_norm as frozen_batch_norm_cpu
from aios_core.model.cpu.frozen_batch_norm import normalise_in_place
from aios_core.model.cpu.numba_runtime import numba_available
from tests.frozen_statistics import randomise_frozen_statistics

needs_numba = pytest.mark.skipif(not numba_available(), reason="the one-pass kernel needs Numba")


def _statistics(channels: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    scale = torch.rand(1, channels, 1, 1, generator=generator) * 2 - 0.5  # some negative
    shift = torch.randn(1, channels, 1, 1, generator=generator)
    return scale, shift


def _torch_reference(x, scale, shift, residual, relu):
    out = x * scale + shift
    if residual is not None:
        out = out + residual
    return torch.relu(out) if relu else out


@needs_numba
@pytest.mark.parametrize("with_residual", [False, True])
@pytest.mark.parametrize("relu", [False, True])
def test_one_pass_equals_the_torch_operations_bit_for_bit(with_residual, relu):
    scale, shift = _statistics(6, seed=0)
    x = torch.randn(2, 6, 7, 9, generator=torch.Generator().manual_seed(1)) * 3
    x[0, 0, 0, :3] = torch.tensor([float("nan"), -0.0, 0.0])
    scale[0, 0], shift[0, 0] = 1.0, -0.0  # so channel 0 keeps a -0.0 through the affine step
    residual = torch.randn(2, 6, 7, 9) if with_residual else None
    expected = _torch_reference(x, scale, shift, residual, relu)
    fresh = x.clone()
    got = normalise_in_place(fresh, scale, shift, residual, relu)
    assert got.data_ptr() == fresh.data_ptr()  # written into its input
    assert torch.equal(got.isnan(), expected.isnan())
    assert torch.equal(got.nan_to_num(5.0), expected.nan_to_num(5.0))
    # The sign of zero as torch's clamp_min leaves it (-0.0 stays -0.0).
    assert torch.equal(torch.signbit(got), torch.signbit(expected))
    if relu:
        assert (got.nan_to_num(0.0) >= 0).all()


def test_non_contiguous_or_lower_precision_maps_take_the_torch_operations(monkeypatch):
    calls: list[int] = []
    if numba_available():
        kernel = frozen_batch_norm_cpu._normalise_kernel
        monkeypatch.setattr(frozen_batch_norm_cpu, "_normalise_kernel",
                            lambda *args: calls.append(1) or kernel(*args))
    scale, shift = _statistics(4, seed=2)
    x = torch.randn(1, 5, 4, 3).transpose(1, 3)  # (1, 3, 4, 5) viewed, not contiguous
    scale3, shift3 = scale[:, :3], shift[:, :3]
    expected = _torch_reference(x, scale3, shift3, None, True)
    assert torch.equal(normalise_in_place(x, scale3, shift3, relu=True), expected)
    half = torch.randn(1, 4, 3, 3).bfloat16()
    expected = (half * scale.bfloat16() + shift.bfloat16()).relu()
    got = normalise_in_place(half.clone(), scale.bfloat16(), shift.bfloat16(), relu=True)
    assert torch.equal(got, expected)
    assert calls == []


@pytest.fixture(scope="module")
def bottleneck() -> Bottleneck:
    torch.manual_seed(4)
    block = Bottleneck(64, 32, stride=2)  # with a downsample branch
    return randomise_frozen_statistics(block).eval()


def test_bottleneck_without_autograd_gives_the_autograd_bits(bottleneck):
    x = torch.randn(2, 64, 17, 12)
    expected = bottleneck(x.requires_grad_()).detach()
    with torch.no_grad():
        got = bottleneck(x.detach().clone())
    assert torch.equal(got, expected)
    assert (got >= 0).all()


def test_bottleneck_under_bfloat16_autocast_keeps_float32_maps(bottleneck):
    x = torch.randn(1, 64, 9, 10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = bottleneck(x.requires_grad_()).detach()
        with torch.no_grad():
            got = bottleneck(x.detach().clone())
    assert got.dtype == expected.dtype == torch.float32
    assert torch.equal(got, expected)


@pytest.mark.parametrize("size", [(400, 667), (1, 1), (2, 3), (7, 8), (9, 5)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_stem_max_pool_equals_max_pool2d(size, dtype):
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(5)).to(dtype)
    x[1, 2, 0, 0] = float("nan")
    expected = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
    with torch.no_grad():
        got = StemMaxPool()(x)
    assert got.shape == expected.shape
    assert torch.equal(got.isnan(), expected.isnan())
    assert torch.equal(got.nan_to_num(9.0), expected.nan_to_num(9.0))


def test_stem_max_pool_with_autograd_routes_gradients_like_max_pool2d():
    x = torch.randn(1, 2, 6, 7, requires_grad=True)
    StemMaxPool()(x).sum().backward()
    reference = x.detach().clone().requires_grad_()
    F.max_pool2d(reference, kernel_size=3, stride=2, padding=1).sum().backward()
    assert torch.equal(x.grad, reference.grad)


def test_resnet_body_without_autograd_gives_the_autograd_bits():
    torch.manual_seed(6)
    body = randomise_frozen_statistics(ResNet50Body(return_layers=(0, 1))).eval()
    images = torch.randn(1, 3, 64, 96)
    expected = [f.detach() for f in body(images.requires_grad_())]
    with torch.no_grad():
        got = body(images.detach())
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
