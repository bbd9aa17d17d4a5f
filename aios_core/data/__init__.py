"""Data set annotation readers (HumanData ``.npz``)."""

from aios_core.data.humandata import (
    BOX_KEYS,
    GENDERS,
    KEYPOINTS2D_KEYS,
    KEYPOINTS3D_KEYS,
    HumanDataError,
    HumanDataFile,
    ImageGroup,
    SmplxParams,
)

__all__ = [
    "BOX_KEYS",
    "GENDERS",
    "KEYPOINTS2D_KEYS",
    "KEYPOINTS3D_KEYS",
    "HumanDataError",
    "HumanDataFile",
    "ImageGroup",
    "SmplxParams",
]
