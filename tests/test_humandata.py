"""HumanData .npz reader: grouping, boxes, keypoint decompression, SMPL-X params, errors."""

from __future__ import annotations

import numpy as np
import pytest

from aios_core.data import HumanDataError, HumanDataFile
from tests.synthetic_humandata import frame_range_of, random_smplx_params, write_humandata

PATHS = ["a/0001.png", "a/0001.png", "b/0002.png", "a/0001.png"]


def _write(tmp_path, **overrides):
    rng = np.random.default_rng(0)
    count = len(overrides.get("image_paths", PATHS))
    arguments = dict(
        image_paths=PATHS,
        smplx=random_smplx_params(count, rng),
        bbox_xywh=np.array([[10, 20, 30, 40, 1.0]] * count, np.float32),
    )
    arguments.update(overrides)
    return write_humandata(tmp_path / "set.npz", **arguments)


def test_groups_consecutive_runs_without_frame_range(tmp_path):
    data = HumanDataFile.open(_write(tmp_path))
    assert data.num_instances == 4
    assert [g.image_path for g in data.image_groups] == ["a/0001.png", "b/0002.png", "a/0001.png"]
    assert data.instances_of_image(0).tolist() == [0, 1]
    assert data.instances_of_image(2).tolist() == [3]


def test_frame_range_wins_and_is_validated(tmp_path):
    data = HumanDataFile.open(_write(tmp_path, frame_range=np.array([[0, 1], [1, 4]])))
    assert [g.instances.tolist() for g in data.image_groups] == [[0], [1, 2, 3]]
    assert frame_range_of(PATHS).tolist() == [[0, 2], [2, 3], [3, 4]]
    with pytest.raises(HumanDataError, match="frame_range"):
        HumanDataFile.open(_write(tmp_path, frame_range=np.array([[0, 2], [2, 9]])))


def test_boxes_xyxy_and_missing_part_boxes(tmp_path):
    lhand = np.array([[1, 2, 3, 4, 0.0], [1, 2, 3, 4, 1.0]] * 2, np.float32)
    data = HumanDataFile.open(_write(tmp_path, hand_face_boxes={"lhand_bbox_xywh": lhand}))
    np.testing.assert_allclose(data.box_xyxy("body")[0], [10, 20, 40, 60])
    np.testing.assert_allclose(data.box_confidence("lhand"), [0, 1, 0, 1])
    np.testing.assert_allclose(data.box_confidence("face"), 0)


def test_four_column_boxes_get_confidence_one(tmp_path):
    data = HumanDataFile.open(_write(tmp_path, bbox_xywh=np.ones((4, 4), np.float32)))
    np.testing.assert_allclose(data.box_confidence(), 1)


def test_compressed_keypoints_are_padded_back(tmp_path):
    rng = np.random.default_rng(1)
    full = rng.normal(size=(4, 6, 3)).astype(np.float32)
    mask = np.array([1, 0, 1, 1, 0, 1])
    full[:, mask == 0] = 0
    data = HumanDataFile.open(_write(tmp_path, keypoints2d_smplx=full, keypoints_mask=mask,
                                     compress_keypoints=True))
    assert data.keypoints_compressed
    assert data.default_keypoints2d_key() == "keypoints2d_smplx"
    np.testing.assert_allclose(data.keypoints("keypoints2d_smplx"), full)
    assert data.keypoints_mask("keypoints2d_smplx").tolist() == [bool(m) for m in mask]


def test_smplx_params_reshaped_and_full_pose(tmp_path):
    rng = np.random.default_rng(0)
    smplx = random_smplx_params(4, rng, num_betas=11)
    del smplx["expression"]
    data = HumanDataFile.open(_write(tmp_path, smplx=smplx))
    params = data.smplx
    assert params.body_pose.shape == (4, 21, 3) and params.betas.shape == (4, 11)
    np.testing.assert_allclose(params.body_pose[2, 5], smplx["body_pose"][2, 15:18])
    assert not params.has_expression and params.expression.shape == (4, 10)
    np.testing.assert_allclose(params.transl_m, smplx["transl"])
    pose = params.full_pose()
    assert pose.shape == (4, 55, 3)
    np.testing.assert_allclose(pose[:, 25:40], params.left_hand_pose)
    np.testing.assert_allclose(params.take([3]).global_orient, smplx["global_orient"][3:])
    joined = type(params).concatenate([params.take([2, 3]), params.take([0])])
    np.testing.assert_allclose(joined.betas, params.betas[[2, 3, 0]])
    assert not joined.has_expression and joined.source == "smplx"


def test_meta_gender_size_camera(tmp_path):
    meta = {"gender": ["male", "Female", "neutral", "male"], "height": [100] * 4,
            "width": [200] * 4, "focal_length": [[5000.0, 5000.0]] * 4}
    data = HumanDataFile.open(_write(tmp_path, meta=meta))
    assert data.genders.tolist() == ["male", "female", "neutral", "male"]
    assert data.image_sizes_hw.tolist()[0] == [100, 200]
    assert data.camera_focal_px().shape == (4, 2)
    assert data.camera_principal_point_px() is None


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"bbox_xywh": np.ones((3, 5))}, "'bbox_xywh'"),
        ({"smplx": {"global_orient": np.zeros((4, 3))}}, "'smplx.body_pose' missing"),
        ({"smplx": {"global_orient": np.zeros((4, 3)), "body_pose": np.zeros((4, 60))}},
         "'smplx.body_pose' must have shape"),
        ({"meta": {"gender": ["x"] * 4}}, "meta.gender"),
    ],
)
def test_malformed_keys_name_the_file_and_key(tmp_path, overrides, pattern):
    with pytest.raises(HumanDataError, match=pattern) as info:
        data = HumanDataFile.open(_write(tmp_path, **overrides))
        data.smplx  # noqa: B018
        data.genders  # noqa: B018
    assert "set.npz" in str(info.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(HumanDataError, match="not found"):
        HumanDataFile.open(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(HumanDataError, match="not a readable"):
        HumanDataFile.open(bad)
    with pytest.raises(HumanDataError, match="'image_path' missing"):
        np.savez(tmp_path / "empty.npz", bbox_xywh=np.zeros((1, 5)))
        HumanDataFile.open(tmp_path / "empty.npz")
