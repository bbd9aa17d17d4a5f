"""Multi-person tracking and temporal smoothing for video inference."""

from aios_core.tracking.one_euro import OneEuroConfig, OneEuroFilter
from aios_core.tracking.smoothing import (
    MultiPersonSmoother,
    PoseSmoother,
    RotationSmoother,
    SmoothingConfig,
)
from aios_core.tracking.tracker import PersonTracker, Track, TrackerConfig

__all__ = [
    "MultiPersonSmoother",
    "OneEuroConfig",
    "OneEuroFilter",
    "PersonTracker",
    "PoseSmoother",
    "RotationSmoother",
    "SmoothingConfig",
    "Track",
    "TrackerConfig",
]
