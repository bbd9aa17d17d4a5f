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
from aios_core.feet.rig import BodyScale, foot_rig
from aios_core.feet.stage import FootStageOptions, add_foot_stage, track_legs, track_rig
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
    labels = detect_contacts(points, estimate.times_s, rig.contact_height_m, rig.scale)
    assert truth.contact.mean() == pytest.approx(0.5, abs=0.05)
    assert metrics.contact_f1(labels, truth.contact) >= 0.9


def test_hysteresis_keeps_a_label_through_noise_between_the_thresholds():
    config = ContactConfig()
    frames = 40
    times = np.arange(frames) / FPS
    scale = BodyScale(leg_length_m=0.8, foot_length_m=0.2)
    height = np.full(frames, 0.2)
    height[10:30] = 0.0
    # Noise between the on (7 cm) and off (11 cm) heights while down: still one contact.
    height[15:25] = np.where(np.arange(10) % 2, 0.09, 0.0)
    points = np.zeros((frames, 1, 3))
    points[:, 0, 1] = height
    labels = detect_contacts(points, times, np.zeros(1), scale, config)[:, 0]
    assert labels[10:30].all() and not labels[:10].any() and not labels[30:].any()


def test_locking_plants_feet_without_losing_accuracy(rig, scene):
    truth, estimate = scene
    true_joints, true_points = leg_fk(rig, truth.global_orient, truth.transl_m, truth.body_pose)
    raw_joints, raw_points = leg_fk(rig, estimate.global_orient, estimate.transl_m,
                                    estimate.body_pose)
    labels = detect_contacts(raw_points, estimate.times_s, rig.contact_height_m, rig.scale)
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


def test_thresholds_follow_the_body():
    """The same motion scaled with the body gets the same labels: thresholds are in leg and
    foot lengths, not metres."""
    frames = 40
    times = np.arange(frames) / FPS
    points = np.zeros((frames, 1, 3))
    points[:, 0, 2] = np.where(np.arange(frames) < 20, 0.0, 0.9 * (times - times[20]))
    points[20:, 0, 1] = 0.02
    adult = detect_contacts(points, times, np.zeros(1), BodyScale(0.8, 0.22))[:, 0]
    child = detect_contacts(points * 0.5, times, np.zeros(1), BodyScale(0.4, 0.11))[:, 0]
    np.testing.assert_array_equal(adult, child)
    assert adult[:20].all() and not adult[22:].any()
    # Raised 3 cm: off the floor for a child's foot, on it for an adult's (3 cm of lift is under
    # the on-height of 0.35 foot lengths only for the bigger foot).
    raised = points.copy()
    raised[:, 0, 1] += 0.03
    assert detect_contacts(raised, times, np.zeros(1), BodyScale(0.8, 0.22))[:20, 0].all()
    assert not detect_contacts(raised, times, np.zeros(1), BodyScale(0.4, 0.05))[:, 0].any()


def _world_walk(world_smplx_dir, **noise):
    from tests.world_results import world_case

    return world_case(world_smplx_dir, frames=90, num_people=1, rotating=False, seed=2,
                      **noise)


CLEAN = dict(transl_sigma_m=0.0, pose_sigma_rad=0.0, orient_sigma_rad=0.0, miss_probability=0.0)


@pytest.fixture(scope="module")
def world_shape(world_smplx_dir):
    return RestShape(SmplxModel(world_smplx_dir))


def _contact_boundaries(case, shape) -> np.ndarray:
    feet = add_foot_stage(case.results, shape, FootStageOptions(lock=False)).feet
    errors = metrics.contact_boundary_frames(feet.contact, case.truth_contact)
    assert len(errors) >= 8  # heel and toe of both feet, several steps each
    return errors[np.isfinite(errors)]


def test_contacts_start_where_the_foot_lands_and_end_where_it_lifts(world_smplx_dir,
                                                                      world_shape):
    clean = _contact_boundaries(_world_walk(world_smplx_dir, **CLEAN), world_shape)
    assert clean.max() <= 1
    noisy = _contact_boundaries(_world_walk(world_smplx_dir), world_shape)
    assert noisy.max() <= 2 and noisy.mean() <= 1.2


