"""Optional compiled GPU kernel for multi-scale deformable attention.

aios runs without it: ``aios_core.model.deformable_attention`` has a pure-PyTorch sampling path that
computes the same result. When a kernel is available, ``try_register`` hands it to
``aios_core.model.deformable_attention.register_kernel`` and CUDA inputs are routed through it.

A registered kernel must have the signature of ``ms_deform_attn_pytorch``::

    kernel(value (B, Lv, M, D), spatial_shapes (L, 2) long, level_start_index (L,) long,
           sampling_locations (B, Lq, M, L, P, 2), attention_weights (B, Lq, M, L, P))
        -> (B, Lq, M * D)

No kernel is shipped yet: ``try_register`` currently always returns False. The CUDA sources
(``*.cu``/``*.cpp``, already listed as package data) and their build will be added here.
"""

from __future__ import annotations


def try_register() -> bool:
    """Build/load the CUDA kernel and register it; True when CUDA inputs will use it.

    Never raises for a missing GPU or toolchain: without CUDA it returns False straight away.
    """
    try:
        import torch
    except ImportError:
        return False
    if not torch.cuda.is_available():
        return False
    # No kernel source ships yet; the PyTorch path stays in use.
    return False
