"""EmbeddedSMPLX: same state-dict layout and same output as smplx.SMPLX for the same data."""

from __future__ import annotations

import pytest
import smplx
import torch

from aios_core.body.embedded_smplx import EmbeddedSMPLX
from tests.synthetic_smplx import write_synthetic_smplx


@pytest.fixture(scope="module")
def reference_and_embedded(smplx_model_dir):
    folder = smplx_model_dir
    reference = smplx.SMPLX(
        str(folder),
        gender="neutral",
        num_betas=10,
        num_expression_coeffs=10,
        use_pca=False,
        use_face_contour=True,
        ext="npz",
    )
    with torch.no_grad():
        reference.transl.copy_(torch.tensor([[0.1, -0.2, 0.3]]))
    embedded = EmbeddedSMPLX()
    embedded.load_state_dict(reference.state_dict())
    return reference, embedded


def test_unloaded_model_has_the_smplx_state_dict_layout(reference_and_embedded):
    reference, _ = reference_and_embedded
    expected = {k: (tuple(v.shape), v.dtype) for k, v in reference.state_dict().items()}
    actual = {k: (tuple(v.shape), v.dtype) for k, v in EmbeddedSMPLX().state_dict().items()}
    assert actual == expected


def test_forward_matches_smplx(reference_and_embedded):
    reference, embedded = reference_and_embedded
    g = torch.Generator().manual_seed(1)
    n = 4

    def rand(*shape, scale=0.3):
        return torch.randn(*shape, generator=g) * scale

    params = dict(
        betas=rand(n, 10, scale=1.0),
        global_orient=rand(n, 3),
        body_pose=rand(n, 63),
        left_hand_pose=rand(n, 45),
        right_hand_pose=rand(n, 45),
        jaw_pose=rand(n, 3),
        leye_pose=rand(n, 3),
        reye_pose=rand(n, 3),
        expression=rand(n, 10, scale=1.0),
    )
    with torch.no_grad():
        expected = reference(**params)
        actual = embedded(**params)
    assert actual.joints.shape == (n, 144, 3)
    assert actual.vertices.shape == (n, 10475, 3)
    torch.testing.assert_close(actual.joints, expected.joints, rtol=0, atol=1e-6)
    torch.testing.assert_close(actual.vertices, expected.vertices, rtol=0, atol=1e-6)


def test_from_model_folder_loads_the_file(tmp_path):
    folder = write_synthetic_smplx(tmp_path, seed=3)
    model = EmbeddedSMPLX.from_model_folder(folder)
    assert model.v_template.abs().sum() > 0
    assert int(model.parents[0]) == -1
    # The hand mean pose comes from the file (flat_hand_mean=False), after the face joints.
    assert torch.equal(model.pose_mean[-90:-45], model.left_hand_mean)
