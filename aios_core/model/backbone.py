"""ResNet-50 feature extractor with frozen batch norm, and its pairing with the position encoding.

Module names follow torchvision's resnet50 (v1.5: stride on the 3x3 conv) so that the official
checkpoint keys ``backbone.0.body.layer1.0.conv1.weight`` ... load unchanged. No torchvision needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aios_core.model.cpu.channels_last_bf16 import (
    FoldedConvolutions,
    channels_last_bf16_applies,
    resnet_bf16_channels_last,
)
from aios_core.model.cpu.frozen_batch_norm import add_residual_and_relu_, normalise_in_place
from aios_core.model.position_encoding import PositionEmbeddingSineHW

_BN_EPS = 1e-5
_BOTTLENECK_EXPANSION = 4
_RESNET50_BLOCKS = (3, 4, 6, 3)
_RESNET50_WIDTHS = (64, 128, 256, 512)
# Output channels of layer1..layer4.
RESNET50_CHANNELS = tuple(w * _BOTTLENECK_EXPANSION for w in _RESNET50_WIDTHS)
RESNET50_STRIDES = (4, 8, 16, 32)


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine terms, all stored as buffers (no parameters).

    Without autograd it normalises its input in place (every caller passes a fresh convolution
    output); ``normalise_`` also adds a residual and applies ReLU, in the same pass.
    """

    def __init__(self, num_features: int):
        super().__init__()
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        # Checkpoints saved from a regular BatchNorm2d carry a step counter we have no use for.
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def scale_and_shift(self) -> tuple[Tensor, Tensor]:
        """(1, C, 1, 1) each. Same order as the official: fold (weight, var) into a scale first,
        then the shift."""
        weight = self.weight.reshape(1, -1, 1, 1)
        bias = self.bias.reshape(1, -1, 1, 1)
        running_var = self.running_var.reshape(1, -1, 1, 1)
        running_mean = self.running_mean.reshape(1, -1, 1, 1)
        scale = weight * (running_var + _BN_EPS).rsqrt()
        return scale, bias - running_mean * scale

    def forward(self, x: Tensor) -> Tensor:
        return self.normalise_(x)

    def normalise_(self, x: Tensor, residual: Tensor | None = None, relu: bool = False) -> Tensor:
        """This norm of ``x``, plus ``residual``, then ReLU. Without autograd, and with ``x`` in
        the statistics' dtype, written into ``x`` (one pass for float32 CPU maps); otherwise into
        a new map (under autocast a float32 one, by torch's type promotion)."""
        scale, shift = self.scale_and_shift()
        if torch.is_grad_enabled() or x.dtype != scale.dtype:
            return add_residual_and_relu_(x * scale + shift, residual, relu)
        return normalise_in_place(x, scale, shift, residual, relu)


class StemMaxPool(nn.Module):
    """``nn.MaxPool2d(3, stride=2, padding=1)``; on the CPU without autograd computed as maxima
    of three rows, then of three columns, of a -inf padded copy.

    A maximum returns one of its inputs, so any order gives the same numbers (NaN included:
    both propagate it). Torch's CPU kernel for channel-first maps, which also records argmax
    indices, took about 3x as long on the stem's 64 x 400 x 667 map.
    """

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, (H - 1) // 2 + 1, (W - 1) // 2 + 1)."""
        if torch.is_grad_enabled() or x.device.type != "cpu":
            return F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
        padded = F.pad(x, (1, 1, 1, 1), value=float("-inf"))
        return _max_of_three(_max_of_three(padded, dim=2), dim=3)


def _max_of_three(x: Tensor, dim: int) -> Tensor:
    """out[i] = max(x[2i], x[2i + 1], x[2i + 2]) along ``dim``."""
    count = (x.shape[dim] - 3) // 2 + 1

    def every_other(start: int) -> Tensor:
        index = [slice(None)] * x.dim()
        index[dim] = slice(start, start + 2 * count - 1, 2)
        return x[tuple(index)]

    return torch.maximum(torch.maximum(every_other(0), every_other(1)), every_other(2))


