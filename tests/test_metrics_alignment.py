import numpy as np
import pytest

from aios_core.evaluation.alignment import (
    hip_midpoint,
    move_root_onto,
    point_distances,
    similarity_align,
    similarity_transform,
)


def rotation_about_axis(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


@pytest.fixture
def cloud() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(50, 3))


def test_similarity_of_gt_aligns_to_zero_and_recovers_parameters(cloud):
    rot = rotation_about_axis(np.array([1.0, 2.0, 3.0]), 0.7)
    scale, shift = 1.7, np.array([0.3, -2.0, 5.0])
    pred = scale * cloud @ rot.T + shift
    # Aligning pred onto the GT inverts the transform.
    s, r, t = similarity_transform(pred, cloud)
    assert s == pytest.approx(1 / scale)
    np.testing.assert_allclose(r, rot.T, atol=1e-10)
    np.testing.assert_allclose(similarity_align(pred, cloud), cloud, atol=1e-10)
    assert point_distances(similarity_align(pred, cloud), cloud).max() < 1e-9


def test_unaligned_error_of_a_pure_scaling_is_known(cloud):
    # pred = 2 * gt about the origin: each point is off by exactly |x|.
    pred = 2.0 * cloud
    np.testing.assert_allclose(point_distances(pred, cloud), np.linalg.norm(cloud, axis=1))
    assert point_distances(similarity_align(pred, cloud), cloud).max() < 1e-9


def test_batched_alignment_equals_one_by_one(cloud):
    rng = np.random.default_rng(1)
    sources = rng.normal(size=(4, 50, 3))
    targets = np.stack([cloud] * 4)
    batched = similarity_align(sources, targets)
    for i in range(4):
        np.testing.assert_allclose(batched[i], similarity_align(sources[i], cloud), atol=1e-12)


def test_reflection_is_not_used(cloud):
    mirrored = cloud * np.array([1.0, 1.0, -1.0])
    _, rot, _ = similarity_transform(mirrored, cloud)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    # A proper rotation cannot undo a mirror: some error must remain.
    assert point_distances(similarity_align(mirrored, cloud), cloud).mean() > 0.1


def test_float32_stays_float32(cloud):
    aligned = similarity_align(cloud.astype(np.float32), cloud.astype(np.float32))
    assert aligned.dtype == np.float32


def test_root_helpers():
    joints = np.zeros((3, 3))
    joints[1], joints[2] = [2.0, 0, 0], [0, 4.0, 0]
    np.testing.assert_allclose(hip_midpoint(joints), [[1.0, 2.0, 0.0]])
    points = np.ones((5, 3))
    moved = move_root_onto(points, np.array([[1.0, 1, 1]]), np.array([[0.0, 0, 3]]))
    np.testing.assert_allclose(moved, np.tile([0.0, 0, 3], (5, 1)))
