"""Box conversions and generalized IoU with the official epsilons (util/box_ops.py)."""

from __future__ import annotations

import torch
from torch import Tensor

_EPS = 1e-6


def cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


def _area(boxes: Tensor) -> Tensor:
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _giou(a: Tensor, b: Tensor) -> Tensor:
    """GIoU of broadcastable xyxy boxes (..., 4) -> (...)."""
    inter_wh = (torch.min(a[..., 2:], b[..., 2:]) - torch.max(a[..., :2], b[..., :2])).clamp(min=0)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    union = _area(a) + _area(b) - inter
    iou = inter / (union + _EPS)
    hull_wh = (torch.max(a[..., 2:], b[..., 2:]) - torch.min(a[..., :2], b[..., :2])).clamp(min=0)
    hull = hull_wh[..., 0] * hull_wh[..., 1]
    return iou - (hull - union) / (hull + _EPS)


def pairwise_giou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """xyxy (N, 4), (M, 4) -> (N, M) generalized IoU."""
    return _giou(boxes1[:, None, :], boxes2[None, :, :])


def paired_giou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """xyxy (N, 4), (N, 4) -> (N,) GIoU of each pair (the diagonal of ``pairwise_giou``)."""
    return _giou(boxes1, boxes2)
