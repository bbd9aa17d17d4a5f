"""Choosing the torch device for a command, and readying the GPU kernels for it."""

from __future__ import annotations

import os

import torch

from aios_core.cpu_allocator import reuse_freed_memory
from aios_core.errors import DeviceUnavailableError


def choose_device(name: str) -> torch.device:
    """'auto' picks CUDA when present; 'cuda' without a GPU is a user error.

    On the CPU, glibc is told to keep freed memory (``cpu_allocator``). Under torchrun each
    process takes the GPU of its LOCAL_RANK. On CUDA the deformable
    attention kernel of ``cuda_ops`` is registered with the model (after its self-check).
    """
    if name not in ("auto", "cpu", "cuda"):
        raise DeviceUnavailableError(f"--device must be auto, cpu or cuda, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            "--device cuda was asked for, but torch sees no CUDA device (use --device cpu)")
    if name == "cpu" or not torch.cuda.is_available():
        reuse_freed_memory()  # large CPU tensors reuse warm pages (see cpu_allocator)
        return torch.device("cpu")
    use_gpu_kernels()
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))


_kernels_tried = False


def use_gpu_kernels() -> bool:
    """Register ``cuda_ops``' kernel once per process; True when it is in use."""
    global _kernels_tried
    if not _kernels_tried:
        _kernels_tried = True
        try:
            import cuda_ops
        except ImportError:  # aios_core used without its sibling package
            return False
        cuda_ops.try_register()
    from aios_core.model.deformable_attention import registered_kernel

    return registered_kernel() is not None
