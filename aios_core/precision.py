"""The precision names of `aios run/train --precision` and the torch dtypes they stand for.

``fp32`` runs without autocast; ``bf16`` / ``fp16`` run the forward under ``torch.autocast``
with that dtype. Torch is imported only when a dtype is asked for, so the CLI can list the names
without loading it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aios_core.errors import AiosError

if TYPE_CHECKING:
    import torch

PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPE_NAMES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


class PrecisionError(AiosError, ValueError):
    """A precision name that is not one of PRECISIONS."""


def check_precision(name: str) -> str:
    """``name`` itself, or PrecisionError naming the choices."""
    if name not in _DTYPE_NAMES:
        raise PrecisionError(f"--precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    return name


def precision_dtype(name: str) -> torch.dtype:
    """The tensor dtype of a precision: fp32 -> float32, bf16 -> bfloat16, fp16 -> float16."""
    import torch

    return getattr(torch, _DTYPE_NAMES[check_precision(name)])


def autocast_dtype(name: str) -> torch.dtype | None:
    """The dtype to autocast the forward to; None for fp32 (no autocast)."""
    return None if check_precision(name) == "fp32" else precision_dtype(name)
