"""Per-track temporal smoothing of SMPL-X parameters, translation and 2D keypoints.

Rotations are filtered as unit quaternions, never as raw axis-angle: axis-angle is
discontinuous (a turn just past pi flips the axis) so averaging it can swing a limb
through the identity. Each quaternion is first moved to the hemisphere of the previous
filtered one (q and -q are the same rotation), filtered, renormalised and converted back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from aios_core.tracking.one_euro import OneEuroConfig, OneEuroFilter

SMPLX_ROTATION_KEYS = (
    "global_orient",
    "body_pose",
    "left_hand_pose",
    "right_hand_pose",
    "jaw_pose",
    "leye_pose",
    "reye_pose",
)

# Cutoff at zero speed for strength 0+ and 1; in between it moves geometrically.
_LIGHTEST_MIN_CUTOFF_HZ = 8.0
_STRONGEST_MIN_CUTOFF_HZ = 0.4
# At full strength beta is this fraction of the group's per-unit beta.
_STRONGEST_BETA_FRACTION = 0.1


@dataclass(frozen=True)
class SmoothingConfig:
    """Which parameters are smoothed and how hard; keys outside every group pass through.

    ``strength`` in [0, 1]: 0 disables smoothing, 1 is the heaviest. The ``*_beta``
    fields scale the One-Euro speed coefficient to each group's units.
    """

    strength: float = 0.5
    rotation_keys: tuple[str, ...] = SMPLX_ROTATION_KEYS  # axis-angle, (..., 3)
    translation_keys: tuple[str, ...] = ("transl",)  # metres
    keypoint_keys: tuple[str, ...] = ("keypoints_2d",)  # pixels
    vector_keys: tuple[str, ...] = ("betas", "expression")  # unitless coefficients
    rotation_beta: float = 1.0  # per (quaternion unit)/s
    translation_beta: float = 1.0  # per m/s
    keypoint_beta: float = 0.01  # per px/s
    vector_beta: float = 0.5
    d_cutoff_hz: float = 1.0
    max_gap_s: float = 1.0  # a person unseen for longer starts afresh

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {self.strength}")

    @property
    def enabled(self) -> bool:
        return self.strength > 0.0

    def one_euro(self, beta_per_unit: float) -> OneEuroConfig:
        """One-Euro settings for a parameter group, from the single strength knob."""
        s = self.strength
        ratio = _STRONGEST_MIN_CUTOFF_HZ / _LIGHTEST_MIN_CUTOFF_HZ
        min_cutoff_hz = _LIGHTEST_MIN_CUTOFF_HZ * ratio**s
        beta = beta_per_unit * _STRONGEST_BETA_FRACTION**s
        return OneEuroConfig(min_cutoff_hz=min_cutoff_hz, beta=beta, d_cutoff_hz=self.d_cutoff_hz)


class RotationSmoother:
    """One-Euro filtering of a set of rotations given as axis-angle (..., 3)."""

    def __init__(self, config: OneEuroConfig) -> None:
        self._filter = OneEuroFilter(config)

    def reset(self) -> None:
        self._filter.reset()

    def __call__(self, axis_angle: np.ndarray, t_s: float) -> np.ndarray:
        axis_angle = np.asarray(axis_angle)
        if axis_angle.shape[-1] != 3:
            raise ValueError(f"axis-angle must end in 3, got shape {axis_angle.shape}")
        quats = Rotation.from_rotvec(axis_angle.reshape(-1, 3).astype(np.float64)).as_quat()
        previous = self._filter.value  # (J, 4) or None
        if previous is not None and previous.shape == quats.shape:
            # q and -q are one rotation: take the sign nearer the last estimate so the
            # filter never averages across the hemisphere boundary.
            flip = np.einsum("jk,jk->j", quats, previous) < 0
            quats[flip] *= -1.0
        filtered = self._filter(quats, t_s)
        norms = np.linalg.norm(filtered, axis=-1, keepdims=True)
        # Opposite quaternions can only cancel out if the signal jumped by ~pi within one
        # step; the new sample is then the better answer.
        degenerate = norms[:, 0] < 1e-6
        filtered[degenerate] = quats[degenerate]
        norms[degenerate] = 1.0
        rotvec = Rotation.from_quat(filtered / norms).as_rotvec()
        return rotvec.reshape(axis_angle.shape).astype(axis_angle.dtype, copy=False)


class PoseSmoother:
    """Smooth one person's parameters over time (one instance per track)."""

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self._rotations: dict[str, RotationSmoother] = {}
        self._vectors: dict[str, OneEuroFilter] = {}
        self._last_time_s: float | None = None

    @property
    def last_time_s(self) -> float | None:
        return self._last_time_s

    def reset(self) -> None:
        self._rotations.clear()
        self._vectors.clear()
        self._last_time_s = None

    def __call__(self, params: Mapping[str, np.ndarray], t_s: float) -> dict[str, np.ndarray]:
        """Smoothed copy of ``params`` (same keys, shapes and dtypes) at time ``t_s``."""
        cfg = self.config
        if not cfg.enabled:
            return dict(params)
        if self._last_time_s is not None and t_s - self._last_time_s > cfg.max_gap_s:
            self.reset()  # too long unseen: the old state would only drag the new pose
        self._last_time_s = t_s
        out: dict[str, np.ndarray] = {}
        for key, value in params.items():
            if key in cfg.rotation_keys:
                out[key] = self._rotation_smoother(key)(value, t_s)
                continue
            beta = self._vector_beta(key)
            if beta is None:
                out[key] = value
                continue
            array = np.asarray(value)
            smoothed = self._vector_filter(key, beta)(array, t_s)
            out[key] = smoothed.astype(array.dtype, copy=False)
        return out

    def _vector_beta(self, key: str) -> float | None:
        cfg = self.config
        for keys, beta in (
            (cfg.translation_keys, cfg.translation_beta),
            (cfg.keypoint_keys, cfg.keypoint_beta),
            (cfg.vector_keys, cfg.vector_beta),
        ):
            if key in keys:
                return beta
        return None

    def _rotation_smoother(self, key: str) -> RotationSmoother:
        if key not in self._rotations:
            self._rotations[key] = RotationSmoother(self.config.one_euro(self.config.rotation_beta))
        return self._rotations[key]

    def _vector_filter(self, key: str, beta: float) -> OneEuroFilter:
        if key not in self._vectors:
            self._vectors[key] = OneEuroFilter(self.config.one_euro(beta))
        return self._vectors[key]


class MultiPersonSmoother:
    """A PoseSmoother per track id, forgetting tracks unseen for longer than max_gap_s."""

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self._tracks: dict[int, PoseSmoother] = {}

    @property
    def track_ids(self) -> list[int]:
        return sorted(self._tracks)

    def __call__(
        self, track_id: int, params: Mapping[str, np.ndarray], t_s: float
    ) -> dict[str, np.ndarray]:
        smoother = self._tracks.get(track_id)
        if smoother is None:
            smoother = self._tracks[track_id] = PoseSmoother(self.config)
        return smoother(params, t_s)

    def prune(self, t_s: float) -> None:
        """Drop the state of tracks last seen more than max_gap_s before ``t_s``."""
        horizon = t_s - self.config.max_gap_s
        for track_id in list(self._tracks):
            last = self._tracks[track_id].last_time_s
            if last is None or last < horizon:
                del self._tracks[track_id]
