"""Score cached predictions on AGORA validation with the AGORA toolkit's semantics, in process.

The toolkit scores prediction pickles against its GT dataframes; here the same quantities come
from AiOS's HumanData file of the validation set and from the predictions directly:

- GT per person: 2D joints = the first 127 rows of ``keypoints2d_smplx`` (the toolkit's 127
  SMPL-X joints without face contour, full-image pixels); 3D joints / vertices = the person's
  gendered SMPL-X (kid model for kids, see ``body_assets``) from the file's parameters;
  occlusion = ``meta['occ']`` (0 when absent); kid = ``meta['is_kid']``; ``isValid`` is not
  in the file and is derived as the toolkit's GT dataframes define it: true exactly when the
  occlusion is within 0-90 %. A person occluded more than that is neither counted nor
  matchable: it is no miss, and a detection of it is a false positive (unless it matches
  another person).
- Predictions per image: what AiOS's AGORA writer would put in its pickles: the first 24
  projected joints (``joints``) and the neutral SMPL-X posed with the predicted parameters
  (the toolkit poses ``params`` the same way), ordered as the toolkit reads the files
  (lexicographic ``<stem>_personId_<k>.pkl``).
- The ``--onlybfh`` filter sees the image's file name.

Pair cost: the toolkit's code (``np.linalg.norm(diff, 2)`` on the 24x2 joint difference)
evaluates the spectral norm, not the Frobenius norm metrics.md describes; the leaderboard
numbers come from that code, so the spectral norm is used in both arithmetic modes. Everything
else (greedy matching, rounding, misses in hand / face means) is the toolkit's definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from aios_core.evaluation.agora_matching import occlusion_is_valid, prediction_file_order
from aios_core.evaluation.agora_metrics import (
    AgoraGroundTruth,
    AgoraImageRecord,
    AgoraPredictions,
    AgoraVertexIds,
    evaluate_image,
)
from aios_core.evaluation.agora_summary import MM_PER_M, summarize_agora
from aios_core.evaluation.benchmarks import BenchmarkData, BenchmarkDataError
from aios_core.evaluation.body_assets import EvalBodyModels
from aios_core.evaluation.prediction_cache import ImagePredictions
from aios_core.evaluation.results_table import AgoraResults

NUM_AGORA_JOINTS = 127
NUM_MATCH_JOINTS = 24


@dataclass
class AgoraScore:
    results: AgoraResults
    per_image: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def submission_file_names(stem: str, count: int) -> list[str]:
    """The pickle names AiOS's writer gives an image's people, in score order."""
    return [f"{stem}_personId_{k}.pkl" for k in range(count)]


def _ground_truth(data: BenchmarkData, rows: np.ndarray, bodies: EvalBodyModels):
    annotations = data.annotations
    keypoints = annotations.keypoints("keypoints2d_smplx")
    if keypoints.shape[1] < NUM_AGORA_JOINTS:
        raise BenchmarkDataError(f"{annotations.path}: keypoints2d_smplx has "
                                 f"{keypoints.shape[1]} joints, AGORA needs {NUM_AGORA_JOINTS}")
    occlusion = annotations.meta_array("occ")
    occlusion_pct = np.zeros(rows.size) if occlusion is None else occlusion[rows].astype(np.float64)
    kid = annotations.meta_array("is_kid")
    kids = np.zeros(rows.size, bool) if kid is None else kid[rows].astype(bool)
    verts, joints, adult_kids = bodies.pose_people(
        annotations.smplx.take(rows), annotations.genders[rows], kids)
    gt = AgoraGroundTruth(
        joints_2d=keypoints[rows, :NUM_AGORA_JOINTS, :2],
        joints_3d=joints[:, :NUM_AGORA_JOINTS],
        verts=verts,
        occlusion_pct=occlusion_pct,
        is_valid=occlusion_is_valid(occlusion_pct),
        is_kid=kids,
    )
    return gt, adult_kids


def _predictions(preds: ImagePredictions, stem: str,
                 bodies: EvalBodyModels) -> AgoraPredictions | None:
    """The image's people in the toolkit's file order; None when it has none."""
    if len(preds) == 0:
        return None
    order = np.asarray(prediction_file_order(submission_file_names(stem, len(preds))))
    verts, joints = bodies.pose(preds.params(order))
    return AgoraPredictions(
        joints_2d=list(preds.smplx_joints_px[order, :NUM_MATCH_JOINTS]),
        joints_3d=joints[:, :NUM_AGORA_JOINTS],
        verts=verts,
    )


def score_agora(
    data: BenchmarkData,
    predictions: dict[int, ImagePredictions],
    bodies: EvalBodyModels,
    vertex_ids: AgoraVertexIds,
) -> AgoraScore:
    """Match, score and summarise every image of the validation set."""
    cost = "spectral"  # the toolkit's arithmetic in both modes (see the module docstring)
    records: list[AgoraImageRecord] = []
    per_image: list[dict] = []
    adult_model_kids = 0
    for group in data.annotations.image_groups:
        name = PurePosixPath(group.image_path).name
        gt, adult_kids = _ground_truth(data, group.instances, bodies)
        adult_model_kids += adult_kids
        preds = _predictions(predictions[group.index], PurePosixPath(name).stem, bodies)
        record = evaluate_image(name, gt, preds, vertex_ids, "smplx", cost)
        records.append(record)
        per_image.append(_image_row(group.image_path, group.instances, record,
                                    len(predictions[group.index])))
    results = summarize_agora(records, "smplx")
    counts = {"images": len(records), "kids_posed_with_adult_model": adult_model_kids}
    return AgoraScore(results, per_image, counts)


def _image_row(image: str, instances: np.ndarray, record: AgoraImageRecord,
               num_detections: int) -> dict:
    persons = []
    for j, instance in enumerate(instances.tolist()):
        errors = None
        if not record.miss[j]:
            errors = {f"{part}_{metric}": float(getattr(value, f"{metric}_m")[j] * MM_PER_M)
                      for part, value in record.errors_m.items() for metric in ("mpjpe", "mve")}
        persons.append({"instance": instance, "valid": bool(record.is_valid[j]),
                        "kid": bool(record.is_kid[j]), "missed": bool(record.miss[j]),
                        "errors_mm": errors})
    return {"image": image, "num_detections": num_detections,
            "num_false_positives": record.num_false_positives, "persons": persons}
