"""Rotation conversions: against scipy, an independent 6D reference, and AiOS' sign quirk."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from aios_core.body import rotations as rot

LEADING = (2, 3, 4)  # arbitrary leading dimensions


def _random_rotations(count: int, seed: int = 0) -> Rotation:
    return Rotation.random(count, random_state=seed)


def _as_batch(array: np.ndarray, inner: tuple[int, ...]) -> torch.Tensor:
    return torch.from_numpy(array).double().reshape(*LEADING, *inner)


def _reference_rot6d(six: np.ndarray) -> np.ndarray:
    """Gram-Schmidt on a 3x2 matrix read row-major, one vector at a time."""
    out = np.empty((len(six), 3, 3))
    for i, v in enumerate(six):
        a, b = v[[0, 2, 4]], v[[1, 3, 5]]
        c0 = a / np.linalg.norm(a)
        c1 = b - c0.dot(b) * c0
        c1 /= np.linalg.norm(c1)
        out[i] = np.column_stack([c0, c1, np.cross(c0, c1)])
    return out


def test_rot6d_matches_independent_gram_schmidt():
    six = np.random.default_rng(0).standard_normal((24, 6))
    ours = rot.rot6d_to_matrix(_as_batch(six, (6,)))
    assert ours.shape == (*LEADING, 3, 3)
    np.testing.assert_allclose(ours.reshape(-1, 3, 3).numpy(), _reference_rot6d(six), atol=1e-12)


def test_rot6d_output_is_a_rotation_and_float32_matches_float64():
    six = torch.randn(1000, 6, generator=torch.Generator().manual_seed(1))
    matrix = rot.rot6d_to_matrix(six)
    eye = torch.eye(3).expand_as(matrix)
    torch.testing.assert_close(matrix @ matrix.transpose(-1, -2), eye, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(matrix), torch.ones(1000), atol=1e-5, rtol=0)
    torch.testing.assert_close(matrix.double(), rot.rot6d_to_matrix(six.double()), atol=1e-4,
                               rtol=0)


def test_matrix_to_rot6d_is_first_two_columns_row_major_and_inverts():
    matrices = _as_batch(_random_rotations(24).as_matrix(), (3, 3))
    six = rot.matrix_to_rot6d(matrices)
    expected = torch.stack([matrices[..., r, c] for r in range(3) for c in range(2)], -1)
    assert torch.equal(six, expected)
    torch.testing.assert_close(rot.rot6d_to_matrix(six), matrices, atol=1e-12, rtol=0)


def test_axis_angle_to_matrix_matches_scipy():
    rotations = _random_rotations(24, seed=2)
    ours = rot.axis_angle_to_matrix(_as_batch(rotations.as_rotvec(), (3,)))
    np.testing.assert_allclose(ours.reshape(-1, 3, 3).numpy(), rotations.as_matrix(), atol=1e-12)


def test_matrix_to_axis_angle_matches_scipy():
    rotations = _random_rotations(24, seed=3)
    ours = rot.matrix_to_axis_angle(_as_batch(rotations.as_matrix(), (3, 3)))
    np.testing.assert_allclose(ours.reshape(-1, 3).numpy(), rotations.as_rotvec(), atol=1e-10)


def test_quaternions_match_scipy_scalar_last_order():
    rotations = _random_rotations(24, seed=4)
    scipy_wxyz = np.roll(rotations.as_quat(), 1, axis=-1)
    scipy_wxyz *= np.where(scipy_wxyz[:, :1] < 0, -1.0, 1.0)
    from_matrix = rot.matrix_to_quaternion(_as_batch(rotations.as_matrix(), (3, 3)))
    from_aa = rot.axis_angle_to_quaternion(_as_batch(rotations.as_rotvec(), (3,)))
    np.testing.assert_allclose(from_matrix.reshape(-1, 4).numpy(), scipy_wxyz, atol=1e-12)
    np.testing.assert_allclose(from_aa.reshape(-1, 4).numpy(), scipy_wxyz, atol=1e-12)
    back = rot.quaternion_to_matrix(_as_batch(scipy_wxyz * 3.0, (4,)))  # any norm
    np.testing.assert_allclose(back.reshape(-1, 3, 3).numpy(), rotations.as_matrix(), atol=1e-12)
    to_aa = rot.quaternion_to_axis_angle(_as_batch(scipy_wxyz, (4,)))
    np.testing.assert_allclose(to_aa.reshape(-1, 3).numpy(), rotations.as_rotvec(), atol=1e-12)


@pytest.mark.parametrize("angle", [0.0, 1e-9, 1e-5, 1e-3, 0.5, math.pi - 1e-3, math.pi - 1e-6])
def test_round_trips_near_zero_and_pi_in_float32(angle):
    axes = torch.nn.functional.normalize(torch.randn(256, 3, generator=torch.Generator()
                                                     .manual_seed(5)), dim=-1)
    axis_angle = axes * angle
    matrix = rot.axis_angle_to_matrix(axis_angle)
    expected = torch.from_numpy(Rotation.from_rotvec(axis_angle.double().numpy()).as_matrix())
    torch.testing.assert_close(matrix.double(), expected, atol=2e-6, rtol=0)
    back = rot.axis_angle_to_matrix(rot.matrix_to_axis_angle(matrix))
    torch.testing.assert_close(back, matrix, atol=2e-6, rtol=0)
    via_quaternion = rot.quaternion_to_matrix(rot.axis_angle_to_quaternion(axis_angle))
    torch.testing.assert_close(via_quaternion, matrix, atol=2e-6, rtol=0)


def test_aios_axis_angle_keeps_the_unstandardised_sign():
    # 120 degrees about -x: the pivot is x, so pytorch3d 0.6.1 returns w < 0, and the
    # official result is the same rotation as 240 degrees about +x.
    matrix = rot.axis_angle_to_matrix(torch.tensor([-2 * math.pi / 3, 0.0, 0.0]))
    torch.testing.assert_close(rot.matrix_to_axis_angle_aios(matrix),
                               torch.tensor([4 * math.pi / 3, 0.0, 0.0]))
    torch.testing.assert_close(rot.matrix_to_axis_angle(matrix),
                               torch.tensor([-2 * math.pi / 3, 0.0, 0.0]))
    assert rot.matrix_to_quaternion(matrix, standardize=False)[0] < 0


def test_aios_axis_angle_is_the_same_rotation():
    six = torch.randn(4000, 6, generator=torch.Generator().manual_seed(6))
    matrix = rot.rot6d_to_matrix(six)
    axis_angle = rot.rot6d_to_axis_angle_aios(six)
    assert (axis_angle.norm(dim=-1) > math.pi + 1e-3).any()  # the quirk does occur
    torch.testing.assert_close(rot.axis_angle_to_matrix(axis_angle), matrix, atol=1e-5, rtol=0)


def test_gradients_are_finite_at_identity_and_zero():
    zero = torch.zeros(3, 3, requires_grad=True)
    rot.axis_angle_to_matrix(zero).sum().backward()
    rot.axis_angle_to_quaternion(zero).sum().backward()
    identity = torch.eye(3).repeat(2, 1, 1).requires_grad_()
    rot.matrix_to_axis_angle(identity).sum().backward()
    six = torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]], requires_grad=True)
    rot.rot6d_to_axis_angle_aios(six).sum().backward()
    for grad in (zero.grad, identity.grad, six.grad):
        assert torch.isfinite(grad).all()
    # d(axis-angle)/dR at the identity is the skew part: (R21 - R12, ...) / 2.
    assert identity.grad[0, 2, 1] == pytest.approx(0.5)


def test_wrong_trailing_shape_is_rejected():
    with pytest.raises(ValueError, match=r"\(\.\.\., 6\)"):
        rot.rot6d_to_matrix(torch.zeros(4, 9))


def test_aios_axis_angle_of_the_zero_matrix_is_zero():
    # The official network builds its eye poses as zeros_like(rotation matrices) and converts
    # them with rotmat_to_aa; that path maps the all-zero matrix to the zero vector.
    result = rot.matrix_to_axis_angle_aios(torch.zeros(2, 1, 3, 3))
    assert torch.equal(result, torch.zeros(2, 1, 3))
