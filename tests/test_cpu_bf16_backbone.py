"""The CPU bf16 backbone (model/cpu/channels_last_bf16.py): how far bf16 moves from fp32 on the
golden inputs, its weights converted once, and fp32 and training left on their own path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.test_golden_numbers import golden_images, golden_input, network_outputs
from tests.tiny_network import build_tiny_network

# Bounds are twice the largest difference measured on the two golden images (AMD Zen 4,
# AVX-512 BF16), relative to 1 + |fp32 value|. Backbone maps, ||bf16 - fp32|| / ||fp32|| per
# level: 0.0086-0.0097 here, 0.0077-0.0091 for the autocast path before (per-call bf16
# weights, float32 maps between the convolutions).
BACKBONE_RELATIVE_L2 = 0.02
# Network outputs, largest |bf16 - fp32| / (1 + |fp32|) measured over the five people of each
# image (the autocast path before this backbone measured within 30 % of each).
OUTPUT_BOUNDS = {
    "pred_logits": 0.025,  # measured 0.0102 (scores)
    "pred_smpl_pose": 0.25,  # 0.110 (rotation matrices)
    "pred_smpl_lhand_pose": 0.15,  # 0.065
    "pred_smpl_rhand_pose": 0.15,  # 0.059
    "pred_smpl_jaw_pose": 0.03,  # 0.014
    "pred_smpl_expr": 0.03,  # 0.0135
    "pred_smpl_beta": 0.04,  # 0.0196
    "pred_smpl_cam": 0.04,  # 0.0198
    "pred_smpl_kp3d": 0.05,  # 0.0229
    "pred_smpl_verts": 0.06,  # 0.0281
}
# Boxes and 2D keypoints are read relative to each person's selected reference box, and with
# random weights the decoder's choice of 5 people from 40 near-tied proposals differs between
# fp32 and bf16 (also on the autocast path before), so one chosen person's box can move by half
# the image. They are bounded on the people both precisions choose: each bf16 person matched to
# the nearest fp32 one, measured 4 and 5 of 5 within 0.0031 (boxes) and 0.0020 (keypoints),
# the others 0.14 or more away; the autocast path before matched 3 and 5.
SHARED_PERSON_BOUND = 0.01
SHARED_PEOPLE_AT_LEAST = 3


def _bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


@pytest.fixture(scope="module")
def model():
    return build_tiny_network(seed=0)


@pytest.fixture(scope="module")
def outputs_by_precision(model):
    """[(fp32 outputs, bf16 outputs)] per golden image."""
    pairs = []
    with torch.inference_mode():
        for image in golden_images():
            pixels, mask = golden_input(image)
            fp32 = network_outputs(model, pixels, mask)
            with _bf16():
                pairs.append((fp32, network_outputs(model, pixels, mask)))
    return pairs


def _body(model):
    return model.backbone[0].body


def test_bf16_backbone_maps_are_channels_last_bf16_within_bf16_rounding(model):
    body = _body(model)
    with torch.inference_mode():
        for image in golden_images():
            pixels, _ = golden_input(image)
            reference = body(pixels)
            with _bf16():
                maps = body(pixels)
            assert len(maps) == len(reference) == 3
            for bf16_map, fp32_map in zip(maps, reference, strict=True):
                assert bf16_map.dtype == torch.bfloat16 and fp32_map.dtype == torch.float32
                assert bf16_map.is_contiguous(memory_format=torch.channels_last)
                assert bf16_map.shape == fp32_map.shape
                error = (bf16_map.float() - fp32_map).norm() / fp32_map.norm()
                assert 1e-4 < error < BACKBONE_RELATIVE_L2  # moved, by bf16 rounding only


@pytest.mark.parametrize("key", sorted(OUTPUT_BOUNDS))
def test_bf16_outputs_are_within_the_measured_bounds_of_fp32(outputs_by_precision, key):
    for fp32, bf16 in outputs_by_precision:
        difference = np.abs(bf16[key] - fp32[key]) / (1 + np.abs(fp32[key]))
        assert np.isfinite(bf16[key]).all()
        assert difference.max() < OUTPUT_BOUNDS[key]


@pytest.mark.parametrize("key", ["pred_boxes", "pred_keypoints"])
def test_bf16_boxes_of_the_people_both_precisions_choose_agree(outputs_by_precision, key):
    for fp32, bf16 in outputs_by_precision:
        # (G, G): largest coordinate difference between each bf16 and each fp32 person.
        distance = np.abs(bf16[key][:, None] - fp32[key][None]).max(-1)
        assert (distance.min(1) < SHARED_PERSON_BOUND).sum() >= SHARED_PEOPLE_AT_LEAST


def test_bf16_weights_are_converted_once_and_again_after_the_weights_change():
    model = build_tiny_network(seed=0)
    other = build_tiny_network(seed=0)
    with torch.no_grad():
        for parameter in other.backbone.parameters():
            parameter.mul_(0.5)
    folded = _body(model).bf16_convolutions
    pixels, mask = golden_input(golden_images()[0])
    convolutions = sum(isinstance(m, torch.nn.Conv2d) for m in _body(model).modules())
    with torch.inference_mode(), _bf16():
        first = model(pixels, mask)["pred_logits"]
        assert folded.conversions == convolutions == 53  # ResNet-50: stem + 16 blocks + 4
        again = model(pixels, mask)["pred_logits"]
        assert folded.conversions == convolutions
        assert torch.equal(first, again)

    model.load_state_dict(other.state_dict())  # written into the same tensors, in place
    with torch.inference_mode(), _bf16():
        reloaded = model(pixels, mask)["pred_logits"]
        expected = other(pixels, mask)["pred_logits"]
    assert folded.conversions == 2 * convolutions
    assert torch.equal(reloaded, expected)


def test_fp32_and_autograd_do_not_take_the_bf16_path():
    model = build_tiny_network(seed=0)
    fresh = build_tiny_network(seed=0)
    body = _body(model)
    pixels, mask = golden_input(golden_images()[1])
    with torch.inference_mode(), _bf16():
        model(pixels, mask)  # fills the bf16 weights; must leave the fp32 ones as they were
    with torch.inference_mode():
        after_bf16 = model(pixels, mask)
        reference = fresh(pixels, mask)
    for key, value in reference.items():
        assert torch.equal(after_bf16[key], value), key
    assert _body(fresh).bf16_convolutions.conversions == 0

    with _bf16():  # autograd on: today's autocast path, float32 channel-first maps out
        maps = body(pixels)
    assert all(m.dtype == torch.float32 and m.is_contiguous() and m.requires_grad for m in maps)
