"""One-Euro filter (Casiez, Roussel & Vogel, CHI 2012), vectorised and timestamp-driven.

An adaptive low-pass filter: its cutoff rises with the (filtered) speed of the signal,
so slow motion is smoothed hard (little jitter) while fast motion is followed closely
(little lag). Every element of the input array is filtered independently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroConfig:
    min_cutoff_hz: float = 1.0  # cutoff at zero speed: lower = smoother when still
    beta: float = 0.0  # cutoff increase per unit/s of speed: higher = less lag when moving
    d_cutoff_hz: float = 1.0  # cutoff of the low-pass applied to the speed estimate

    def __post_init__(self) -> None:
        if self.min_cutoff_hz <= 0 or self.d_cutoff_hz <= 0:
            raise ValueError("cutoff frequencies must be positive")
        if self.beta < 0:
            raise ValueError("beta must be >= 0")


def smoothing_factor(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Exponential-smoothing weight of the new sample for a first-order low-pass."""
    # alpha = 1 / (1 + tau / dt) with time constant tau = 1 / (2 pi f_c).
    r = 2.0 * math.pi * cutoff_hz * dt_s
    return r / (r + 1.0)


class OneEuroFilter:
    """Filter a stream of equally shaped arrays sampled at (possibly irregular) times."""

    def __init__(self, config: OneEuroConfig | None = None) -> None:
        self.config = config or OneEuroConfig()
        self._value: np.ndarray | None = None  # last filtered value
        self._speed: np.ndarray | None = None  # last filtered derivative, units/s
        self._time_s: float | None = None

    @property
    def initialised(self) -> bool:
        return self._value is not None

    @property
    def value(self) -> np.ndarray | None:
        """The last filtered value (None before the first sample)."""
        return None if self._value is None else self._value.copy()

    @property
    def last_time_s(self) -> float | None:
        return self._time_s

    def reset(self) -> None:
        self._value = self._speed = None
        self._time_s = None

    def __call__(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """Filter sample ``x`` taken at time ``t_s`` (seconds); returns the same shape."""
        x = np.asarray(x, dtype=np.float64)
        if self._value is None or self._time_s is None:
            self._value, self._speed, self._time_s = x.copy(), np.zeros_like(x), t_s
            return x.copy()
        if x.shape != self._value.shape:
            raise ValueError(f"sample shape changed from {self._value.shape} to {x.shape}")
        dt_s = t_s - self._time_s
        if dt_s <= 0:  # repeated (or out-of-order) time: no time passed, keep the estimate
            return self._value.copy()
        cfg = self.config
        # Derivative against the previous *filtered* value, as in the paper's formulation.
        raw_speed = (x - self._value) / dt_s
        speed = self._speed + smoothing_factor(cfg.d_cutoff_hz, dt_s) * (raw_speed - self._speed)
        cutoff_hz = cfg.min_cutoff_hz + cfg.beta * np.abs(speed)
        value = self._value + smoothing_factor(cutoff_hz, dt_s) * (x - self._value)
        self._value, self._speed, self._time_s = value, speed, t_s
        return value.copy()
