"""Foot contact labels and foot locking on people walking with truly planted feet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aios_core.body import SmplxModel
from aios_core.export.rest_shape import RestShape
from aios_core.feet import metrics
from aios_core.feet.contact import ContactConfig, detect_contacts
from aios_core.feet.leg_chain import leg_rotations, pose_legs
from aios_core.feet.lock import lock_feet
from aios_core.feet.rig import foot_rig
from tests.export_synthetic import flat_hand_smplx, smplx_posed
from tests.synthetic_walk import FPS, leg_fk, noisy, walk


@pytest.fixture(scope="module")
def rig(smplx_model_dir):
    shape = RestShape(SmplxModel(smplx_model_dir))
    betas = np.zeros(10)
    return foot_rig(shape.rest_joints(betas), shape.shaped_template(betas),
                    shape.skinning_weights)


@pytest.fixture(scope="module")
def scene(rig):
    truth = walk(rig, frames=120, heading_rad=0.6, start_m=(1.0, -2.0))
    estimate = noisy(truth, seed=3, transl_sigma_m=0.008, rotation_sigma_rad=0.015)
    return truth, estimate


def test_leg_chain_matches_smplx_joints(rig, smplx_model_dir):
    rng = np.random.default_rng(0)
    orient, transl = rng.normal(scale=0.5, size=(4, 3)), rng.normal(size=(4, 3))
    body_pose = rng.normal(scale=0.4, size=(4, 21, 3))
    poses = np.zeros((4, 55, 3))
    poses[:, 0], poses[:, 1:22] = orient, body_pose
    reference, _ = smplx_posed(flat_hand_smplx(smplx_model_dir), poses, transl, np.zeros(10),
                               np.zeros((4, 10)))
    t = torch.as_tensor
    legs, points = pose_legs(rig, t(orient), t(transl), leg_rotations(t(body_pose)))
    chain = [[1, 4, 7, 10], [2, 5, 8, 11]]
    np.testing.assert_allclose(legs.numpy(), reference[:, chain], atol=1e-5)
    # With no foot vertices skinned to the feet (stand-in model), the points are the joints.
    np.testing.assert_allclose(points.numpy(), reference[:, [7, 10, 8, 11]], atol=1e-5)


def test_contacts_are_found_on_a_walk(rig, scene):
    truth, estimate = scene
    _, points = leg_fk(rig, estimate.global_orient, estimate.transl_m, estimate.body_pose)
    labels = detect_contacts(points, estimate.times_s, rig.contact_height_m)
    assert truth.contact.mean() == pytest.approx(0.5, abs=0.05)
    assert metrics.contact_f1(labels, truth.contact) >= 0.9


def test_hysteresis_keeps_a_label_through_noise_between_the_thresholds():
    config = ContactConfig()
    frames = 40
    times = np.arange(frames) / FPS
    height = np.full(frames, 0.2)
    height[10:30] = 0.0
    # Noise between the on (5 cm) and off (8 cm) heights while down: still one contact.
    height[15:25] = np.where(np.arange(10) % 2, 0.065, 0.0)
    points = np.zeros((frames, 1, 3))
    points[:, 0, 1] = height
    labels = detect_contacts(points, times, np.zeros(1), config)[:, 0]
    assert labels[10:30].all() and not labels[:10].any() and not labels[30:].any()


def test_locking_plants_feet_without_losing_accuracy(rig, scene):
    truth, estimate = scene
    true_joints, true_points = leg_fk(rig, truth.global_orient, truth.transl_m, truth.body_pose)
    raw_joints, raw_points = leg_fk(rig, estimate.global_orient, estimate.transl_m,
                                    estimate.body_pose)
    labels = detect_contacts(raw_points, estimate.times_s, rig.contact_height_m)
    locked = lock_feet(rig, estimate.global_orient, estimate.transl_m, estimate.body_pose,
                       labels)
    joints, points = leg_fk(rig, estimate.global_orient, locked.transl_m, locked.body_pose)
    raw_skate, _ = metrics.foot_skate_cm(raw_points, truth.contact)
    skate, share = metrics.foot_skate_cm(points, truth.contact)
    assert raw_skate > 1.0 and skate < 0.3 * raw_skate and skate < 1.0 and share < 0.2
    assert metrics.penetration_cm(points, rig.contact_height_m) < 0.05
    assert (metrics.joint_error_mm(joints, true_joints)
            < metrics.joint_error_mm(raw_joints, true_joints) + 5.0)
    # No pops where contacts start or end: no more jerk than the raw estimate.
    assert metrics.jitter_m_s3(joints, FPS) <= metrics.jitter_m_s3(raw_joints, FPS)
    # Only the leg rows of the body pose change.
    others = np.setdiff1d(np.arange(21), [0, 1, 3, 4, 6, 7, 9, 10])
    np.testing.assert_array_equal(locked.body_pose[:, others], estimate.body_pose[:, others])


def test_motion_without_contacts_is_returned_unchanged(rig, scene):
    _, estimate = scene
    locked = lock_feet(rig, estimate.global_orient, estimate.transl_m, estimate.body_pose,
                       np.zeros((len(estimate.transl_m), 4), bool))
    np.testing.assert_array_equal(locked.transl_m, estimate.transl_m)
    np.testing.assert_array_equal(locked.body_pose, estimate.body_pose)
