import json
import math

import numpy as np
import pytest

from aios_core.evaluation.agora_metrics import (
    AgoraGroundTruth,
    AgoraPredictions,
    AgoraVertexIds,
    part_errors,
)
from aios_core.evaluation.agora_summary import _round1, evaluate_agora, precision_recall_f1

NUM_VERTS = 60
IDS = AgoraVertexIds(
    body=np.arange(0, 20), left_hand=np.arange(20, 30), right_hand=np.arange(30, 40),
    face=np.arange(40, 60),
)
RNG = np.random.default_rng(7)


def random_person() -> tuple[np.ndarray, np.ndarray]:
    return RNG.normal(size=(127, 3)), RNG.normal(size=(NUM_VERTS, 3))


def errors_of(gt_j, gt_v, pred_j, pred_v, part):
    e = part_errors(gt_j[None], gt_v[None], pred_j[None], pred_v[None], part, IDS)
    return float(e.mpjpe_m[0]), float(e.mve_m[0])


def test_global_translation_costs_nothing():
    gt_j, gt_v = random_person()
    shift = np.array([0.5, -1.0, 3.0])
    for part in ("body", "lhand", "rhand", "face"):
        assert errors_of(gt_j, gt_v, gt_j + shift, gt_v + shift, part) == pytest.approx((0, 0))


def test_body_root_is_the_hip_midpoint():
    gt_j, gt_v = random_person()
    pred_j = gt_j.copy()
    pred_j[1, 0] += 0.02  # left hip: the root moves by 0.01, so every body point is 0.01 off
    mpjpe, mve = errors_of(gt_j, gt_v, pred_j, gt_v, "body")
    assert mpjpe == pytest.approx(0.01)  # a J0 root would give 0.02 / 22
    assert mve == pytest.approx(0.01)


def test_one_body_joint_off_is_averaged_over_22():
    gt_j, gt_v = random_person()
    pred_j = gt_j.copy()
    pred_j[3] += [0.0, 0.03, 0.04]  # 5 cm, spine
    pred_j[30] += 10.0  # a finger: not a body joint
    assert errors_of(gt_j, gt_v, pred_j, gt_v, "body")[0] == pytest.approx(0.05 / 22)


def test_hand_and_face_average_include_their_root_row():
    gt_j, gt_v = random_person()
    pred_j, pred_v = gt_j.copy(), gt_v.copy()
    pred_j[25:40] += [0.016, 0, 0]  # left fingers
    pred_j[76:127] += [0, 0.052, 0]  # face landmarks
    pred_v[20:30] += [0, 0, 0.008]  # left-hand vertices
    assert errors_of(gt_j, gt_v, pred_j, pred_v, "lhand") == pytest.approx((0.015, 0.008))
    assert errors_of(gt_j, gt_v, pred_j, pred_v, "face") == pytest.approx((0.051, 0.0))
    assert errors_of(gt_j, gt_v, pred_j, pred_v, "rhand") == pytest.approx((0.0, 0.0))


def skeleton_2d(x0: float) -> np.ndarray:
    t = np.linspace(0.0, 1.0, 127)
    return np.stack([x0 + 100 * t, 100 * (t * 7 % 1.0)], axis=1)


def build_image(people, preds_2d, preds_3d):
    """people: list of (x0, isValid, kid, occlusion); preds_3d: list of (joints, verts)."""
    gt_joints, gt_verts = zip(*[random_person() for _ in people], strict=True)
    gt = AgoraGroundTruth(
        joints_2d=np.stack([skeleton_2d(p[0]) for p in people]),
        joints_3d=np.stack(gt_joints),
        verts=np.stack(gt_verts),
        occlusion_pct=np.array([p[3] for p in people], dtype=float),
        is_valid=np.array([p[1] for p in people]),
        is_kid=np.array([p[2] for p in people]),
    )
    preds = None
    if preds_2d:
        built = [f(gt) for f in preds_3d]
        preds = AgoraPredictions(preds_2d, np.stack([b[0] for b in built]),
                                 np.stack([b[1] for b in built]))
    return gt, preds


def copy_of(gt_index, hip_shift=0.0, finger_shift=0.0, lhand_vert_shift=0.0):
    def make(gt):
        joints, verts = gt.joints_3d[gt_index].copy(), gt.verts[gt_index].copy()
        joints[1, 0] += hip_shift
        joints[25:40, 0] += finger_shift
        verts[20:30, 0] += lhand_vert_shift
        return joints, verts
    return make


def junk(gt):
    return random_person()


