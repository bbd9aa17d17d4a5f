"""Translations re-derived for another focal length, without re-running the network.

The network places a body at the depth where its known size matches the image through its
virtual camera. Through a camera with focal length f instead of f_virtual, the same image needs
the body at depth z * f / f_virtual, at the same image position: x and y (relative to the
principal point's ray) stay, z scales. This holds for the body's centre of rotation (the
pelvis joint), not for smplx's ``transl`` origin, so the pelvis is moved and ``transl`` follows.
"""

from __future__ import annotations

import numpy as np


def rescale_depth(
    transl_m: np.ndarray,  # (D, 3) camera frame, smplx convention
    rest_pelvis_m: np.ndarray,  # (D, 3) pelvis joint of each unposed body (betas)
    depth_scale: np.ndarray,  # (D,) new / old depth of the pelvis
) -> np.ndarray:  # (D, 3)
    """``transl`` for the same image position with the pelvis depth multiplied by the scale."""
    pelvis = np.asarray(transl_m, np.float64) + rest_pelvis_m
    pelvis[:, 2] *= depth_scale
    return (pelvis - rest_pelvis_m).astype(np.float32)


def scale_along_rays(
    transl_m: np.ndarray, rest_pelvis_m: np.ndarray, ray_scale: np.ndarray
) -> np.ndarray:
    """``transl`` with the pelvis moved along its viewing ray by ``ray_scale`` (D,): the same
    image, the body nearer (< 1) or farther (> 1)."""
    pelvis = np.asarray(transl_m, np.float64) + rest_pelvis_m
    return (pelvis * np.asarray(ray_scale)[:, None] - rest_pelvis_m).astype(np.float32)
