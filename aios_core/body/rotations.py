"""Rotation conversions: 6D, rotation matrix, axis-angle, quaternion.

Every function is batched over arbitrary leading dimensions (``...``), keeps dtype and device,
and is differentiable, including at the identity (no NaN gradients from square roots or
divisions by a zero angle).

Conventions
-----------
* Rotation matrices act on column vectors: ``p_rotated = R @ p``.
* Quaternions are ``(w, x, y, z)``, real part first (the pytorch3d order used by AiOS).
* Axis-angle: direction is the rotation axis, norm is the angle in radians (right-handed).
* 6D, as the AiOS network emits it (``rot6d_to_rotmat`` of detrsmpl): the six numbers are read
  as a 3x2 matrix in row-major order, ``[a0, b0, a1, b1, a2, b2]``, so the even entries form
  column ``a`` and the odd entries column ``b``. Gram-Schmidt gives the matrix columns
  ``c0 = a / |a|``, ``c1 = normalise(b - (c0 . b) c0)``, ``c2 = c0 x c1``. Hence the 6D of a
  rotation matrix is its first two columns flattened row by row:
  ``(R00, R01, R10, R11, R20, R21)``. (pytorch3d's own ``rotation_6d_to_matrix`` reads rows
  instead; it is NOT the AiOS convention.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# Below these squared angles the closed forms lose precision; a Taylor expansion takes over.
_SMALL_ANGLE_SQ = 1e-6
# The AiOS path (pytorch3d quaternion_to_axis_angle) switches to Taylor below this angle.
_SMALL_ANGLE = 1e-6
# Floor of the denominator of the quaternion candidates (any value well below 0.5 works,
# since the best-conditioned candidate always has |2 q_k| >= 1; 0.1 as pytorch3d).
_CANDIDATE_FLOOR = 0.1


def _check_last_dims(tensor: Tensor, expected: tuple[int, ...], what: str) -> None:
    if tuple(tensor.shape[tensor.dim() - len(expected) :]) != expected:
        raise ValueError(f"{what} must have shape (..., {', '.join(map(str, expected))}), "
                         f"got {tuple(tensor.shape)}")


def _sqrt_nonneg(x: Tensor) -> Tensor:
    """sqrt(max(x, 0)) with a zero (not infinite) gradient where x <= 0."""
    positive = x > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, x, torch.ones_like(x))), 0.0)


def rot6d_to_matrix(rot6d: Tensor) -> Tensor:
    """(..., 6) AiOS 6D (see module docstring) -> (..., 3, 3) rotation matrix."""
    _check_last_dims(rot6d, (6,), "rot6d")
    as_3x2 = rot6d.reshape(*rot6d.shape[:-1], 3, 2)
    col_a, col_b = as_3x2[..., 0], as_3x2[..., 1]
    # F.normalize clamps the norm at 1e-12, exactly as the official conversion does.
    first = F.normalize(col_a, dim=-1)
    second = F.normalize(col_b - (first * col_b).sum(-1, keepdim=True) * first, dim=-1)
    third = torch.cross(first, second, dim=-1)
    return torch.stack((first, second, third), dim=-1)


def matrix_to_rot6d(matrix: Tensor) -> Tensor:
    """(..., 3, 3) rotation matrix -> (..., 6) AiOS 6D: first two columns, row-major."""
    _check_last_dims(matrix, (3, 3), "matrix")
    return matrix[..., :, :2].reshape(*matrix.shape[:-2], 6)


def _skew(vector: Tensor) -> Tensor:
    """(..., 3) -> (..., 3, 3) cross-product matrix [v]x."""
    x, y, z = vector.unbind(-1)
    zero = torch.zeros_like(x)
    rows = (zero, -z, y, z, zero, -x, -y, x, zero)
    return torch.stack(rows, dim=-1).reshape(*vector.shape[:-1], 3, 3)


def axis_angle_to_matrix(axis_angle: Tensor) -> Tensor:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrix (Rodrigues)."""
    _check_last_dims(axis_angle, (3,), "axis_angle")
    angle_sq = (axis_angle * axis_angle).sum(-1)[..., None, None]
    small = angle_sq < _SMALL_ANGLE_SQ
    angle = torch.sqrt(torch.where(small, torch.ones_like(angle_sq), angle_sq))
    # R = I + sin(t)/t [v]x + (1 - cos t)/t^2 [v]x^2 ; the second factor written as
    # 2 sin^2(t/2) / t^2, which unlike 1 - cos(t) keeps full precision for small t.
    sin_over = torch.where(small, 1.0 - angle_sq / 6.0, torch.sin(angle) / angle)
    half_sin = torch.sin(0.5 * angle) / angle
    one_minus_cos_over = torch.where(small, 0.5 - angle_sq / 24.0, 2.0 * half_sin * half_sin)
    skew = _skew(axis_angle)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + sin_over * skew + one_minus_cos_over * (skew @ skew)


