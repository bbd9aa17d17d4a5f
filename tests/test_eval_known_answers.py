"""Known-answer checks of the metric arithmetic `aios eval` relies on (complementing
tests/test_metrics_*.py): rigid motions, partial translations, misses and false positives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from aios_core.evaluation.agora_metrics import (
    AgoraGroundTruth,
    AgoraPredictions,
    AgoraVertexIds,
    part_errors,
)
from aios_core.evaluation.agora_summary import evaluate_agora
from aios_core.evaluation.mesh_errors import MeshPartIds
from aios_core.evaluation.mesh_summary import evaluate_mesh_benchmark

V = 10475
PART_IDS = MeshPartIds(left_hand=np.arange(1000, 1300), right_hand=np.arange(2000, 2300),
                       face=np.arange(3000, 3500))
AGORA_IDS = AgoraVertexIds(body=np.arange(0, 40), left_hand=np.arange(40, 50),
                           right_hand=np.arange(50, 60), face=np.arange(60, 80))
ROTATION = Rotation.from_rotvec([0.3, -0.5, 0.2]).as_matrix()
RNG = np.random.default_rng(3)


def joint_regressor() -> np.ndarray:
    reg = np.zeros((55, V))
    for j in range(55):
        reg[j, 7 * j:7 * j + 7] = 1 / 7
    return reg


def test_rigid_motion_gives_zero_pa_error_and_the_analytic_unaligned_error():
    gt = RNG.normal(scale=0.3, size=(1, V, 3))
    reg = joint_regressor()
    pelvis = reg[0] @ gt[0]
    pred = (gt[0] @ ROTATION.T + [0.4, -0.1, 2.5])[None]
    m = evaluate_mesh_benchmark("arctic", pred, gt, reg, PART_IDS).metrics_mm
    for key in ("pa_mpvpe_all", "pa_mpvpe_l_hand", "pa_mpvpe_r_hand", "pa_mpvpe_face"):
        assert m[key] == pytest.approx(0.0, abs=1e-7)
    # Root-aligned: prediction = R (v - pelvis) + pelvis, so the error of v is |(R - I)(v - p)|.
    centred = gt[0] - pelvis
    expected = 1000 * np.linalg.norm(centred @ ROTATION.T - centred, axis=1).mean()
    assert m["mpvpe_all"] == pytest.approx(expected, rel=1e-9)
    assert expected > 50  # a real rotation, not a vacuous check


def test_agora_rotation_about_the_hips_gives_the_analytic_mpjpe():
    joints, verts = RNG.normal(size=(127, 3)), RNG.normal(size=(80, 3))
    root = (joints[1] + joints[2]) / 2
    pred_joints = (joints - root) @ ROTATION.T + root + 5.0
    pred_verts = (verts - root) @ ROTATION.T + root + 5.0
    found = part_errors(joints[None], verts[None], pred_joints[None], pred_verts[None], "body",
                        AGORA_IDS)
    body = joints[:22] - root
    expected = np.linalg.norm(body @ ROTATION.T - body, axis=1).mean()
    assert found.mpjpe_m[0] == pytest.approx(expected, rel=1e-12)


def test_translating_the_non_hip_body_joints_gives_a_known_mpjpe():
    joints, verts = RNG.normal(size=(127, 3)), RNG.normal(size=(80, 3))
    pred = joints.copy()
    pred[3:22] += [0.03, 0.0, 0.04]  # 5 cm on 19 of the 22 body joints; the hips stay
    found = part_errors(joints[None], verts[None], pred[None], verts[None], "body", AGORA_IDS)
    assert found.mpjpe_m[0] == pytest.approx(0.05 * 19 / 22)
    assert found.mve_m[0] == pytest.approx(0.0)


def _image(num_gt: int, matched: int, false_positives: int, body_offset_m: float):
    """GTs side by side; the first ``matched`` get a detection whose body vertices are all
    ``body_offset_m`` off; false positives sit far away from every GT."""
    t = np.linspace(0, 1, 127)
    joints_2d = np.stack([np.stack([1000 * g + 100 * t, 100 * (t * 7 % 1)], 1)
                          for g in range(num_gt)])
    joints_3d = RNG.normal(size=(num_gt, 127, 3))
    verts = RNG.normal(size=(num_gt, 80, 3))
    gt = AgoraGroundTruth(joints_2d, joints_3d, verts, np.zeros(num_gt), np.ones(num_gt, bool),
                          np.zeros(num_gt, bool))
    pred_2d = [joints_2d[g] for g in range(matched)]
    pred_2d += [joints_2d[0] + 50_000.0 * (k + 1) for k in range(false_positives)]
    count = matched + false_positives
    pred_verts = np.concatenate([verts[:matched], verts[:1].repeat(false_positives, 0)])
    pred_verts[:, :40] += [body_offset_m, 0, 0]
    pred_joints = np.concatenate([joints_3d[:matched], joints_3d[:1].repeat(false_positives, 0)])
    preds = AgoraPredictions(pred_2d, pred_joints, pred_verts) if count else None
    return gt, preds


@pytest.mark.parametrize(
    ("matched", "false_positives", "prf1"),
    [
        (4, 0, (1.0, 1.0, 1.0)),
        (3, 0, (1.0, 0.75, 0.86)),  # one miss: F1 = 3 / (3 + 0.5)
        (4, 1, (0.8, 1.0, 0.89)),  # one false positive: F1 = 4 / (4 + 0.5)
        (3, 1, (0.75, 0.75, 0.75)),  # both: F1 = 3 / (3 + 1)
    ],
)
def test_misses_and_false_positives_change_prf1_and_nmve_exactly(matched, false_positives, prf1):
    gt, preds = _image(4, matched, false_positives, body_offset_m=0.012)
    result = evaluate_agora([("img_bfh.png", gt, preds)], AGORA_IDS)
    assert (result.precision, result.recall, result.f1) == prf1
    assert result.body_mve == 12.0  # matched persons only: misses do not enter it
    assert result.body_nmve == round(12.0 / prf1[2], 1)
    # Hands average misses as 0 (the hand vertices are exact here anyway).
    assert result.lhand_mve == 0.0
    assert result.counts["num_missed"] == 4 - matched
    assert result.counts["num_false_positives"] == false_positives
