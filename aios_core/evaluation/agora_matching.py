"""Prediction-to-ground-truth matching of one AGORA image, as the AGORA toolkit does it.

Greedy on 2D joints (toolkit ``matching.py::match_2d_greedy``): the cheapest remaining
(prediction, GT) pair is examined first; a pair is accepted when both sides are free and the
joint boxes overlap with IoU >= 0.1. Matching a GT that is not valid (occluded > 90 % or
``isValid`` false) retires that GT without consuming the prediction, so a detection of an
invalid person ends as a false positive unless another GT takes it.

Predictions must be given in the toolkit's order: lexicographic order of their file paths
(see :func:`prediction_file_order`); only ties in the cost depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

NUM_COST_JOINTS = 24
IOU_THRESHOLD = 0.1
MAX_VALID_OCCLUSION_PCT = 90.0

PairCost = Literal["spectral", "frobenius"]


@dataclass
class ImageMatching:
    """Outcome of matching one image; indices refer to the inputs' order."""

    pairs: list[tuple[int, int]] = field(default_factory=list)  # (pred, gt), acceptance order
    false_positives: list[int] = field(default_factory=list)  # unmatched predictions
    misses: list[int] = field(default_factory=list)  # unmatched valid GTs
    invalid: list[int] = field(default_factory=list)  # invalid GTs (may repeat, as the toolkit)

    def pred_for_gt(self, num_gt: int) -> np.ndarray:
        """(G,) int: the matched prediction of each GT, -1 for misses and invalid GTs."""
        out = np.full(num_gt, -1, dtype=np.int64)
        for pred, gt in self.pairs:
            out[gt] = pred
        return out

    @property
    def num_false_positives(self) -> int:
        return len(self.false_positives)


def prediction_file_order(paths: Sequence[str]) -> list[int]:
    """Indices that put prediction files in the toolkit's order (plain string sort of paths)."""
    return sorted(range(len(paths)), key=lambda i: paths[i])


def occlusion_is_valid(occlusion_pct: np.ndarray) -> np.ndarray:
    """(G,) bool: 0 <= occlusion <= 90 %, the rule behind the ``isValid`` column of the
    toolkit's GT dataframes ("If the occlusion is in range 0-90, isValid is True")."""
    occlusion_pct = np.asarray(occlusion_pct, dtype=np.float64)
    return (occlusion_pct >= 0) & (occlusion_pct <= MAX_VALID_OCCLUSION_PCT)


def valid_gt_mask(occlusion_pct: np.ndarray, is_valid: np.ndarray) -> np.ndarray:
    """(G,) bool: GTs the matcher may match: 0 <= occlusion <= 90 and ``isValid``."""
    return occlusion_is_valid(occlusion_pct) & np.asarray(is_valid, dtype=bool)


def joint_box_iou(points_a: np.ndarray, points_b: np.ndarray) -> float:
    """IoU of the min/max boxes of two (N, >=2) point sets, pixel convention (+1 on sides)."""
    min_a, max_a = points_a.min(axis=0), points_a.max(axis=0)
    min_b, max_b = points_b.min(axis=0), points_b.max(axis=0)
    inter_w = max(0.0, min(max_a[0], max_b[0]) - max(min_a[0], min_b[0]) + 1)
    inter_h = max(0.0, min(max_a[1], max_b[1]) - max(min_a[1], min_b[1]) + 1)
    intersection = inter_w * inter_h
    area_a = (max_a[0] - min_a[0] + 1) * (max_a[1] - min_a[1] + 1)
    area_b = (max_b[0] - min_b[0] + 1) * (max_b[1] - min_b[1] + 1)
    return float(intersection / float(area_a + area_b - intersection))