def matrix_to_quaternion(matrix: Tensor, standardize: bool = True) -> Tensor:
    """(..., 3, 3) rotation matrix -> (..., 4) quaternion (w, x, y, z).

    Computes the four candidate quaternions (one per component used as pivot) and keeps the
    best-conditioned one, the same construction as pytorch3d 0.6.1 (AiOS' pinned version),
    so it is stable near angle pi. ``standardize=True`` flips the sign so that ``w >= 0``;
    ``False`` keeps the pivot's sign, as pytorch3d 0.6.1 does (see matrix_to_axis_angle_aios).
    """
    _check_last_dims(matrix, (3, 3), "matrix")
    m = matrix.reshape(*matrix.shape[:-2], 9)
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m.unbind(-1)
    # |2w|, |2x|, |2y|, |2z| from the diagonal.
    pivot_abs = _sqrt_nonneg(torch.stack((
        1.0 + m00 + m11 + m22,
        1.0 + m00 - m11 - m22,
        1.0 - m00 + m11 - m22,
        1.0 - m00 - m11 + m22,
    ), dim=-1))
    skew_w = torch.stack((m21 - m12, m02 - m20, m10 - m01), dim=-1)  # 4w (x, y, z)
    sym_xy, sym_xz, sym_yz = m10 + m01, m02 + m20, m12 + m21  # 4xy, 4xz, 4yz
    # Re-squared (rather than reusing 1 + trace ...) to round exactly as pytorch3d does.
    squared = pivot_abs * pivot_abs
    # Row k: 4 q_k q (pivot k), each to be divided by 4 |q_k|.
    scaled = torch.stack((
        torch.stack((squared[..., 0], skew_w[..., 0], skew_w[..., 1], skew_w[..., 2]), -1),
        torch.stack((skew_w[..., 0], squared[..., 1], sym_xy, sym_xz), -1),
        torch.stack((skew_w[..., 1], sym_xy, squared[..., 2], sym_yz), -1),
        torch.stack((skew_w[..., 2], sym_xz, sym_yz, squared[..., 3]), -1),
    ), dim=-2)
    candidates = scaled / (2.0 * pivot_abs.clamp_min(_CANDIDATE_FLOOR))[..., None]
    best = pivot_abs.argmax(dim=-1)  # ties: the first index, as torch.argmax documents
    index = best[..., None, None].expand(*best.shape, 1, 4)
    quaternion = torch.gather(candidates, -2, index).squeeze(-2)
    if standardize:
        quaternion = torch.where(quaternion[..., :1] < 0, -quaternion, quaternion)
    return quaternion


