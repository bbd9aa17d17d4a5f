"""Point-set alignment used by the benchmark metrics (numpy, batched over leading axes).

Shapes: point sets are ``(..., N, 3)``; every leading axis is an independent person.
All functions keep the caller's dtype (AiOS evaluates float32 meshes, the AGORA toolkit
whatever its inputs are), so results match the reference arithmetic to float tolerance.
"""

from __future__ import annotations

import numpy as np

# SMPL-X joint indices of the roots used for translation alignment (rows of J_regressor).
PELVIS = 0
NECK = 12
LEFT_WRIST = 20
RIGHT_WRIST = 21
# AGORA's body root is the midpoint of the two hips, not the pelvis joint.
LEFT_HIP = 1
RIGHT_HIP = 2


def point_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance per point: (..., N, 3), (..., N, 3) -> (..., N)."""
    return np.sqrt(np.sum((a - b) ** 2, axis=-1))


def hip_midpoint(joints: np.ndarray) -> np.ndarray:
    """AGORA body root: (..., J, 3) -> (..., 1, 3), mean of the left and right hip."""
    return ((joints[..., LEFT_HIP, :] + joints[..., RIGHT_HIP, :]) / 2.0)[..., None, :]


def first_row_root(joints: np.ndarray) -> np.ndarray:
    """AGORA hand/face root: the part's own row 0 (wrist or neck): (..., J, 3) -> (..., 1, 3)."""
    return joints[..., :1, :]


def subtract_root(points: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Express points relative to a root: (..., N, 3) - (..., 1, 3)."""
    return points - root


def move_root_onto(points: np.ndarray, root_from: np.ndarray, root_to: np.ndarray) -> np.ndarray:
    """Translate ``points`` so ``root_from`` lands on ``root_to`` (AiOS's PVE alignment).

    Evaluated as ``points - root_from + root_to``, the order AiOS uses.
    """
    return points - root_from + root_to


def regress_joints(j_regressor: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Joints from a (J, V) regressor and (..., V, 3) vertices -> (..., J, 3)."""
    return np.einsum("jv,...vc->...jc", j_regressor, verts)


def similarity_transform(
    source: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares similarity (scale, rotation, translation) taking ``source`` onto ``target``.

    Umeyama's method as AiOS computes it: cross-covariance divided by N, a reflection is
    fixed by negating the last singular value and the last right singular vector, and the
    scale is the sum of singular values over the (population) variance of the source.
    Returns scale (...,), rotation (..., 3, 3), translation (..., 3).
    """
    lead_shape = source.shape[:-2]
    source = source.reshape(-1, *source.shape[-2:])
    target = target.reshape(-1, *target.shape[-2:])
    n = source.shape[-2]
    source_mean = source.mean(axis=-2, keepdims=True)
    target_mean = target.mean(axis=-2, keepdims=True)
    source_centred = source - source_mean
    target_centred = target - target_mean
    covariance = np.swapaxes(source_centred, -1, -2) @ target_centred / n  # (..., 3, 3)
    u, sing, vh = np.linalg.svd(covariance)
    rotation = np.swapaxes(vh, -1, -2) @ np.swapaxes(u, -1, -2)
    reflected = np.linalg.det(rotation) < 0
    if np.any(reflected):
        sing = sing.copy()
        vh = vh.copy()
        sing[reflected, -1] *= -1
        vh[reflected, -1, :] *= -1
        rotation = np.swapaxes(vh, -1, -2) @ np.swapaxes(u, -1, -2)
    source_variance = np.sum(np.mean(source_centred**2, axis=-2), axis=-1)
    scale = 1 / source_variance * np.sum(sing, axis=-1)
    scaled_rotation = scale[..., None, None] * rotation
    translation = target_mean[..., 0, :] - (scaled_rotation @ source_mean[..., 0, :, None])[..., 0]
    return (
        scale.reshape(lead_shape),
        rotation.reshape(*lead_shape, 3, 3),
        translation.reshape(*lead_shape, 3),
    )


def similarity_align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` (..., N, 3) after the best similarity transform onto ``target`` (PA alignment)."""
    scale, rotation, translation = similarity_transform(source, target)
    scaled_rotation = scale[..., None, None] * rotation
    return source @ np.swapaxes(scaled_rotation, -1, -2) + translation[..., None, :]
