"""Augmentation: flips swap left/right, geometry follows the image, resize / crop / colour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aios_core.body.keypoints import SMPLX_137_KEYPOINT_NAMES as NAMES
from aios_core.body.rotations import axis_angle_to_matrix
from aios_core.data.augment import (
    AugmentConfig,
    AugmentParams,
    apply_augmentation,
    aspect_kept_crop,
    augment,
    draw_params,
    resized_wh,
)
from aios_core.data.training_sample import TrainingSample

POSE_NAMES = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
              "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
              "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist")


def make_sample(n: int = 2, size_hw: tuple[int, int] = (60, 100), seed: int = 0) -> TrainingSample:
    rng = np.random.default_rng(seed)
    h, w = size_hw
    x1 = rng.uniform(0, w / 2, n)
    y1 = rng.uniform(0, h / 2, n)
    body = np.stack([x1, y1, x1 + w / 3, y1 + h / 3], -1).astype(np.float32)
    joints_2d = np.concatenate([rng.uniform(0, 1, (n, 137, 2)) * [w, h],
                                np.ones((n, 137, 1))], -1).astype(np.float32)
    return TrainingSample(
        image=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        body_boxes=body,
        part_boxes=np.stack([body * 0.5 + k for k in range(3)], 1).astype(np.float32),
        part_box_valid=np.array([[1, 0, 1]] * n, np.float32),
        joints_2d=joints_2d, joints_2d_trunc=np.ones((n, 137), np.float32),
        joints_3d=np.concatenate([rng.normal(0, 1, (n, 137, 3)), np.ones((n, 137, 1))],
                                 -1).astype(np.float32),
        has_3d=True,
        smplx_pose=rng.normal(0, 0.5, (n, 53, 3)).astype(np.float32),
        smplx_pose_valid=(rng.random((n, 53)) > 0.3).astype(np.float32),
        smplx_shape=rng.normal(0, 1, (n, 10)).astype(np.float32),
        smplx_shape_valid=np.ones(n, np.float32),
        smplx_expr=rng.normal(0, 1, (n, 10)).astype(np.float32),
        smplx_expr_valid=np.ones(n, np.float32),
        smplx_joint_valid=(rng.random((n, 137)) > 0.3).astype(np.float32),
    )


def identity_params(sample: TrainingSample, flip: bool) -> AugmentParams:
    h, w = sample.size_hw
    return AugmentParams(crop_xywh=(0.0, 0.0, float(w), float(h)), flip=flip, output_wh=(w, h),
                         colour_scale=(1.0, 1.0, 1.0))


def test_flip_swaps_left_and_right_keypoints() -> None:
    sample = make_sample()
    flipped = apply_augmentation(sample, identity_params(sample, flip=True))
    w = sample.size_hw[1]
    for left, right in (("left_wrist", "right_wrist"), ("left_thumb", "right_thumb"),
                        ("left_index_2", "right_index_2"), ("left_heel", "right_heel")):
        li, ri = NAMES.index(left), NAMES.index(right)
        np.testing.assert_allclose(flipped.joints_2d[:, li, 0], w - 1 - sample.joints_2d[:, ri, 0],
                                   atol=1e-3)
        np.testing.assert_allclose(flipped.joints_2d[:, li, 1], sample.joints_2d[:, ri, 1],
                                   atol=1e-3)
        np.testing.assert_allclose(flipped.joints_3d[:, li, 0], -sample.joints_3d[:, ri, 0])
        np.testing.assert_allclose(flipped.joints_3d[:, ri, 1:], sample.joints_3d[:, li, 1:])
    nose = NAMES.index("nose")  # unpaired: mirrored in place
    np.testing.assert_allclose(flipped.joints_2d[:, nose, 0], w - 1 - sample.joints_2d[:, nose, 0],
                               atol=1e-3)
    # hand boxes and their validity change sides; the face box stays the face box
    np.testing.assert_array_equal(flipped.part_box_valid, sample.part_box_valid[:, [1, 0, 2]])


def test_flip_swaps_and_mirrors_smplx_pose() -> None:
    sample = make_sample()
    flipped = apply_augmentation(sample, identity_params(sample, flip=True))
    pairs = [(POSE_NAMES.index(f"left_{j}"), POSE_NAMES.index(f"right_{j}"))
             for j in ("hip", "knee", "ankle", "foot", "collar", "shoulder", "elbow", "wrist")]
    pairs += [(22 + k, 37 + k) for k in range(15)]  # left hand joint k <-> right hand joint k
    mirror = np.array([-1.0, 1.0, 1.0], np.float32)
    for left, right in pairs:
        np.testing.assert_allclose(flipped.smplx_pose[:, left],
                                   -mirror * sample.smplx_pose[:, right])
        np.testing.assert_array_equal(flipped.smplx_pose_valid[:, left],
                                      sample.smplx_pose_valid[:, right])
    # The mirrored rotation is M R M with M = diag(-1, 1, 1): a true mirror image, not a guess.
    m = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))
    for joint in (0, 15, 52):  # pelvis, head, jaw (unpaired)
        before = axis_angle_to_matrix(torch.from_numpy(sample.smplx_pose[:, joint]))
        after = axis_angle_to_matrix(torch.from_numpy(flipped.smplx_pose[:, joint]))
        torch.testing.assert_close(after, m @ before @ m, atol=1e-5, rtol=0)


def test_flip_twice_is_identity() -> None:
    sample = make_sample()
    twice = apply_augmentation(apply_augmentation(sample, identity_params(sample, True)),
                               identity_params(sample, True))
    for name in ("joints_2d", "joints_3d", "smplx_pose", "body_boxes", "part_boxes",
                 "part_box_valid", "smplx_joint_valid"):
        np.testing.assert_allclose(getattr(twice, name), getattr(sample, name), atol=1e-3,
                                   err_msg=name)
    np.testing.assert_array_equal(twice.image, sample.image.astype(np.float32))


@pytest.mark.parametrize("flip", [False, True])
def test_keypoints_follow_the_image_through_crop_resize_and_flip(flip: bool) -> None:
    sample = make_sample(n=1, size_hw=(80, 120))
    image = np.zeros((80, 120, 3), np.uint8)
    x, y = 70, 30
    image[y, x] = 255
    sample.image = image
    sample.joints_2d[0, 0, :2] = (x, y)
    params = AugmentParams(crop_xywh=(40.0, 10.0, 60.0, 40.0), flip=flip, output_wh=(150, 100),
                           colour_scale=(1.0, 1.0, 1.0))
    out = apply_augmentation(sample, params)
    assert out.image.shape == (100, 150, 3)
    peak_y, peak_x = np.unravel_index(out.image[..., 0].argmax(), out.image.shape[:2])
    assert abs(out.joints_2d[0, 0, 0] - peak_x) <= 1.5
    assert abs(out.joints_2d[0, 0, 1] - peak_y) <= 1.5


def test_resize_rule() -> None:
    assert resized_wh((1920, 1080), 800, 1333) == (1333, 750)
    assert resized_wh((640, 480), 800, 1333) == (1066, 800)
    assert resized_wh((480, 640), 480, 1333) == (480, 640)  # already the size
    config = AugmentConfig()
    rng = np.random.default_rng(0)
    for _ in range(20):
        params = draw_params(make_sample(size_hw=(300, 700)), rng, config)
        w, h = params.output_wh
        assert max(w, h) <= 1333
        assert min(w, h) in config.short_sides or max(w, h) >= 1332


def test_instance_crop_keeps_aspect_and_contains_the_chosen_person() -> None:
    sample = make_sample(n=3, size_hw=(90, 160), seed=3)
    config = AugmentConfig(crop_probability=1.0, subset_probability=1.0,
                           single_person_probability=1.0, flip_probability=0.0)
    rng = np.random.default_rng(1)
    for _ in range(10):
        params = draw_params(sample, rng, config)
        x, y, w, h = params.crop_xywh
        assert abs(w / h - 160 / 90) < 0.05
        assert x >= 0 and y >= 0 and x + w <= 160 + 1 and y + h <= 90 + 1
        # the official truncates the crop to whole pixels: allow 2 px
        inside = [(b[0] >= x - 2) & (b[1] >= y - 2) & (b[2] <= x + w + 2) & (b[3] <= y + h + 2)
                  for b in sample.body_boxes]
        assert any(inside)
    assert aspect_kept_crop(np.array([10, 10, 20, 20]), 100, 50) == (0.0, 10.0, 40.0, 20.0)


def test_colour_jitter_is_a_per_channel_scale_within_twenty_percent() -> None:
    sample = make_sample()
    sample.image = np.full(sample.image.shape, 100, np.uint8)
    rng = np.random.default_rng(5)
    for _ in range(10):
        out = augment(sample, rng, AugmentConfig(crop_probability=0.0))
        channel_means = np.median(out.image.reshape(-1, 3), axis=0)  # edges blend with black
        assert np.all(channel_means >= 80 - 1e-3) and np.all(channel_means <= 120 + 1e-3)
        assert out.image.dtype == np.float32
