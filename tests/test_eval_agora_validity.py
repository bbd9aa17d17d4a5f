"""`aios eval agora`: a person over 90 % occluded is invalid, as in the AGORA toolkit's GT.

The toolkit's GT dataframes set ``isValid`` False for such people; they are neither counted
(no miss) nor matchable (a detection of one is a false positive).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from aios_core.evaluation.agora_matching import occlusion_is_valid
from aios_core.evaluation.runner import EvalOptions, run_evaluation
from tests.synthetic_benchmark import GroundTruthPredictor, build_agora_validation, pose_gt

BODY_POSE_OFFSET_RAD = 0.15


def test_validity_is_occlusion_within_0_to_90_percent():
    occlusion = np.array([0.0, 45.0, 90.0, 90.01, 95.0, 100.0, -1.0])
    assert occlusion_is_valid(occlusion).tolist() == [True, True, True, False, False, False,
                                                      False]


def toolkit_body_mpjpe_mm(smplx_dir, gt: dict, pred: dict) -> float:
    """The toolkit's body MPJPE of one person: 22 joints, each set minus its hip midpoint."""
    gt_joints, pred_joints = pose_gt(smplx_dir, gt)[0, :22], pose_gt(smplx_dir, pred)[0, :22]
    gt_joints = gt_joints - gt_joints[1:3].mean(axis=0)
    pred_joints = pred_joints - pred_joints[1:3].mean(axis=0)
    return float(np.linalg.norm(gt_joints - pred_joints, axis=1).mean() * 1000)


@pytest.fixture
def occluded_scene(tmp_path, smplx_model_dir):
    # Images of 2, 1 and 2 people; the second person of image 0 is 95 % occluded.
    return build_agora_validation(tmp_path / "data", smplx_model_dir, [0, 95, 10, 0, 0],
                                  [False] * 5)


def test_an_over_occluded_person_is_not_counted_and_its_detection_is_a_false_positive(
        occluded_scene, tmp_path):
    # The predictor finds every person, the occluded one too, except image 2's second person;
    # all body poses are off by a known rotation.
    predictor = GroundTruthPredictor(occluded_scene, drop={2: (1,)})
    exact = predictor.result

    def posed_off(index):
        result = exact(index)
        result.body_pose = result.body_pose + BODY_POSE_OFFSET_RAD
        return result

    predictor.result = posed_off
    per_image = tmp_path / "rows.json"
    options = EvalOptions(benchmark="agora", data_root=occluded_scene.data_root,
                          out_path=tmp_path / "out" / "results.json",
                          smplx_dir=occluded_scene.smplx_dir, batch_size=2,
                          per_image_errors=per_image)
    report = run_evaluation(options, predictor)

    # Toolkit: 4 valid people, 3 found (TP), 1 missed (FN), the occluded one's detection FP.
    assert report["counts"]["num_gt"] == 4
    assert report["counts"]["num_missed"] == 1
    assert report["counts"]["num_false_positives"] == 1
    metrics = report["results"]["metrics"]
    # P = 3/4, R = 3/4, F1 = 3 / (3 + (1 + 1) / 2). Counting the occluded person as valid
    # (the old behaviour) gave R = 3/5 = 0.6 and F1 = 3 / 4.5 = 0.67.
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (0.75, 0.75, 0.75)

    params = occluded_scene.params
    matched = [0, 2, 3]  # GT rows of image 0 person 0, image 1, image 2 person 0
    errors = []
    for row in matched:
        gt = {k: v[row:row + 1] for k, v in params.items() if k != "transl"}
        pred = dict(gt, body_pose=gt["body_pose"] + BODY_POSE_OFFSET_RAD)
        errors.append(toolkit_body_mpjpe_mm(occluded_scene.smplx_dir, gt, pred))
    body_mpjpe = float(np.round(np.mean(errors), 1))
    assert body_mpjpe > 10.0
    assert metrics["body-MPJPE"] == pytest.approx(body_mpjpe, abs=0.1)
    assert metrics["body-NMJE"] == float(np.round(metrics["body-MPJPE"] / 0.75, 1))

    rows = json.loads(per_image.read_text())["rows"]
    occluded = rows[0]["persons"][1]
    assert occluded["valid"] is False and occluded["errors_mm"] is None
    assert [p["valid"] for r in rows for p in r["persons"]] == [True, False, True, True, True]
    assert [r["num_false_positives"] for r in rows] == [1, 0, 0]
