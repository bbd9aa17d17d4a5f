"""ResNet-50 feature extractor, frozen batch norm and the backbone/position-encoding pairing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from aios_core.model.backbone import (
    BackboneWithPositionEncoding,
    FrozenBatchNorm2d,
    ResNetFeatures,
    build_backbone,
    resize_padding_mask,
)
from aios_core.model.position_encoding import PositionEmbeddingSineHW
from tests.frozen_statistics import randomise_frozen_statistics

STATE_DICT_TSV = Path(__file__).parent / "data" / "aios_state_dict.tsv"


def official_shapes(prefix: str) -> dict[str, tuple[int, ...]]:
    """Keys under ``prefix`` (prefix stripped) -> shape, from the official state-dict listing."""
    shapes = {}
    for line in STATE_DICT_TSV.read_text().splitlines():
        columns = line.split("\t")
        if len(columns) < 2 or not columns[0].startswith(prefix):
            continue
        shapes[columns[0][len(prefix) :]] = tuple(int(n) for n in re.findall(r"\d+", columns[1]))
    return shapes


@pytest.fixture(scope="module")
def features() -> ResNetFeatures:
    torch.manual_seed(0)
    return randomise_frozen_statistics(ResNetFeatures()).eval()


def test_frozen_batch_norm_equals_batch_norm_in_eval_mode():
    torch.manual_seed(0)
    reference = nn.BatchNorm2d(6).eval()
    with torch.no_grad():
        reference.weight.uniform_(0.5, 2.0)
        reference.bias.uniform_(-1.0, 1.0)
        reference.running_mean.uniform_(-1.0, 1.0)
        reference.running_var.uniform_(0.1, 3.0)
    frozen = FrozenBatchNorm2d(6)
    # A BatchNorm2d state dict carries num_batches_tracked; loading must drop it, strict or not.
    frozen.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 6, 5, 7)
    torch.testing.assert_close(frozen(x), reference(x), atol=1e-6, rtol=1e-6)
    assert list(frozen.parameters()) == []
    assert sorted(frozen.state_dict()) == ["bias", "running_mean", "running_var", "weight"]


def test_resnet50_layout(features):
    state = features.state_dict()
    convs = [k for k in state if k.endswith(".weight") and state[k].dim() == 4]
    assert len(convs) == 53  # 1 stem + 16 bottlenecks x 3 + 4 downsample projections
    assert not any("fc." in k or "num_batches_tracked" in k for k in state)
    assert state["body.conv1.weight"].shape == (64, 3, 7, 7)
    assert state["body.layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert state["body.layer1.0.downsample.1.running_var"].shape == (256,)
    assert state["body.layer4.2.conv3.weight"].shape == (2048, 512, 1, 1)
    # torchvision v1.5: the stride sits on the 3x3 convolution and the projection.
    block = features.body.layer3[0]
    assert block.conv1.stride == (1, 1) and block.conv2.stride == (2, 2)
    assert block.downsample[0].stride == (2, 2)
    assert "body.layer3.1.downsample.0.weight" not in state
    assert features.num_channels == [512, 1024, 2048]


@pytest.mark.skipif(
    not STATE_DICT_TSV.exists(), reason="tests/data/aios_state_dict.tsv not generated yet"
)
def test_keys_and_shapes_equal_official_checkpoint(features):
    expected = official_shapes("backbone.0.")
    assert expected, "no backbone.0. keys in the official listing"
    got = {k: tuple(v.shape) for k, v in features.state_dict().items()}
    assert got == expected


def test_only_the_stem_convolution_is_frozen(features):
    frozen = {name for name, p in features.named_parameters() if not p.requires_grad}
    assert frozen == {"body.conv1.weight"}


@pytest.mark.parametrize("size", [(64, 96), (65, 97)])
def test_output_shapes_and_strides(features, size):
    height, width = size
    images = torch.randn(2, 3, height, width)
    mask = torch.zeros(2, height, width, dtype=torch.bool)
    with torch.no_grad():
        levels = features(images, mask)
    assert len(levels) == 3
    for (feature, level_mask), channels, stride in zip(
        levels, [512, 1024, 2048], [8, 16, 32], strict=True
    ):
        expected_hw = (-(-height // stride), -(-width // stride))  # ceil division
        assert feature.shape == (2, channels, *expected_hw)
        assert level_mask.shape == (2, *expected_hw) and level_mask.dtype == torch.bool
        assert torch.isfinite(feature).all()


def test_mask_is_resized_by_nearest_neighbour():
    mask = torch.zeros(1, 64, 96, dtype=torch.bool)
    mask[:, :, 64:] = True  # right third is padding
    mask[:, 40:, :] = True  # bottom rows too
    small = resize_padding_mask(mask, (8, 12))
    # Nearest neighbour picks source pixel floor(i * 64 / 8) = 8 i and floor(j * 96 / 12) = 8 j.
    expected = torch.zeros(1, 8, 12, dtype=torch.bool)
    expected[:, :, 8:] = True
    expected[:, 5:, :] = True
    assert torch.equal(small, expected)


def test_backbone_joins_features_masks_and_positions(features):
    position_encoding = PositionEmbeddingSineHW(128, 20, 20, normalize=True)
    backbone = BackboneWithPositionEncoding(features, position_encoding)
    assert all(k.startswith("0.body.") for k in backbone.state_dict())
    assert backbone.num_channels == [512, 1024, 2048]
    images = torch.randn(1, 3, 64, 96)
    mask = torch.zeros(1, 64, 96, dtype=torch.bool)
    mask[:, :, 80:] = True
    with torch.no_grad():
        feats, masks, pos = backbone(images, mask)
        direct = features(images, mask)
    for level, (feature, level_mask) in enumerate(direct):
        assert torch.equal(feats[level], feature)
        assert torch.equal(masks[level], level_mask)
        assert pos[level].shape == (1, 256, *feature.shape[-2:])
        assert pos[level].dtype == feature.dtype
        torch.testing.assert_close(pos[level], position_encoding(level_mask))


def test_build_backbone_uses_half_hidden_dim_for_each_axis():
    backbone = build_backbone(hidden_dim=64)
    assert isinstance(backbone[0], ResNetFeatures)
    assert backbone[1].num_pos_feats == 32
    assert (backbone[1].temperature_h, backbone[1].temperature_w) == (20, 20)


def test_frozen_batch_norm_in_place_without_autograd_gives_the_same_bits():
    torch.manual_seed(3)
    norm = FrozenBatchNorm2d(4)
    norm.weight.uniform_(0.5, 2.0)
    norm.bias.uniform_(-1.0, 1.0)
    norm.running_mean.uniform_(-1.0, 1.0)
    norm.running_var.uniform_(0.1, 3.0)
    x = torch.randn(2, 4, 5, 6, requires_grad=True)
    expected = norm(x)  # autograd on: a new tensor, input untouched
    assert expected.data_ptr() != x.data_ptr()
    with torch.no_grad():
        fresh = x.detach().clone()
        got = norm(fresh)
    assert got.data_ptr() == fresh.data_ptr()  # normalised in place
    assert torch.equal(got, expected.detach())
