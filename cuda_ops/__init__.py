"""GPU kernel for multi-scale deformable attention, registered with the model when usable.

The kernel is written in Triton (``triton_deform_attn``), not CUDA C++: CUDA builds of torch
already bring Triton, so there is nothing extra to install and no compiler toolchain (nvcc,
matching headers) on the user's machine; Triton compiles it on first use and caches the binary
(``~/.triton/cache``). aios runs without it: ``aios_core.model.deformable_attention`` keeps the
pure-PyTorch path, which is also the reference the kernel is tested against.

``try_register`` is called automatically the first time the model sees CUDA tensors. It
registers the kernel only after a small self-check on the GPU agrees with the PyTorch path, so
a Triton/driver problem costs speed, never results. ``AIOS_DEFORM_ATTN=pytorch`` switches the
kernel off.
"""

from __future__ import annotations

import os
import warnings

DISABLE_VARIABLE = "AIOS_DEFORM_ATTN"


def kernel_unavailable_reason() -> str | None:
    """None when the kernel can be used here, else why not (for ``aios doctor``)."""
    if os.environ.get(DISABLE_VARIABLE, "").lower() == "pytorch":
        return f"switched off by {DISABLE_VARIABLE}=pytorch"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device"
    try:
        import triton  # noqa: F401
    except Exception as error:  # ImportError, or a broken install
        return f"Triton does not import ({error}); CUDA builds of torch include it"
    return None


def try_register() -> bool:
    """Register the Triton kernel for CUDA inputs; True when it will be used."""
    if kernel_unavailable_reason() is not None:
        return False
    from aios_core.model.deformable_attention import register_kernel
    from cuda_ops.self_check import kernel_agrees_with_pytorch
    from cuda_ops.triton_deform_attn import ms_deform_attn_triton

    try:
        agrees = kernel_agrees_with_pytorch(ms_deform_attn_triton)
    except Exception as error:  # compilation or launch failure on this GPU / driver
        warnings.warn(f"deformable attention kernel unavailable, using PyTorch: {error}",
                      stacklevel=2)
        return False
    if not agrees:
        warnings.warn("deformable attention kernel disagrees with the PyTorch path on this "
                      "GPU; using PyTorch", stacklevel=2)
        return False
    register_kernel(ms_deform_attn_triton)
    return True
