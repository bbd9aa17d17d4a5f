"""Arrays read into the results schema's dataclasses: kept as float32, their shape checked."""

from __future__ import annotations

import numpy as np


def float32_array(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float32 array of exactly ``shape``, else ValueError naming ``name``."""
    array = np.asarray(value, np.float32)
    if array.shape != shape:
        raise ValueError(f"{name} must be {shape}, got {array.shape}")
    return array