def pair_costs(
    pred_joints_2d: Sequence[np.ndarray],
    gt_joints_2d: Sequence[np.ndarray],
    cost: PairCost = "spectral",
) -> np.ndarray:
    """(P, G) cost of every pair from the first 24 2D joints.

    The toolkit calls ``np.linalg.norm(diff, 2)`` on the (24, 2) difference, which numpy
    evaluates as the matrix 2-norm (largest singular value), not the Frobenius norm; that is
    the default here. ``"frobenius"`` gives the norm over all 48 numbers.
    """
    if len(pred_joints_2d) == 0 or len(gt_joints_2d) == 0:
        return np.zeros((len(pred_joints_2d), len(gt_joints_2d)))
    pred = np.stack([np.asarray(p)[:NUM_COST_JOINTS, :2] for p in pred_joints_2d])
    gt = np.stack([np.asarray(g)[:NUM_COST_JOINTS, :2] for g in gt_joints_2d])
    diff = pred[:, None] - gt[None]  # (P, G, 24, 2)
    if cost == "spectral":
        return np.linalg.norm(diff, ord=2, axis=(-2, -1))
    if cost == "frobenius":
        return np.sqrt(np.sum(diff**2, axis=(-2, -1)))
    raise ValueError(f"unknown pair cost {cost!r}")


def match_image(
    pred_joints_2d: Sequence[np.ndarray],
    gt_joints_2d: Sequence[np.ndarray],
    gt_valid: np.ndarray,
    *,
    iou_threshold: float = IOU_THRESHOLD,
    cost: PairCost = "spectral",
) -> ImageMatching:
    """Greedy matching of one image.

    pred_joints_2d: P arrays (>=24, 2) in pixels of the full-size image; every row builds the
    prediction's box. gt_joints_2d: G arrays (127 or 45, 2); every row builds the GT box.
    gt_valid: (G,) bool from :func:`valid_gt_mask`.
    """
    # The toolkit squeezes each prediction's joints ((1, 24, 2) files are common).
    pred_joints_2d = [np.squeeze(np.asarray(p)) for p in pred_joints_2d]
    gt_joints_2d = [np.asarray(g) for g in gt_joints_2d]
    num_pred, num_gt = len(pred_joints_2d), len(gt_joints_2d)
    gt_valid = np.asarray(gt_valid, dtype=bool)
    costs = pair_costs(pred_joints_2d, gt_joints_2d, cost).reshape(-1)  # pred-major, as product()
    pred_used = np.zeros(num_pred, dtype=bool)
    gt_used = np.zeros(num_gt, dtype=bool)
    result = ImageMatching()
    rejected_by_iou = 0  # the toolkit's loop-level "false positive" counter
    # The loop ends when every GT is used, or accepted + IoU-rejected pairs reach #predictions
    # (the counter also counts rejections of already-matched predictions, so the loop can stop
    # before a costlier legitimate pair is seen; reproduced on purpose).
    while gt_used.sum() < num_gt and pred_used.sum() + rejected_by_iou < num_pred:
        if np.all(np.isinf(costs)):
            break  # unreachable by counting argument; guards against an endless loop
        flat = int(np.argmin(costs))
        costs[flat] = np.inf
        pred, gt = divmod(flat, num_gt)
        iou = joint_box_iou(pred_joints_2d[pred], gt_joints_2d[gt])
        overlapping = iou >= iou_threshold
        if not overlapping:
            rejected_by_iou += 1
        elif pred_used[pred] or gt_used[gt]:
            continue  # a taken side: drop the pair, keep searching
        # The pair is settled: accepted, or rejected by IoU (only the GT side can change).
        if not gt_valid[gt]:
            gt_used[gt] = True
            result.invalid.append(gt)
        elif overlapping:
            result.pairs.append((pred, gt))
            pred_used[pred] = True
            gt_used[gt] = True

    matched_preds = {p for p, _ in result.pairs}
    matched_gts = {g for _, g in result.pairs}
    result.false_positives = [p for p in range(num_pred) if p not in matched_preds]
    for gt in range(num_gt):
        if gt in matched_gts:
            continue
        if gt_valid[gt]:
            result.misses.append(gt)
        else:
            result.invalid.append(gt)
    return result
