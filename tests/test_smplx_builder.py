"""One SMPL-X builder: the network's body model, the export model and the evaluator's models
all come from ``build_smplx_layer`` with the AiOS configuration."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import smplx
import torch

from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.body.smplx_model import SmplxFileError, SmplxModel, build_smplx_layer
from aios_core.errors import AiosError
from aios_core.evaluation.body_assets import EvalBodyModels


def official_configuration(folder) -> smplx.SMPLX:
    """The official body_model config, written out independently of aios."""
    return smplx.SMPLX(str(folder), gender="neutral", num_betas=10, num_expression_coeffs=10,
                       use_pca=False, flat_hand_mean=False, use_face_contour=True, ext="npz")


def assert_same_state(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(actual[key], value), key


def test_every_user_gets_the_official_configuration(smplx_model_dir):
    expected = official_configuration(smplx_model_dir).state_dict()
    layer = build_smplx_layer(smplx_model_dir / "SMPLX_NEUTRAL.npz")
    assert not layer.training and not any(p.requires_grad for p in layer.parameters())
    assert_same_state(layer.state_dict(), expected)
    assert_same_state(EmbeddedSMPLX.from_model_folder(smplx_model_dir).state_dict(), expected)
    assert_same_state(SmplxModel(smplx_model_dir).layer.state_dict(), expected)
    assert_same_state(EvalBodyModels(smplx_model_dir).model().state_dict(), expected)


def test_the_kid_model_adds_the_template_as_an_eleventh_beta(smplx_model_dir, tmp_path):
    shutil.copy(smplx_model_dir / "SMPLX_NEUTRAL.npz", tmp_path / "SMPLX_NEUTRAL.npz")
    adult = build_smplx_layer(tmp_path / "SMPLX_NEUTRAL.npz")
    kid_template = adult.v_template.numpy() * 0.5
    np.save(tmp_path / "smplx_kid_template.npy", kid_template)
    kid = EvalBodyModels(tmp_path).model("neutral", kid=True)
    assert kid.shapedirs.shape[-1] == 11
    centred = kid_template - kid_template.mean(axis=0)
    np.testing.assert_allclose(kid.shapedirs[..., 10].numpy(),
                               centred - adult.v_template.numpy(), atol=1e-6)


@pytest.mark.parametrize("content", [b"not an npz at all", b""])
def test_a_broken_model_file_is_one_user_error_everywhere(tmp_path, content):
    (tmp_path / "SMPLX_NEUTRAL.npz").write_bytes(content)
    builders = [lambda: build_smplx_layer(tmp_path / "SMPLX_NEUTRAL.npz"),
                lambda: SmplxModel(tmp_path), lambda: EmbeddedSMPLX.from_model_folder(tmp_path),
                lambda: EvalBodyModels(tmp_path).model()]
    for build in builders:
        with pytest.raises(SmplxFileError) as caught:
            build()
        assert isinstance(caught.value, AiosError)
        message = str(caught.value)
        assert message.startswith(f"{tmp_path / 'SMPLX_NEUTRAL.npz'} is not a usable SMPL-X "
                                  "model file: ")
        assert "\n" not in message
