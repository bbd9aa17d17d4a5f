"""AGORA / BEDLAM leaderboard files: names, keys, shapes, the zip layout."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest

from aios_core.evaluation.agora_submission import submission_stem, write_submission
from aios_core.evaluation.body_assets import EvalBodyModels
from aios_core.evaluation.prediction_cache import ImagePredictions
from tests.synthetic_benchmark import GroundTruthPredictor, build_benchmark


def test_submission_stems():
    assert submission_stem("ag_testset_bfh_archviz_5_10_cam00_00000.png", "agora") == \
        "ag_testset_bfh_archviz_5_10_cam00_00000"
    assert submission_stem("x/ag_testset_bfh_00001_1280x720.png", "agora") == \
        "ag_testset_bfh_00001"
    assert submission_stem("20221010_batch01/png/seq_000000/seq_000000_0003.png", "bedlam") == \
        "20221010_batch01_frameID_seq_000000_0003"
    with pytest.raises(ValueError, match="BEDLAM image"):
        submission_stem("seq_000000_0003.png", "bedlam")


def test_bedlam_vertex_form(tmp_path, smplx_model_dir):
    bench = build_benchmark(tmp_path / "data", smplx_model_dir, annotation="a.npz",
                            image_dir="images", people_per_image=(2,))
    preds = ImagePredictions.from_result(GroundTruthPredictor(bench).result(0))
    bodies = EvalBodyModels(bench.smplx_dir)
    zip_path = tmp_path / "bedlam.zip"
    count = write_submission(tmp_path / "work", [("seqA/png/seq_1/seq_1_0007.png", preds)],
                             zip_path, naming="bedlam", form="vertices", bodies=bodies)
    assert count == 2
    with zipfile.ZipFile(zip_path) as archive:
        assert "predictions/" in archive.namelist()
        record = pickle.loads(archive.read("predictions/seqA_frameID_seq_1_0007_personId_1.pkl"))
    assert set(record) == {"verts", "joints", "allSmplJoints3d"}
    assert record["verts"].shape == (10475, 3) and record["allSmplJoints3d"].shape == (127, 3)
    np.testing.assert_allclose(record["joints"], bench.keypoints_px[1, :24], rtol=1e-6)
    # Camera frame: the projected 3D joints land on the 2D joints.
    joints = record["allSmplJoints3d"][:24]
    projected = joints[:, :2] / joints[:, 2:] * preds.focal_px + preds.principal_point_px
    np.testing.assert_allclose(projected, record["joints"], atol=1e-2)