def _conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (carries the stride) -> 1x1 expand, plus a residual connection."""

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__()
        out_channels = width * _BOTTLENECK_EXPANSION
        self.conv1 = _conv1x1(in_channels, width)
        self.bn1 = FrozenBatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = FrozenBatchNorm2d(width)
        self.conv3 = _conv1x1(width, out_channels)
        self.bn3 = FrozenBatchNorm2d(out_channels)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                _conv1x1(in_channels, out_channels, stride), FrozenBatchNorm2d(out_channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        # Each batch norm with the ReLU (and the residual) after it: in place without autograd.
        out = self.bn1.normalise_(self.conv1(x), relu=True)
        out = self.bn2.normalise_(self.conv2(out), relu=True)
        return self.bn3.normalise_(self.conv3(out), residual=identity, relu=True)


def _make_stage(in_channels: int, width: int, num_blocks: int, stride: int) -> nn.Sequential:
    blocks = [Bottleneck(in_channels, width, stride)]
    blocks += [Bottleneck(width * _BOTTLENECK_EXPANSION, width) for _ in range(num_blocks - 1)]
    return nn.Sequential(*blocks)


class ResNet50Body(nn.Module):
    """Stem + layer1..layer4 of ResNet-50 (no pooling head); returns the requested stage outputs."""

    def __init__(self, return_layers: Sequence[int] = (1, 2, 3)):
        super().__init__()
        self.return_layers = tuple(return_layers)  # 0-based: 0 = layer1, ..., 3 = layer4
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = FrozenBatchNorm2d(64)
        self.maxpool = StemMaxPool()
        in_channels = 64
        for index, (width, blocks) in enumerate(
            zip(_RESNET50_WIDTHS, _RESNET50_BLOCKS, strict=True)
        ):
            stride = 1 if index == 0 else 2
            self.add_module(f"layer{index + 1}", _make_stage(in_channels, width, blocks, stride))
            in_channels = width * _BOTTLENECK_EXPANSION
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        # bf16 CPU inference's weights (not state: rebuilt from the weights when they change).
        self.bf16_convolutions = FoldedConvolutions()

    def stages(self) -> list[nn.Sequential]:
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def forward(self, images: Tensor) -> list[Tensor]:
        """(B, 3, H, W) -> the requested stage outputs (B, C, h, w); bf16 channels-last ones
        under CPU bf16 autocast without autograd (``model/cpu/channels_last_bf16.py``)."""
        if channels_last_bf16_applies(images):
            return resnet_bf16_channels_last(self, self.bf16_convolutions, images)
        x = self.maxpool(self.bn1.normalise_(self.conv1(images), relu=True))
        outputs = []
        for index, stage in enumerate(self.stages()[: max(self.return_layers) + 1]):
            x = stage(x)
            if index in self.return_layers:
                outputs.append(x)
        return outputs


def resize_padding_mask(mask: Tensor, size: Sequence[int]) -> Tensor:
    """(B, H, W) bool padding mask -> (B, h, w), nearest-neighbour, as the official code does."""
    return F.interpolate(mask[None].float(), size=tuple(size)).to(torch.bool)[0]


class ResNetFeatures(nn.Module):
    """Multi-scale ResNet-50 features, each with its padding mask resized to the feature map.

    return_interm_indices (0 = layer1 ... 3 = layer4); the AiOS config uses (1, 2, 3), giving
    layer2..layer4 with channels [512, 1024, 2048] at strides [8, 16, 32].
    """

    def __init__(self, return_interm_indices: Sequence[int] = (1, 2, 3)):
        super().__init__()
        indices = sorted(return_interm_indices)
        self.body = ResNet50Body(indices)
        self.num_channels: list[int] = [RESNET50_CHANNELS[i] for i in indices]
        self.strides: list[int] = [RESNET50_STRIDES[i] for i in indices]
        # The official freeze rule trains every parameter inside a layerN stage; only the stem
        # convolution is left frozen (its batch norm has buffers only).
        for name, parameter in self.body.named_parameters():
            if not name.startswith("layer"):
                parameter.requires_grad_(False)

    def forward(self, images: Tensor, padding_mask: Tensor) -> list[tuple[Tensor, Tensor]]:
        """images (B, 3, H, W), padding_mask (B, H, W) True on padding.

        Returns per level (features (B, C, h, w), mask (B, h, w)).
        """
        features = self.body(images)
        return [(f, resize_padding_mask(padding_mask, f.shape[-2:])) for f in features]


class BackboneWithPositionEncoding(nn.Sequential):
    """[0] ResNetFeatures, [1] position encoding; mounted as ``backbone`` like the official Joiner.

    Keys therefore read ``0.body.conv1.weight`` here and ``backbone.0.body...`` in the network.
    """

    def __init__(self, features: ResNetFeatures, position_encoding: PositionEmbeddingSineHW):
        super().__init__(features, position_encoding)
        self.num_channels: list[int] = list(features.num_channels)

    def forward(
        self, images: Tensor, padding_mask: Tensor
    ) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
        """Per level: features (B, C_l, h, w), masks (B, h, w), pos (B, 2 * num_pos_feats, h, w)."""
        features, masks, pos = [], [], []
        for feature, mask in self[0](images, padding_mask):
            features.append(feature)
            masks.append(mask)
            # Under autocast the positions stay float32 whatever the features' dtype (the CPU
            # bf16 backbone returns bf16 maps; the float32 path's maps are float32).
            autocast = torch.is_autocast_enabled(feature.device.type)
            pos.append(self[1](mask).to(torch.float32 if autocast else feature.dtype))
        return features, masks, pos


def build_backbone(
    hidden_dim: int = 256,
    pe_temperature_h: float = 20,
    pe_temperature_w: float = 20,
    return_interm_indices: Sequence[int] = (1, 2, 3),
) -> BackboneWithPositionEncoding:
    """The backbone the AiOS inference config builds (resnet50, sine encoding, hidden_dim // 2)."""
    position_encoding = PositionEmbeddingSineHW(
        hidden_dim // 2, pe_temperature_h, pe_temperature_w, normalize=True
    )
    return BackboneWithPositionEncoding(ResNetFeatures(return_interm_indices), position_encoding)