@pytest.fixture
def scene():
    # Image A (bfh): g0 adult, g1 kid, g2 adult missed, g3 isValid False (never counted).
    gt_a, preds_a = build_image(
        [(0, True, False, 0), (1000, True, True, 20), (2000, True, False, 0), (3000, False, 0, 0)],
        [skeleton_2d(0), skeleton_2d(1000), skeleton_2d(3600)],
        [copy_of(0, hip_shift=0.02, finger_shift=0.016, lhand_vert_shift=0.008),
         copy_of(1, hip_shift=0.04), junk],
    )
    # Image B (bfh): no prediction file; its GT is a miss and enters no error average.
    gt_b, _ = build_image([(0, True, False, 0)], [], [])
    # Image C (not bfh): one missed GT and two false positives, skipped with only_bfh.
    gt_c, preds_c = build_image([(0, True, False, 0)],
                                [skeleton_2d(2000), skeleton_2d(2500)], [junk, junk])
    return [("trainset_bfh_a.png", gt_a, preds_a), ("trainset_bfh_b.png", gt_b, None),
            ("archviz_c.png", gt_c, preds_c)]


def test_summary_by_hand(scene):
    result = evaluate_agora(scene, IDS, "smplx", only_bfh=True)
    # counted GTs 4 (3 in A, 1 in B), missed 2, false positives 1: TP 2, FN 2.
    assert result.counts == {"num_gt": 4, "num_missed": 2, "num_false_positives": 1,
                             "num_kid_gt": 1, "num_kid_missed": 0}
    assert (result.precision, result.recall, result.f1) == (0.67, 0.5, 0.57)  # 2/3, 2/4, 2/3.5
    # Body: matched GTs only: (10 + 20) / 2 mm.
    assert result.body_mpjpe == 15.0 and result.body_mve == 15.0
    assert result.body_nmje == round(15.0 / 0.57, 1) == 26.3
    # Hands: every counted GT of image A, the miss as 0; image B's GT not at all.
    assert result.lhand_mpjpe == 5.0  # (15 + 0 + 0) / 3
    assert result.lhand_mve == 2.7  # (8 + 0 + 0) / 3
    assert result.rhand_mpjpe == 0.0 and result.face_mpjpe == 0.0
    assert result.fullbody_mpjpe == 16.7  # 15 + 5/3
    assert result.fullbody_nmje == 29.3  # 16.7 / 0.57
    # Kids: kid TP/miss with every false positive: P = 1/2, R = 1, F1 = 1/1.5.
    assert (result.kid_precision, result.kid_recall, result.kid_f1) == (0.5, 1.0, 0.67)
    assert result.kid_body_mpjpe == 20.0
    assert result.kid_body_nmje == 29.9  # 20 / kid F1 0.67
    assert result.kid_fullbody_mpjpe == 20.0
    assert result.kid_fullbody_nmje == 35.1  # 20 / overall F1 0.57, not kid F1


def test_non_bfh_images_count_without_the_filter(scene):
    result = evaluate_agora(scene, IDS, "smplx", only_bfh=False)
    # Image C adds a GT (missed) and two false positives: TP 2, FP 3, FN 3.
    assert (result.precision, result.recall, result.f1) == (0.4, 0.4, 0.4)
    assert result.body_nmje == round(15.0 / 0.4, 1)


def test_occluded_but_is_valid_person_is_a_miss_and_its_detection_a_false_positive():
    gt, preds = build_image([(0, True, False, 95)], [skeleton_2d(0)], [copy_of(0)])
    result = evaluate_agora([("bfh.png", gt, preds)], IDS)
    assert result.counts["num_gt"] == 1 and result.counts["num_missed"] == 1
    assert result.counts["num_false_positives"] == 1
    assert (result.precision, result.recall, result.f1) == (0.0, 0.0, 0.0)
    assert math.isnan(result.body_mpjpe) and math.isnan(result.kid_f1)


def test_smpl_track_reports_body_only():
    gt, preds = build_image([(0, True, False, 0)], [skeleton_2d(0)], [copy_of(0, hip_shift=0.02)])
    ids = AgoraVertexIds(body=np.arange(20))
    result = evaluate_agora([("any.png", gt, preds)], ids, "smpl")
    assert result.body_mpjpe == 10.0  # 24 joints, all 0.01 off
    assert result.lhand_mpjpe is None
    assert "lhand-MPJPE" not in result.to_toolkit_dict()


def test_results_are_json_ready(scene):
    payload = evaluate_agora(scene, IDS).to_dict()
    text = json.dumps(payload, allow_nan=False)
    assert json.loads(text)["metrics"]["body-MPJPE"] == 15.0


def test_rounding_rules():
    # P/R/F1: Python's round; errors: numpy's (half-way cases go to even after scaling).
    assert precision_recall_f1(0, 0, 3) == (0.0, 0.0, 0.0)
    assert precision_recall_f1(3, 0, 0) == (1.0, 1.0, 1.0)
    assert math.isnan(precision_recall_f1(2, 2, 0)[0])
    assert round(1.05, 1) == 1.1 and _round1(1.05) == 1.0
