import numpy as np
import pytest

from aios_core.evaluation.agora_matching import (
    joint_box_iou,
    match_image,
    pair_costs,
    prediction_file_order,
    valid_gt_mask,
)


def person(x0: float, y0: float, size: float = 100.0, rows: int = 127) -> np.ndarray:
    """A deterministic 2D skeleton filling the box [x0, x0+size] x [y0, y0+size]."""
    t = np.linspace(0.0, 1.0, rows)
    return np.stack([x0 + size * t, y0 + size * (t * 7 % 1.0)], axis=1)


def test_box_iou_uses_plus_one_pixel_convention():
    a = np.array([[0.0, 0.0], [9.0, 9.0]])  # 10 x 10 px
    b = np.array([[5.0, 0.0], [14.0, 9.0]])  # 10 x 10 px, overlapping 5 x 10
    assert joint_box_iou(a, b) == pytest.approx(50 / (100 + 100 - 50))
    assert joint_box_iou(a, a + 100) == 0.0


def test_cost_is_the_spectral_norm_of_the_24_joint_difference():
    gt = person(0, 0)
    pred = gt[:24].copy()
    pred[:, 0] += 3.0  # every joint 3 px to the right
    # The (24, 2) difference is rank one: spectral norm 3*sqrt(24); Frobenius is the same here.
    assert pair_costs([pred], [gt])[0, 0] == pytest.approx(3.0 * np.sqrt(24))
    pred2 = gt[:24].copy()
    pred2[:12, 0] += 3.0
    pred2[12:, 1] += 4.0  # orthogonal offsets: spectral 4*sqrt(12), Frobenius sqrt(25*12)
    assert pair_costs([pred2], [gt])[0, 0] == pytest.approx(4.0 * np.sqrt(12))
    assert pair_costs([pred2], [gt], "frobenius")[0, 0] == pytest.approx(np.sqrt(25 * 12))
    # Rows beyond 24 never enter the cost.
    far_tail = gt.copy()
    far_tail[24:] += 1000
    assert pair_costs([gt[:24]], [far_tail])[0, 0] == 0.0


def test_crafted_scene_picks_the_right_pairs():
    gts = [person(0, 0), person(1000, 0), person(2000, 0)]
    jitter = np.linspace(0, 2, 48).reshape(24, 2)
    preds = [
        gts[2][:24] + jitter,  # -> GT 2
        person(5000, 5000)[:24],  # nowhere: false positive
        gts[0][:24] - jitter,  # -> GT 0
    ]
    result = match_image(preds, gts, np.array([True, True, True]))
    assert sorted(result.pairs) == [(0, 2), (2, 0)]
    assert result.false_positives == [1]
    assert result.misses == [1]
    assert result.invalid == []
    np.testing.assert_array_equal(result.pred_for_gt(3), [2, -1, 0])


def test_greedy_is_not_hungarian():
    # Costs (x offsets only, so cost = |dx| * sqrt(24)): A-G0 3, A-G1 7, B-G0 5, B-G1 15.
    # Greedy takes A-G0 first and leaves B-G1 (total 18); Hungarian would pick A-G1 + B-G0 (12).
    gts = [person(0, 0), person(10, 0)]
    preds = [person(3, 0), person(-5, 0)]  # A, B: full skeletons, all boxes overlap
    result = match_image(preds, gts, np.array([True, True]))
    assert result.pairs == [(0, 0), (1, 1)]


def test_a_detection_of_an_invalid_person_is_a_false_positive():
    gts = [person(0, 0), person(1000, 0)]
    preds = [gts[0][:24], gts[1][:24]]
    valid = valid_gt_mask(np.array([95.0, 10.0]), np.array([True, True]))
    result = match_image(preds, gts, valid)
    assert result.pairs == [(1, 1)]
    assert result.false_positives == [0]
    assert result.misses == []
    # Retired in the loop and listed again as unassigned, as the toolkit does.
    assert result.invalid == [0, 0]


def test_low_iou_pair_is_rejected_even_when_cheapest():
    gt = person(0, 0)
    pred = person(500, 500)[:24]
    result = match_image([pred], [gt], np.array([True]))
    assert result.pairs == [] and result.false_positives == [0] and result.misses == [0]


def test_iou_rejections_end_the_loop_early_as_in_the_toolkit():
    # One prediction. Its cheapest pair is with a GT whose first 24 joints coincide with it
    # but whose other joints span the whole image (IoU < 0.1): that rejection counts as a
    # loop "false positive" and ends the loop before the overlapping GT is examined.
    pred = person(3000, 1000)
    image_wide = pred.copy()
    image_wide[24:] = person(0, 0, size=2100, rows=127 - 24)
    overlapping = person(3010, 1000)
    assert joint_box_iou(pred, image_wide) < 0.1 <= joint_box_iou(pred, overlapping)
    costs = pair_costs([pred], [image_wide, overlapping])
    assert costs[0, 0] < costs[0, 1]
    result = match_image([pred], [image_wide, overlapping], np.array([True, True]))
    assert result.pairs == []
    assert result.false_positives == [0]
    assert result.misses == [0, 1]
    # Without the decoy the same prediction matches the overlapping GT.
    assert match_image([pred], [overlapping], np.array([True])).pairs == [(0, 0)]


def test_validity_mask_and_file_order():
    np.testing.assert_array_equal(
        valid_gt_mask(np.array([0, 90, 91, -1, 50]), np.array([1, 1, 1, 1, 0], bool)),
        [True, True, False, False, False],
    )
    paths = ["img_personId_2.pkl", "img_personId_10.pkl", "img_personId_1.pkl"]
    assert prediction_file_order(paths) == [2, 1, 0]  # '10' sorts before '2'


def test_empty_inputs():
    assert match_image([], [person(0, 0)], np.array([True])).misses == [0]
    assert match_image([person(0, 0)[:24]], [], np.array([], bool)).false_positives == [0]
