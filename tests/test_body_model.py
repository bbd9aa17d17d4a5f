"""SmplxModel on the synthetic SMPL-X file: shapes, batch invariance, rest pose, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aios_core.assets import AssetNotFoundError
from aios_core.body import SMPLX_137_INDICES, SmplxModel
from aios_core.body.keypoints import SMPLX_PARENTS
from tests.synthetic_smplx import tpose_joints


@pytest.fixture(scope="module")
def model(smplx_model_dir) -> SmplxModel:
    return SmplxModel(smplx_model_dir)


@pytest.fixture(scope="module")
def model_file(smplx_model_dir):
    return np.load(smplx_model_dir / "SMPLX_NEUTRAL.npz")


def _random_params(count: int, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape: int, scale: float = 0.3) -> torch.Tensor:
        return torch.randn(count, *shape, generator=generator) * scale

    return {
        "global_orient": draw(3, scale=1.0),
        "body_pose": draw(21, 3),
        "left_hand_pose": draw(15, 3),
        "right_hand_pose": draw(15, 3),
        "jaw_pose": draw(3),
        "betas": draw(10, scale=1.0),
        "expression": draw(10, scale=1.0),
    }


def _rest_params(model_file, count: int) -> dict[str, torch.Tensor]:
    """Zero pose, betas and expression, hands cancelling the model's mean hand pose."""
    params = {name: torch.zeros_like(value) for name, value in _random_params(count).items()}
    params["left_hand_pose"] = -torch.from_numpy(model_file["hands_meanl"]).reshape(1, 15, 3)
    params["right_hand_pose"] = -torch.from_numpy(model_file["hands_meanr"]).reshape(1, 15, 3)
    params["left_hand_pose"] = params["left_hand_pose"].expand(count, 15, 3)
    params["right_hand_pose"] = params["right_hand_pose"].expand(count, 15, 3)
    return params


@pytest.mark.parametrize("count", [1, 64])
def test_output_shapes(model, count):
    output = model(**_random_params(count))
    assert output.vertices.shape == (count, 10475, 3)
    assert output.joints.shape == (count, 144, 3)
    assert output.keypoints_137.shape == (count, 137, 3)
    assert torch.isfinite(output.vertices).all()
    assert torch.equal(output.keypoints_137, output.joints[:, list(SMPLX_137_INDICES)])


def test_batch_invariance(model):
    params = _random_params(64, seed=1)
    batched = model(**params)
    for person in (0, 17, 63):
        alone = model(**{name: value[person : person + 1] for name, value in params.items()})
        torch.testing.assert_close(alone.vertices[0], batched.vertices[person], atol=1e-5, rtol=0)
        torch.testing.assert_close(alone.joints[0], batched.joints[person], atol=1e-5, rtol=0)


def test_flat_layout_gives_the_same_result(model):
    params = _random_params(3, seed=2)
    flat = {name: value.reshape(3, -1) for name, value in params.items()}
    torch.testing.assert_close(model(**flat).vertices, model(**params).vertices)


def test_rest_pose_is_the_template(model, model_file):
    output = model(**_rest_params(model_file, 2))
    v_template = torch.from_numpy(model_file["v_template"])
    torch.testing.assert_close(output.vertices, v_template.expand(2, -1, -1), atol=1e-5, rtol=0)
    # The first 55 joints are the regressor applied to the template.
    regressed = torch.from_numpy(model_file["J_regressor"] @ model_file["v_template"])
    torch.testing.assert_close(output.joints[0, :55], regressed, atol=1e-5, rtol=0)
    # ... which the synthetic file places near a T-pose skeleton.
    assert np.abs(regressed.numpy() - tpose_joints()).max() < 0.02


def test_zero_hand_pose_means_the_mean_hand(model, model_file):
    """AiOS keeps smplx's flat_hand_mean=False: hand poses are offsets from the mean."""
    params = {name: torch.zeros_like(value) for name, value in _random_params(1).items()}
    at_zero = model(**params)
    at_rest = model(**_rest_params(model_file, 1))
    # Finger joints below the first segment move when the segment above them rotates.
    inner_finger_joints = [j for j in range(25, 55) if SMPLX_PARENTS[j] not in (20, 21)]
    offsets = at_zero.joints[0, inner_finger_joints] - at_rest.joints[0, inner_finger_joints]
    assert offsets.norm(dim=-1).min() > 1e-4
    torch.testing.assert_close(at_zero.joints[0, :22], at_rest.joints[0, :22], atol=1e-6, rtol=0)


def test_global_orient_rotates_about_the_pelvis(model, model_file):
    params = _rest_params(model_file, 1)
    params["global_orient"] = torch.tensor([[np.pi, 0.0, 0.0]])  # camera-frame flip about x
    flipped = model(**params).joints[0, :55]
    rest = model(**_rest_params(model_file, 1)).joints[0, :55]
    pelvis = rest[0]
    expected = (rest - pelvis) * torch.tensor([1.0, -1.0, -1.0]) + pelvis
    torch.testing.assert_close(flipped, expected, atol=1e-5, rtol=0)


def test_empty_batch(model):
    output = model(**_random_params(0))
    assert output.vertices.shape == (0, 10475, 3)
    assert output.joints.shape == (0, 144, 3)


def test_wrong_parameter_shape_is_rejected(model):
    params = _random_params(2)
    params["body_pose"] = torch.zeros(2, 22, 3)
    with pytest.raises(ValueError, match="body_pose"):
        model(**params)


def test_faces(model, model_file):
    assert model.faces.shape == (20908, 3)
    assert model.faces.dtype == np.int64
    np.testing.assert_array_equal(model.faces, model_file["f"])


def test_missing_model_folder_names_the_file(tmp_path):
    with pytest.raises(AssetNotFoundError, match="SMPLX_NEUTRAL.npz") as info:
        SmplxModel(tmp_path / "nowhere")
    assert "not found" in str(info.value)
    assert "--smplx-dir" in str(info.value)
