"""`aios eval` end to end on tiny synthetic benchmarks with an injected (perfect) predictor."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest

from aios_core.evaluation.benchmarks import BenchmarkDataError
from aios_core.evaluation.report import results_table
from aios_core.evaluation.runner import EvalOptions, run_evaluation
from tests.synthetic_benchmark import (
    IMAGE_HW,
    GroundTruthPredictor,
    build_agora_validation,
    build_benchmark,
)

MESH_KEYS = {"mpvpe_all", "mpvpe_hand", "mpvpe_face", "pa_mpvpe_all", "pa_mpvpe_hand",
             "pa_mpvpe_face", "mpvpe_l_hand", "mpvpe_r_hand", "pa_mpvpe_l_hand",
             "pa_mpvpe_r_hand"}


@pytest.fixture
def ehf(tmp_path, smplx_model_dir):
    return build_benchmark(tmp_path / "data", smplx_model_dir,
                           annotation="ehf_val_230908_100.npz", image_dir="datasets/EHF",
                           people_per_image=(1, 2, 1),
                           genders=["male", "female", "neutral", "male"])


@pytest.fixture
def agora(tmp_path, smplx_model_dir):
    return build_agora_validation(tmp_path / "data", smplx_model_dir, [0, 10, 0, 0, 50],
                                  [False, False, True, False, False])


def options_for(bench, benchmark, tmp_path, **extra) -> EvalOptions:
    settings = {"batch_size": 2, **extra}
    return EvalOptions(benchmark=benchmark, data_root=bench.data_root,
                       out_path=tmp_path / "out" / "results.json", smplx_dir=bench.smplx_dir,
                       **settings)


def test_perfect_predictions_score_zero_on_a_mesh_benchmark(ehf, tmp_path):
    options = options_for(ehf, "ehf", tmp_path, per_image_errors=tmp_path / "per_image.json")
    report = run_evaluation(options, GroundTruthPredictor(ehf))
    on_disk = json.loads(options.out_path.read_text())
    assert on_disk == report
    assert on_disk["schema"] == "aios-eval/1" and on_disk["benchmark"] == "ehf"
    assert on_disk["arithmetic"] == "correct" and on_disk["submission"] is None
    assert on_disk["inputs"]["num_images"] == 3 and on_disk["inputs"]["threshold"] is None
    metrics = on_disk["results"]["metrics"]
    assert MESH_KEYS | {"pa_mpjpe_body", "pa_mpjpe_hand"} <= set(metrics)
    for key, value in metrics.items():
        assert value == pytest.approx(0.0, abs=1e-3), key
    # Top-1 per image: 3 scored of 4 GT people (the two-person image scores one).
    assert on_disk["counts"]["persons_scored"] == 3
    assert on_disk["counts"]["persons_not_scored"] == 1
    rows = json.loads((tmp_path / "per_image.json").read_text())["rows"]
    assert [r["instance"] for r in rows] == [0, 1, 3]  # the best detection is GT row 1
    assert rows[0]["image"] == "scene/img_000.png"
    results_table(report)  # renders without error


@pytest.mark.parametrize(
    ("bench_name", "annotation", "image_dir", "keypoints_key"),
    [
        ("ubody", "ubody_intra_test_all.npz", "datasets/UBody", "keypoints2d_ubody"),
        ("arctic", "p1_val_multi.npz", "datasets/ARCTIC", "keypoints2d_smplx"),
        ("egobody", "egobody_egocentric_val_multi_080824.npz", "datasets/EgoBody",
         "keypoints2d_smplx"),
    ],
)
def test_perfect_predictions_on_the_other_mesh_benchmarks(tmp_path, smplx_model_dir, bench_name,
                                                          annotation, image_dir, keypoints_key):
    bench = build_benchmark(tmp_path / "data", smplx_model_dir, annotation=annotation,
                            image_dir=image_dir, people_per_image=(1, 2),
                            keypoints_key=keypoints_key,
                            extra_meta={"iscrowd": [0, 0, 1], "valid_label": [1, 1, 1]})
    options = options_for(bench, bench_name, tmp_path)
    report = run_evaluation(options, GroundTruthPredictor(bench))
    metrics = report["results"]["metrics"]
    assert set(metrics) == MESH_KEYS
    for key, value in metrics.items():
        # None would mean "no point counted" (UBody visibility): it must not happen here.
        assert value == pytest.approx(0.0, abs=1e-3), key
    options.official_quirks = True
    quirks = run_evaluation(options, GroundTruthPredictor(bench))["results"]["metrics"]
    # The official code never computes EgoBody's face metrics.
    assert (quirks["mpvpe_face"] is None) == (bench_name == "egobody")
    # UBody drops the crowd person: its second image has one GT person left.
    expected_gt = 2 if bench_name == "ubody" else 3
    assert report["counts"]["gt_persons"] == expected_gt


def test_a_wrong_prediction_gives_its_known_error(ehf, tmp_path):
    """Shifting every predicted hand pose changes only hand-related errors."""
    predictor = GroundTruthPredictor(ehf)
    original = predictor.result

    def worse(index):
        result = original(index)
        result.betas = result.betas + 1.0  # a different body shape: every error grows
        return result

    predictor.result = worse
    report = run_evaluation(options_for(ehf, "ehf", tmp_path), predictor)
    metrics = report["results"]["metrics"]
    assert metrics["mpvpe_all"] > 1.0
    assert metrics["pa_mpvpe_all"] < metrics["mpvpe_all"]


def test_official_quirks_mode_is_recorded_and_zero_for_perfect(ehf, tmp_path):
    report = run_evaluation(options_for(ehf, "ehf", tmp_path, official_quirks=True),
                            GroundTruthPredictor(ehf))
    assert report["arithmetic"] == "official-quirks"
    assert report["results"]["official_quirks"] is True
    assert report["results"]["metrics"]["mpvpe_all"] == pytest.approx(0.0, abs=1e-3)


def test_resume_skips_finished_images(ehf, tmp_path):
    options = options_for(ehf, "ehf", tmp_path, batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        run_evaluation(options, GroundTruthPredictor(ehf, fail_after_calls=2))
    assert len(list(options.work_folder.glob("batch_*.npz"))) == 2
    resumed = GroundTruthPredictor(ehf)
    options.resume = True
    report = run_evaluation(options, resumed)
    assert resumed.images_seen == [2]
    assert report["counts"]["persons_scored"] == 3
    # Without --resume everything is inferred again.
    fresh = GroundTruthPredictor(ehf)
    options.resume = False
    run_evaluation(options, fresh)
    assert fresh.images_seen == [0, 1, 2]


def test_resume_with_other_settings_is_refused(ehf, tmp_path):
    from aios_core.evaluation.prediction_cache import PredictionCacheError

    options = options_for(ehf, "ehf", tmp_path)
    run_evaluation(options, GroundTruthPredictor(ehf))
    options.resume, options.threshold = True, 0.5
    with pytest.raises(PredictionCacheError, match="threshold"):
        run_evaluation(options, GroundTruthPredictor(ehf))


def test_perfect_predictions_on_agora_give_f1_one_and_zero_errors(agora, tmp_path):
    report = run_evaluation(options_for(agora, "agora", tmp_path), GroundTruthPredictor(agora))
    metrics = report["results"]["metrics"]
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (1.0, 1.0, 1.0)
    for key in ("body-MPJPE", "body-MVE", "fullbody-NMVE", "lhand-MVE", "face-MPJPE",
                "kid-body-MVE"):
        assert metrics[key] == 0.0, key
    assert report["counts"]["num_gt"] == 5 and report["counts"]["num_kid_gt"] == 1
    assert report["inputs"]["threshold"] == 0.1
    results_table(report)


def test_agora_miss_and_false_positive_change_the_detection_metrics(agora, tmp_path):
    # Image 2 loses its second person (a miss); image 0 gets a far-away detection (an FP).
    predictor = GroundTruthPredictor(agora, drop={2: (1,)}, false_positive=(0,))
    per_image = tmp_path / "rows.json"
    report = run_evaluation(options_for(agora, "agora", tmp_path, per_image_errors=per_image),
                            predictor)
    rows = json.loads(per_image.read_text())["rows"]
    assert [r["num_false_positives"] for r in rows] == [1, 0, 0]
    assert [p["missed"] for p in rows[2]["persons"]] == [False, True]
    assert rows[2]["persons"][1]["errors_mm"] is None
    assert rows[2]["persons"][0]["errors_mm"]["body_mve"] == pytest.approx(0.0, abs=1e-3)
    assert rows[0]["persons"][1]["kid"] is False and rows[1]["persons"][0]["kid"] is True
    metrics = report["results"]["metrics"]
    assert report["counts"]["num_missed"] == 1
    assert report["counts"]["num_false_positives"] == 1
    # TP 4, FN 1, FP 1: P = R = 0.8, F1 = 4 / (4 + 1) = 0.8.
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (0.8, 0.8, 0.8)
    assert metrics["body-MVE"] == 0.0 and metrics["body-NMVE"] == 0.0


def test_agora_test_writes_the_leaderboard_zip(tmp_path, smplx_model_dir):
    bench = build_benchmark(tmp_path / "data", smplx_model_dir, annotation="unused.npz",
                            image_dir="datasets/agora/3840x2160/test",
                            people_per_image=(2, 1))
    # agora-test lists image files; move them out of the scene/ sub-folder.
    test_dir = bench.data_root / "datasets/agora/3840x2160/test"
    for path in sorted((test_dir / "scene").iterdir()):
        path.rename(test_dir / path.name)
    options = options_for(bench, "agora-test", tmp_path)
    report = run_evaluation(options, GroundTruthPredictor(bench))
    assert report["submission"]["num_person_files"] == 2  # default 0.7 drops the 0.5 score
    options.threshold = 0.3
    report = run_evaluation(options, GroundTruthPredictor(bench))
    zip_path = tmp_path / "out" / "results_predictions.zip"
    assert report["submission"] == {"zip": str(zip_path), "num_person_files": 3,
                                    "form": "params"}
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".pkl"))
        assert names == ["predictions/img_000_personId_0.pkl",
                         "predictions/img_000_personId_1.pkl",
                         "predictions/img_001_personId_0.pkl"]
        record = pickle.loads(archive.read(names[1]))
    assert record["joints"].shape == (24, 2)
    scale = 3840 / IMAGE_HW[1]
    np.testing.assert_allclose(record["joints"], bench.keypoints_px[1, :24] * scale, rtol=1e-5)
    shapes = {k: v.shape for k, v in record["params"].items()}
    assert shapes == {"transl": (1, 3), "global_orient": (1, 3), "body_pose": (1, 63),
                      "left_hand_pose": (1, 45), "right_hand_pose": (1, 45), "jaw_pose": (1, 3),
                      "leye_pose": (1, 3), "reye_pose": (1, 3), "expression": (1, 10),
                      "betas": (1, 10)}
    np.testing.assert_allclose(record["params"]["body_pose"][0], bench.params["body_pose"][1])


def test_missing_inputs_fail_clearly(ehf, tmp_path):
    options = options_for(ehf, "ehf", tmp_path)
    (ehf.smplx_dir / "SMPLX_to_J14.pkl").unlink()
    with pytest.raises(BenchmarkDataError, match="SMPLX_to_J14.pkl"):
        run_evaluation(options, GroundTruthPredictor(ehf))
    (ehf.data_root / "datasets/EHF/scene/img_001.png").unlink()
    with pytest.raises(BenchmarkDataError, match="1 of 3 images .* missing"):
        run_evaluation(options, GroundTruthPredictor(ehf))
    options.benchmark = "ubody"
    with pytest.raises(BenchmarkDataError, match="ubody_intra_test_all.npz not found"):
        run_evaluation(options, GroundTruthPredictor(ehf))
