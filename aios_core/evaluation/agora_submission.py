"""AGORA / BEDLAM leaderboard submissions: one pickle per predicted person, zipped.

Format read by the AGORA evaluation toolkit (``docs/prediction_format.md``,
``check_pred_format.py``, ``load_predictions.py``); all values are numpy arrays:

- file ``predictions/<image stem>_personId_<k>.pkl``, k = 0, 1, ... in descending score
  (the toolkit recovers the image name by dropping the last two ``_`` tokens);
- ``joints`` (24, 2): the first 24 projected SMPL-X joints, pixels of the 3840x2160 image
  (used for matching only). Predictions on the 1280x720 release are scaled by 3840 / width, as
  the toolkit documentation demands; the official AiOS writer leaves them unscaled;
- parameter form (AGORA, as AiOS's ``INFERENCE_AGORA``): ``params`` = {``global_orient``
  (1, 3), ``body_pose`` (1, 63), ``left_hand_pose`` / ``right_hand_pose`` (1, 45),
  ``jaw_pose``, ``leye_pose``, ``reye_pose`` (1, 3; eyes zero), ``expression`` (1, 10),
  ``betas`` (1, 10), ``transl`` (1, 3) metres}, axis-angle; no ``gender`` / ``kid_flag`` /
  ``pose2rot`` keys (toolkit defaults: neutral, adult, axis-angle);
- vertex form (BEDLAM, as AiOS's ``INFERENCE_BEDLAM``): ``verts`` (10475, 3) and
  ``allSmplJoints3d`` (127, 3), camera frame metres, from the neutral SMPL-X; BEDLAM file
  names are ``<sequence>_frameID_<frame stem>_personId_<k>.pkl`` (sequence = the folder four
  levels above the frame, as the official writer).

The zip holds the ``predictions/`` folder, as ``scripts/test_agora.sh`` builds it.
"""

from __future__ import annotations

import pickle
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np

from aios_core.evaluation.benchmarks import BenchmarkDataError
from aios_core.evaluation.body_assets import EvalBodyModels
from aios_core.evaluation.prediction_cache import ImagePredictions
from aios_core.io.atomic import atomic_write_bytes

AGORA_WIDTH_PX = 3840
NUM_MATCH_JOINTS = 24
NUM_AGORA_JOINTS = 127
SubmissionForm = Literal["params", "vertices"]
_PICKLE_PROTOCOL = 4  # readable by the toolkit's Python 3.8


def submission_stem(image_path: str, naming: str) -> str:
    """The file-name stem of an image's prediction pickles."""
    path = PurePosixPath(str(image_path).replace("\\", "/"))
    if naming == "bedlam":
        if len(path.parts) < 4:
            raise BenchmarkDataError(
                f"BEDLAM image {image_path} is not <sequence>/png/<seq>/<frame>")
        return f"{path.parts[-4]}_frameID_{path.stem}"
    # The 1280x720 AGORA release names images <stem>_1280x720.png.
    return path.stem.split("_1280x720")[0]


def person_records(preds: ImagePredictions, form: SubmissionForm, joints_scale: float,
                   bodies: EvalBodyModels | None = None) -> list[dict]:
    """One toolkit dict per predicted person, in score order."""
    count = len(preds)
    joints = (preds.smplx_joints_px[:, :NUM_MATCH_JOINTS] * joints_scale).astype(np.float32)
    if form == "vertices":
        if bodies is None:
            raise ValueError("the vertex form needs the SMPL-X model")
        verts, all_joints = bodies.pose(preds.params()) if count else (None, None)
        return [{"verts": verts[i] + preds.transl_m[i],
                 "joints": joints[i],
                 "allSmplJoints3d": all_joints[i, :NUM_AGORA_JOINTS] + preds.transl_m[i]}
                for i in range(count)]

    def row(array: np.ndarray, i: int) -> np.ndarray:
        return np.asarray(array[i], np.float32).reshape(1, -1)

    zeros = np.zeros((1, 3), np.float32)
    return [{"params": {"transl": row(preds.transl_m, i),
                        "global_orient": row(preds.global_orient, i),
                        "body_pose": row(preds.body_pose, i),
                        "left_hand_pose": row(preds.left_hand_pose, i),
                        "right_hand_pose": row(preds.right_hand_pose, i),
                        "jaw_pose": row(preds.jaw_pose, i),
                        "leye_pose": zeros.copy(), "reye_pose": zeros.copy(),
                        "expression": row(preds.expression, i),
                        "betas": row(preds.betas, i)},
             "joints": joints[i]}
            for i in range(count)]


def write_submission(
    folder: Path,
    images: list[tuple[str, ImagePredictions]],
    zip_path: Path,
    *,
    naming: str = "agora",
    form: SubmissionForm = "params",
    bodies: EvalBodyModels | None = None,
) -> int:
    """Write ``folder/predictions/*.pkl`` for (image path, predictions) pairs and zip them.

    Returns the number of person files. The folder is emptied first; the zip is replaced
    atomically.
    """
    out = folder / "predictions"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = 0
    seen: set[str] = set()
    for image_path, preds in images:
        stem = submission_stem(image_path, naming)
        if stem in seen:
            raise BenchmarkDataError(f"two images map to the same prediction name {stem!r}")
        seen.add(stem)
        width = float(preds.image_size_hw[1])
        scale = AGORA_WIDTH_PX / width if naming == "agora" else 1.0
        for k, record in enumerate(person_records(preds, form, scale, bodies)):
            with (out / f"{stem}_personId_{k}.pkl").open("wb") as handle:
                pickle.dump(record, handle, protocol=_PICKLE_PROTOCOL)
            written += 1

    def write_zip(stream) -> None:
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("predictions/", "")
            for path in sorted(out.iterdir()):
                archive.write(path, f"predictions/{path.name}")

    atomic_write_bytes(zip_path, write_zip)
    return written