def test_locking_clean_motion_moves_no_joint_at_toe_off(world_smplx_dir, world_shape):
    """On noise-free input the feet are already planted: locking must leave the pelvis where it
    is (no pull when a contact label runs into the swing) and add no acceleration peak."""
    case = _world_walk(world_smplx_dir, **CLEAN)
    locked = add_foot_stage(case.results, world_shape)
    track = locked.track_ids()[0]
    rows, raw_legs, _ = track_legs(locked, world_shape, track, locked=False)
    _, legs, points = track_legs(locked, world_shape, track, locked=True)
    pelvis_shift_m = np.linalg.norm(locked.feet.locked_transl_m[rows]
                                    - locked.world.transl_m[rows], axis=1)
    assert pelvis_shift_m.max() < 0.008  # before: 19 mm on this walk, about 5 cm on others
    # A landing labelled one frame early pulls that foot the rest of its way a frame sooner.
    assert np.abs(legs - raw_legs).max() < 0.01
    truth_peak = metrics.peak_acceleration_m_s2(raw_legs.reshape(len(rows), 8, 3), FPS)
    peak = metrics.peak_acceleration_m_s2(legs.reshape(len(rows), 8, 3), FPS)
    assert (peak <= 1.1 * truth_peak).all()
    assert metrics.penetration_cm(points, np.zeros(4)) < 0.05


def test_locking_noisy_motion_bounds_every_joints_peak_acceleration(world_smplx_dir,
                                                                     world_shape):
    """With estimation noise, locking plants the feet and each joint's peak acceleration stays
    within the truth's plus twice what the noise adds to it (a 5 cm pop at a toe-off adds
    about 90 m/s^2, more than the noise does)."""
    case = _world_walk(world_smplx_dir)
    locked = add_foot_stage(case.results, world_shape)
    track = locked.track_ids()[0]
    rows, raw_legs, raw_points = track_legs(locked, world_shape, track, locked=False)
    _, legs, points = track_legs(locked, world_shape, track, locked=True)
    frames = locked.detections["frame_index"][rows]
    steps = np.diff(frames) == 1
    truth_legs, truth_points = _truth_legs(case, world_shape, locked, rows)
    truth_peak = metrics.peak_acceleration_m_s2(truth_legs, FPS, steps)
    raw_peak = metrics.peak_acceleration_m_s2(raw_legs.reshape(len(rows), 8, 3), FPS, steps)
    peak = metrics.peak_acceleration_m_s2(legs.reshape(len(rows), 8, 3), FPS, steps)
    noise = raw_peak - truth_peak  # what the estimate's noise adds to each joint's peak
    assert (noise > 0).all() and (peak <= truth_peak + 2.0 * noise).all()
    # The jittery root path is smoothed: less jerk than the raw estimate, still more than the
    # truth (the pose noise stays).
    jitter = metrics.jitter_m_s3(legs.reshape(len(rows), 8, 3), FPS)
    assert metrics.jitter_m_s3(truth_legs, FPS) < jitter < 0.6 * metrics.jitter_m_s3(
        raw_legs.reshape(len(rows), 8, 3), FPS)
    raw_skate = metrics.wham_foot_skate_mm(raw_points, truth_points, steps)
    skate = metrics.wham_foot_skate_mm(points, truth_points, steps)
    assert skate < 0.2 * raw_skate and skate < 3.0
    assert metrics.penetration_cm(points, np.zeros(4)) < 0.05


def _truth_legs(case, shape, results, rows) -> tuple[np.ndarray, np.ndarray]:
    """The truth's (T, 8, 3) leg joints and (T, 4, 3) foot points at ``rows``."""
    rig = track_rig(shape, results.detections["betas"][rows[0]])
    t = lambda v: torch.as_tensor(np.asarray(v, np.float64))  # noqa: E731
    joints, points = pose_legs(rig, t(case.truth_global_orient[rows]),
                               t(case.truth_transl_m[rows]),
                               leg_rotations(t(case.truth_body_pose[rows])))
    return joints.numpy().reshape(len(rows), 8, 3), points.numpy()
