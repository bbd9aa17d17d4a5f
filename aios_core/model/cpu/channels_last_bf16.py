"""ResNet-50 for bf16 inference on the CPU: channels-last bf16 maps, batch norms folded in.

Under CPU autocast, torch converts each convolution's float32 weight to bf16 on every call and
runs oneDNN on channel-first maps, where its bf16 kernels are slow (1x1 convolutions barely
beat float32), then normalises in float32. Here each convolution and the frozen batch norm
after it become one bf16 convolution with a bias: the weight scaled by the norm's
``weight / sqrt(var + eps)`` in float32 and rounded to bf16 once, the shift as the bias, both
kept in channels-last until the weights change; the maps stay bf16 channels-last throughout,
oneDNN accumulates each output in float32 and adds the bias before its one rounding, and the
residual add and ReLU run on the bf16 map in place. The result moves from the float32 path by
bf16 rounding (``tests/test_cpu_bf16_backbone.py`` bounds it on the golden inputs); float32
and anything under autograd never come here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

if TYPE_CHECKING:
    from aios_core.model.backbone import Bottleneck, FrozenBatchNorm2d, ResNet50Body

_BF16 = torch.bfloat16
_CHANNELS_LAST = torch.channels_last


def channels_last_bf16_applies(images: Tensor) -> bool:
    """True for CPU inference without autograd under ``torch.autocast("cpu", bfloat16)``."""
    return (
        images.device.type == "cpu"
        and not torch.is_grad_enabled()
        and torch.is_autocast_enabled("cpu")
        and torch.get_autocast_dtype("cpu") == _BF16
    )


def _signature(tensors: tuple[Tensor, ...]) -> tuple:
    """Changes when any tensor is replaced (``.to``, a new load) or written in place
    (``load_state_dict`` copies into the tensors, an optimiser steps them): the version
    counter counts in-place writes."""
    return tuple((t.data_ptr(), t._version, t.dtype) for t in tensors)


class FoldedConvolutions:
    """Each (convolution, batch norm) pair of a ResNet as a bf16 channels-last weight and a
    bf16 bias, converted on first use and again only after the weights change."""

    def __init__(self) -> None:
        self._folded: dict[int, tuple[tuple, Tensor, Tensor]] = {}
        self.conversions = 0  # how many pairs were (re)converted; tests read it

    def weight_and_bias(self, conv: nn.Conv2d, norm: FrozenBatchNorm2d) -> tuple[Tensor, Tensor]:
        """(C_out, C_in, k, k) bf16 channels-last weight and (C_out,) bf16 bias."""
        sources = (conv.weight, norm.weight, norm.bias, norm.running_mean, norm.running_var)
        signature = _signature(sources)
        cached = self._folded.get(id(conv))
        if cached is not None and cached[0] == signature:
            return cached[1], cached[2]
        scale, shift = norm.scale_and_shift()  # (1, C, 1, 1) float32 each
        weight = (conv.weight.detach() * scale.reshape(-1, 1, 1, 1)).to(_BF16)
        weight = weight.contiguous(memory_format=_CHANNELS_LAST)
        bias = shift.reshape(-1).to(_BF16)
        self._folded[id(conv)] = (signature, weight, bias)
        self.conversions += 1
        return weight, bias


def _conv_norm(
    folded: FoldedConvolutions, conv: nn.Conv2d, norm: FrozenBatchNorm2d, x: Tensor
) -> Tensor:
    """norm(conv(x)) on a bf16 channels-last map, as one bf16 convolution with a bias."""
    weight, bias = folded.weight_and_bias(conv, norm)
    return F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)


def _bottleneck(folded: FoldedConvolutions, block: Bottleneck, x: Tensor) -> Tensor:
    identity = x
    if block.downsample is not None:
        identity = _conv_norm(folded, block.downsample[0], block.downsample[1], x)
    out = _conv_norm(folded, block.conv1, block.bn1, x).relu_()
    out = _conv_norm(folded, block.conv2, block.bn2, out).relu_()
    return _conv_norm(folded, block.conv3, block.bn3, out).add_(identity).relu_()


def resnet_bf16_channels_last(
    body: ResNet50Body, folded: FoldedConvolutions, images: Tensor
) -> list[Tensor]:
    """images (B, 3, H, W) -> the requested stage outputs, (B, C, h, w) bf16 channels-last."""
    x = images.to(_BF16).contiguous(memory_format=_CHANNELS_LAST)
    x = _conv_norm(folded, body.conv1, body.bn1, x).relu_()
    # A maximum returns one of its inputs: exact in any layout and order.
    x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
    outputs = []
    for index, stage in enumerate(body.stages()[: max(body.return_layers) + 1]):
        for block in stage:
            x = _bottleneck(folded, block, x)
        if index in body.return_layers:
            outputs.append(x)
    return outputs
