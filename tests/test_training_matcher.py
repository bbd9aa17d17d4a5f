"""Hungarian matcher: costs against a scalar re-derivation, assignment against brute force."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from aios_core.data.image_targets import random_targets
from aios_core.training.matcher import COCO_SIGMAS, MatcherConfig, hungarian_match


def _class_cost(logit: float, alpha: float = 0.25) -> float:
    p = 1 / (1 + math.exp(-logit))
    return alpha * (1 - p) ** 2 * -math.log(p + 1e-8) - (1 - alpha) * p**2 * -math.log(
        1 - p + 1e-8
    )


def _giou(a: list[float], b: list[float]) -> float:
    def corners(box):
        cx, cy, w, h = box
        return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2

    ax0, ay0, ax1, ay1 = corners(a)
    bx0, by0, bx1, by1 = corners(b)
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    hull = (max(ax1, bx1) - min(ax0, bx0)) * (max(ay1, by1) - min(ay0, by0))
    return inter / (union + 1e-6) - (hull - union) / (hull + 1e-6)


def _box_cost(logits, box, gt_box) -> float:
    l1 = sum(abs(p - g) for p, g in zip(box, gt_box, strict=True))
    return 5.0 * l1 + 2.0 * _class_cost(logits[1]) - 2.0 * _giou(box, gt_box)


def _keypoint_cost(logits, keypoints, gt_keypoints, area) -> float:
    k = len(COCO_SIGMAS)
    weights = gt_keypoints[2 * k :]
    l1, similarity = 0.0, 0.0
    for j in range(k):
        dx = keypoints[2 * j] - gt_keypoints[2 * j]
        dy = keypoints[2 * j + 1] - gt_keypoints[2 * j + 1]
        l1 += (abs(dx) + abs(dy)) * weights[j]
        similarity += math.exp(-(dx * dx + dy * dy) / (area * (2 * COCO_SIGMAS[j]) ** 2 * 2)) * (
            weights[j]
        )
    oks = max(similarity / (sum(weights) + 1e-6), 1e-6)
    return 2.0 * _class_cost(logits[1]) + 10.0 * l1 + 4.0 * (1 - oks)


def _brute_force(cost: list[list[float]]) -> tuple[float, list[tuple[int, int]]]:
    """Cheapest assignment of every target (column) to a distinct prediction (row)."""
    rows, cols = len(cost), len(cost[0])
    best = (math.inf, [])
    for chosen in itertools.permutations(range(rows), cols):
        total = sum(cost[r][c] for c, r in enumerate(chosen))
        if total < best[0]:
            best = (total, sorted((r, c) for c, r in enumerate(chosen)))
    return best


def _outputs(num_preds: int, with_keypoints: bool, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    outputs = {
        "pred_logits": torch.randn(2, num_preds, 2, generator=g),
        "pred_boxes": torch.cat(
            (0.3 + 0.4 * torch.rand(2, num_preds, 2, generator=g),
             0.1 + 0.4 * torch.rand(2, num_preds, 2, generator=g)), dim=-1
        ),
    }
    if with_keypoints:
        outputs["pred_keypoints"] = torch.rand(2, num_preds, 51, generator=g)
    return outputs


@pytest.mark.parametrize("with_keypoints", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_assignment_is_the_brute_force_optimum(with_keypoints: bool, seed: int) -> None:
    g = torch.Generator().manual_seed(100 + seed)
    targets = [random_targets(3, generator=g), random_targets(2, generator=g)]
    outputs = _outputs(5, with_keypoints, seed)
    matches = hungarian_match(outputs, targets, MatcherConfig())

    for image, (rows, cols) in enumerate(matches):
        t = targets[image]
        cost = [
            [
                _keypoint_cost(
                    outputs["pred_logits"][image, p].tolist(),
                    outputs["pred_keypoints"][image, p].tolist(),
                    t.body_keypoints()[n].tolist(), float(t.area[n]),
                )
                if with_keypoints
                else _box_cost(
                    outputs["pred_logits"][image, p].tolist(),
                    outputs["pred_boxes"][image, p].tolist(), t.boxes[n].tolist(),
                )
                for n in range(t.num_persons)
            ]
            for p in range(5)
        ]
        best_total, best_pairs = _brute_force(cost)
        pairs = sorted(zip(rows.tolist(), cols.tolist(), strict=True))
        assert pairs == best_pairs
        assert sum(cost[r][c] for r, c in pairs) == pytest.approx(best_total, rel=1e-5)


def test_keypoint_stage_ignores_boxes() -> None:
    """With keypoints predicted, moving the boxes must not change the assignment (official)."""
    targets = [random_targets(3, generator=torch.Generator().manual_seed(5))]
    outputs = {k: v[:1] for k, v in _outputs(6, True, 7).items()}
    before = hungarian_match(outputs, targets, MatcherConfig())
    outputs["pred_boxes"] = outputs["pred_boxes"].flip(1)
    after = hungarian_match(outputs, targets, MatcherConfig())
    assert all(torch.equal(a, b) for pa, pb in zip(before, after, strict=True)
               for a, b in zip(pa, pb, strict=True))


def test_image_without_persons_matches_nothing() -> None:
    targets = [random_targets(0), random_targets(2, generator=torch.Generator().manual_seed(1))]
    matches = hungarian_match(_outputs(4, False, 3), targets, MatcherConfig())
    assert matches[0][0].numel() == 0 and matches[0][1].numel() == 0
    assert sorted(matches[1][1].tolist()) == [0, 1]
