"""The network's matrix work timed at its own shapes: a floor no other arrangement of the rest of
the forward can beat with the same matrix library.

A forward is run once under a dispatch mode that records every matrix product and convolution
(``linear``, ``conv2d``, ``matmul``, ``einsum``, ``bmm`` and the like) with its argument
shapes, strides and dtypes, after autocast has chosen them. Each distinct call is then replayed
on random tensors of those layouts, outside the network, and its best time of ``repeats``
(inputs hot in the cache, nothing else running) is multiplied by how often the forward made
it. The sum is what the forward would take if it did nothing but its matrix products, each at
the speed the library gives that shape; the 4096x4096 rate floor in ``bench_model.py``
instead assumes every product runs at the best square-product rate, which small reduced
dimensions (K = 256 in most of the transformer) never reach.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_aten = torch.ops.aten
# What a dispatch mode sees of the network's matrix work: linear and conv2d arrive whole, the
# rest as products.
_MATRIX_OPS = {
    _aten.linear.default, _aten.conv2d.default, _aten.matmul.default, _aten.einsum.default,
    _aten.addmm.default, _aten.mm.default, _aten.bmm.default, _aten.baddbmm.default,
    _aten.convolution.default,
}


@dataclass(frozen=True)
class TensorLayout:
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype


@dataclass(frozen=True)
class MatrixCall:
    """One matrix op with its tensor arguments' layouts and its other arguments as given."""

    op: torch._ops.OpOverload
    args: tuple  # TensorLayout for tensors, the value otherwise
    kwargs: tuple[tuple[str, object], ...]


def _freeze(value: object) -> object:
    if isinstance(value, torch.Tensor):
        return TensorLayout(tuple(value.shape), tuple(value.stride()), value.dtype)
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: object, device: torch.device, generator: torch.Generator) -> object:
    if isinstance(value, TensorLayout):
        # Storage for the layout, broadcast (stride 0) dimensions included, filled first.
        extent = 1 + sum((size - 1) * stride
                         for size, stride in zip(value.shape, value.stride, strict=True))
        storage = torch.empty(extent if 0 not in value.shape else 0, dtype=value.dtype,
                              device=device)
        if storage.is_floating_point():
            storage.normal_(generator=generator)
        return storage.as_strided(value.shape, value.stride)
    if isinstance(value, tuple):
        return [_thaw(v, device, generator) for v in value]
    return value


class _MatrixCallRecorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[MatrixCall] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _MATRIX_OPS:
            frozen_kwargs = tuple(sorted((k, _freeze(v)) for k, v in kwargs.items()))
            self.calls[MatrixCall(func, tuple(_freeze(a) for a in args), frozen_kwargs)] += 1
        return func(*args, **kwargs)


def record_matrix_calls(forward) -> Counter[MatrixCall]:
    """The matrix calls ``forward()`` makes, with how many times it makes each."""
    recorder = _MatrixCallRecorder()
    with recorder:
        forward()
    return recorder.calls


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def shape_floor_s(calls: Counter[MatrixCall], device: torch.device, repeats: int = 3) -> float:
    """Seconds the recorded calls take replayed one by one, each at its best of ``repeats``."""
    generator = torch.Generator(device=device).manual_seed(0)
    total = 0.0
    with torch.inference_mode():
        for call, count in calls.items():
            args = [_thaw(a, device, generator) for a in call.args]
            kwargs = {k: _thaw(v, device, generator) for k, v in call.kwargs}
            call.op(*args, **kwargs)  # warm-up: first-call allocation and kernel choice
            best = float("inf")
            for _ in range(repeats):
                _synchronise(device)
                start = time.perf_counter()
                call.op(*args, **kwargs)
                _synchronise(device)
                best = min(best, time.perf_counter() - start)
            total += count * best
    return total

