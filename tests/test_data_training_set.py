"""HumanData -> training samples -> ImageTargets, and the data-set mixing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic_training_data import write_training_source
from test_data_augment import make_sample

from aios_core.data.errors import HumanDataError
from aios_core.data.humandata import HumanDataFile
from aios_core.data.keypoint_sets import HUMANDATA_144_TO_137
from aios_core.data.sample_targets import part_relative_joints, sample_targets
from aios_core.data.training_sample import HumanDataSampleReader
from aios_core.data.training_set import (
    FINETUNE_MIX,
    PRETRAIN_MIX,
    TRAINING_SOURCES,
    build_training_set,
    mixing_weights,
)
from aios_core.inference.preprocess import PIXEL_MEAN_RGB, PIXEL_STD_RGB


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_data")
    for seed, name in enumerate(PRETRAIN_MIX):
        write_training_source(root, name, images=2 + seed, seed=seed)
    return root


def test_reader_maps_keypoints_boxes_and_parameters(data_root) -> None:
    source = TRAINING_SOURCES["agora"]
    path = data_root / "preprocessed_npz" / "multihuman_data" / source.annotation_name
    with HumanDataFile.open(path) as file:
        reader = HumanDataSampleReader(file, data_root / source.image_dir)
        sample = reader.read(1)
        rows = file.instances_of_image(1)
        assert sample.num_persons == len(rows) == 2
        assert sample.image.shape == (96, 128, 3) and sample.image.dtype == np.uint8
        kps = file.keypoints("keypoints2d_smplx")[rows]
        np.testing.assert_allclose(sample.joints_2d, kps[:, HUMANDATA_144_TO_137])
        xywh = file.box_xywh("body")[rows]
        np.testing.assert_allclose(sample.body_boxes[:, :2], np.maximum(xywh[:, :2], 0))
        params = file.smplx.take(rows)
        np.testing.assert_allclose(sample.smplx_pose[:, 0], params.global_orient)
        np.testing.assert_allclose(sample.smplx_pose[:, 22:37], params.left_hand_pose)
        np.testing.assert_allclose(sample.smplx_pose[:, 52], params.jaw_pose)
        np.testing.assert_allclose(sample.smplx_shape, params.betas[:, :10])
        assert sample.has_3d and sample.part_box_valid.min() == 1


def test_coco_is_2d_and_gates_keypoints_by_smplx_coverage(data_root) -> None:
    source = TRAINING_SOURCES["coco"]
    path = data_root / "preprocessed_npz" / "multihuman_data" / source.annotation_name
    with HumanDataFile.open(path) as file:
        reader = HumanDataSampleReader(file, data_root / source.image_dir,
                                       gate_joints_by_smplx=True, force_2d=True)
        _, targets = sample_targets(reader.read(0))
    assert float(targets.is_3d) == 0.0


def test_targets_are_normalised_and_outside_persons_dropped() -> None:
    sample = make_sample(n=3, size_hw=(60, 100))
    sample.body_boxes[2] = [150, 70, 180, 90]  # entirely outside the 100 x 60 image
    sample.joints_2d[0, 5, :2] = (-3, 10)  # outside: weight 0
    image, targets = sample_targets(sample)
    assert targets.num_persons == 2
    assert image.shape == (3, 60, 100)
    expected_pixel = (sample.image[7, 9, 1] - PIXEL_MEAN_RGB[1]) / PIXEL_STD_RGB[1]
    assert image[1, 7, 9].item() == pytest.approx(expected_pixel, rel=1e-5)
    x1, y1, x2, y2 = sample.body_boxes[0]
    torch.testing.assert_close(targets.boxes[0], torch.tensor(
        [(x1 + x2) / 200, (y1 + y2) / 120, (x2 - x1) / 100, (y2 - y1) / 60]))
    assert targets.joints_2d_trunc[0, 5] == 0 and targets.joints_2d[0, 5, 2] == 0
    assert targets.joints_2d[0, 6, 0] == pytest.approx(sample.joints_2d[0, 6, 0] / 100)
    # 3-D: pelvis at the origin; hands relative to the wrists, the face to the neck
    assert torch.all(targets.joints_3d[:, 0, :3] == 0)
    rel = targets.joints_3d_part_relative
    torch.testing.assert_close(rel[:, 30, :3], targets.joints_3d[:, 30, :3]
                               - targets.joints_3d[:, 12, :3])
    torch.testing.assert_close(rel[:, 50, :3], targets.joints_3d[:, 50, :3]
                               - targets.joints_3d[:, 13, :3])
    torch.testing.assert_close(rel[:, 100, :3], targets.joints_3d[:, 100, :3]
                               - targets.joints_3d[:, 7, :3])
    torch.testing.assert_close(rel[:, :25], targets.joints_3d[:, :25])
    targets.validate()
    assert part_relative_joints(np.zeros((1, 137, 4), np.float32)).shape == (1, 137, 4)


def test_mixing_weights_give_each_data_set_its_probability() -> None:
    weights = mixing_weights([10, 30, 60], [0.4, 0.3, 0.3])
    assert weights.shape == (100,)
    assert weights[:10].sum().item() == pytest.approx(0.4)
    assert weights[10:40].sum().item() == pytest.approx(0.3)
    assert weights.sum().item() == pytest.approx(1.0)
    assert sum(FINETUNE_MIX.values()) == pytest.approx(1.0)
    assert sum(PRETRAIN_MIX.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mixing probabilities"):
        mixing_weights([1, 1], [0.0, 0.0])


def test_training_set_items_are_reproducible_from_their_seed(data_root) -> None:
    data = build_training_set("pretrain", data_root)
    assert len(data.dataset) == 2 + 3 + 4
    assert data.sample_weights[:2].sum().item() == pytest.approx(0.4)
    image_a, targets_a = data.dataset[(4, 123)]
    image_b, targets_b = data.dataset[(4, 123)]
    torch.testing.assert_close(image_a, image_b)
    torch.testing.assert_close(targets_a.joints_2d, targets_b.joints_2d)
    targets_a.validate()
    shapes = {tuple(data.dataset[(4, seed)][0].shape) for seed in range(6)}
    assert len(shapes) > 1  # the seed changes the augmentation
    assert "agora" in data.summary() and "0.40" in data.summary()
    with pytest.raises(IndexError):
        data.dataset[(99, 0)]


def test_missing_files_and_bad_names_give_clear_errors(data_root, tmp_path) -> None:
    with pytest.raises(HumanDataError, match="ubody_train_intra_multi.npz not found"):
        build_training_set("finetune", data_root)
    with pytest.raises(ValueError, match="unknown data set"):
        build_training_set("pretrain", data_root, datasets=["agora", "nope"])
    with pytest.raises(ValueError, match="unknown stage"):
        build_training_set("warmup", data_root)
    subset = build_training_set("finetune", data_root, datasets=["agora", "bedlam"])
    assert set(subset.mix) == {"agora", "bedlam"}
    extra = data_root / "preprocessed_npz" / "multihuman_data" / "p1_train_multi.npz"
    with pytest.raises(HumanDataError, match="image folder"):
        build_training_set("pretrain", data_root, datasets=["agora"],
                           extra=[(extra, tmp_path / "missing", 0.5)])