def quaternion_to_matrix(quaternion: Tensor) -> Tensor:
    """(..., 4) quaternion (w, x, y, z), any non-zero norm -> (..., 3, 3) rotation matrix."""
    _check_last_dims(quaternion, (4,), "quaternion")
    w, x, y, z = quaternion.unbind(-1)
    two_over_norm_sq = 2.0 / (quaternion * quaternion).sum(-1)
    entries = (
        1.0 - two_over_norm_sq * (y * y + z * z),
        two_over_norm_sq * (x * y - z * w),
        two_over_norm_sq * (x * z + y * w),
        two_over_norm_sq * (x * y + z * w),
        1.0 - two_over_norm_sq * (x * x + z * z),
        two_over_norm_sq * (y * z - x * w),
        two_over_norm_sq * (x * z - y * w),
        two_over_norm_sq * (y * z + x * w),
        1.0 - two_over_norm_sq * (x * x + y * y),
    )
    return torch.stack(entries, dim=-1).reshape(*quaternion.shape[:-1], 3, 3)


def quaternion_to_axis_angle(quaternion: Tensor) -> Tensor:
    """(..., 4) unit quaternion -> (..., 3) axis-angle.

    The angle is 2 atan2(|xyz|, w): in [0, pi] when w >= 0, in (pi, 2 pi] when w < 0 (the
    same rotation, the long way round), exactly as pytorch3d's quaternion_to_axis_angle.
    """
    _check_last_dims(quaternion, (4,), "quaternion")
    vector = quaternion[..., 1:]
    # torch's 2-norm has a zero (not NaN) gradient at the zero vector.
    vector_norm = torch.linalg.vector_norm(vector, dim=-1, keepdim=True)
    half_angle = torch.atan2(vector_norm, quaternion[..., :1])
    angle = 2.0 * half_angle
    small = angle.abs() < _SMALL_ANGLE
    safe_angle = torch.where(small, torch.ones_like(angle), angle)
    # sin(t/2) / t, with its Taylor expansion 1/2 - t^2/48 near 0.
    sin_half_over_angle = torch.where(
        small, 0.5 - angle * angle / 48.0, torch.sin(half_angle) / safe_angle
    )
    return vector / sin_half_over_angle


def axis_angle_to_quaternion(axis_angle: Tensor) -> Tensor:
    """(..., 3) axis-angle -> (..., 4) unit quaternion (w, x, y, z)."""
    _check_last_dims(axis_angle, (3,), "axis_angle")
    angle_sq = (axis_angle * axis_angle).sum(-1, keepdim=True)
    small = angle_sq < _SMALL_ANGLE_SQ
    angle = torch.sqrt(torch.where(small, torch.ones_like(angle_sq), angle_sq))
    half_angle_sq = 0.25 * angle_sq
    cos_half = torch.where(small, 1.0 - half_angle_sq / 2.0, torch.cos(0.5 * angle))
    sin_half_over_angle = torch.where(small, 0.5 - angle_sq / 48.0, torch.sin(0.5 * angle) / angle)
    return torch.cat((cos_half, axis_angle * sin_half_over_angle), dim=-1)


def matrix_to_axis_angle(matrix: Tensor) -> Tensor:
    """(..., 3, 3) rotation matrix -> (..., 3) axis-angle with angle in [0, pi]."""
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix, standardize=True))


def matrix_to_axis_angle_aios(matrix: Tensor) -> Tensor:
    """(..., 3, 3) -> (..., 3) axis-angle exactly as AiOS' ``rotmat_to_aa`` returns it.

    The official path is pytorch3d 0.6.1 ``matrix_to_quaternion`` (which does not standardise
    the sign) followed by ``quaternion_to_axis_angle``. When the pivot is x, y or z and the
    corresponding axis component is negative, w comes out negative and the result is the
    same rotation expressed with angle 2 pi - t about the opposite axis (norm in (pi, 2 pi]).
    Use this where outputs must match the official network (``pred_smpl_fullpose``); the
    resulting vertices are identical either way.
    """
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix, standardize=False))


def rot6d_to_axis_angle_aios(rot6d: Tensor) -> Tensor:
    """(..., 6) AiOS 6D -> (..., 3) axis-angle along the official path (6D -> matrix -> aa)."""
    return matrix_to_axis_angle_aios(rot6d_to_matrix(rot6d))

