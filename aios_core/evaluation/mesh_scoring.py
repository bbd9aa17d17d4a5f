"""Score cached predictions on a mesh benchmark (EHF, UBody, ARCTIC, EgoBody) as AiOS does.

Per image (AiOS ``PostProcess_SMPLX_Multi`` + ``Dataset.evaluate``):
1. GT people: the image's instances whose body box survives AiOS's ``process_bbox`` (positive
   size, top-left inside the image); UBody also drops crowd / invalid-label people and people
   without any 2D keypoint (``UBody_MM.load_data``). An image without GT people is skipped.
2. The highest-scoring detection (AiOS evaluates ``num_select = 1``) is assigned to the GT
   person closest on the 25 body keypoints of the 137-keypoint set (Hungarian, L1 on
   image-size-normalised pixels; UBody weights by GT confidence). Only that person is scored;
   the others in the image count as ``persons_not_scored``. An image with no detection (only
   possible with ``--threshold``) scores nobody.
3. GT mesh: the person's gendered SMPL-X, no translation; prediction mesh: the neutral SMPL-X
   from the predicted parameters (what the network's embedded body model computes).
4. UBody: vertices count where the GT mesh, placed with the predicted translation and projected
   with the predicted camera, falls strictly inside the image (``ubody_visible_vertices``; here
   in original-image pixels, the official code in network-input pixels: the same test up to
   the resize factor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aios_core.body.camera import project_points
from aios_core.body.keypoints import NUM_SMPLX_KEYPOINTS, SMPLX_137_INDICES
from aios_core.data import SmplxParams
from aios_core.evaluation.aios_protocol import match_by_body_keypoints
from aios_core.evaluation.benchmarks import BenchmarkData, BenchmarkDataError
from aios_core.evaluation.body_assets import EvalBodyModels
from aios_core.evaluation.mesh_errors import (
    MeshPartIds,
    PersonErrorSums,
    hand_joint_regressors,
    joint_error_sums,
    vertex_error_sums,
)
from aios_core.evaluation.mesh_summary import PROTOCOLS, summarize_mesh_errors
from aios_core.evaluation.prediction_cache import ImagePredictions
from aios_core.evaluation.results_table import MeshResults

NUM_BODY_KEYPOINTS = 25  # the 'body' part of the 137 set
OFFICIAL_BATCH_SIZE = 2  # config/test_*.py: batch_size = 2 (one GPU assumed)
_BODY_137 = np.asarray(SMPLX_137_INDICES[:NUM_BODY_KEYPOINTS])
_CHUNK = 32


@dataclass
class ScoredPerson:
    """One (GT person, detection) pair to score."""

    image_index: int
    instance: int  # row in the annotation file
    score: float
    predictions: ImagePredictions  # the image's predictions; row 0 is the scored detection


@dataclass
class MeshScore:
    results: MeshResults
    per_person: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def official_box_valid(xywh: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N,) bool: AiOS's ``process_bbox`` (ratio 1) keeps the box."""
    x, y, w, h = (xywh[:, i] for i in range(4))
    return (w > 0) & (h > 0) & (np.maximum(x, 0) <= width - 1) & (np.maximum(y, 0) <= height - 1)


def _ubody_keep(data: BenchmarkData, key: str) -> np.ndarray:
    """UBody_MM.load_data's person filter: not crowd, valid label, some 2D keypoint."""
    annotations = data.annotations
    keep = annotations.keypoints(key)[:, :, 2].sum(-1) != 0
    crowd = annotations.meta_array("iscrowd")
    label = annotations.meta_array("valid_label")
    if crowd is not None:
        keep &= crowd.astype(np.float64) == 0
    if label is not None:
        keep &= label.astype(np.float64) != 0
    return keep


def _body_keypoints_137(keypoints_144: np.ndarray, source: str) -> np.ndarray:
    if keypoints_144.shape[-2] != NUM_SMPLX_KEYPOINTS:
        raise BenchmarkDataError(f"{source}: expected {NUM_SMPLX_KEYPOINTS} keypoints in the "
                                 f"SMPL-X order, got {keypoints_144.shape[-2]}")
    return keypoints_144[..., _BODY_137, :]


def select_scored_persons(data: BenchmarkData,
                          predictions: dict[int, ImagePredictions]) -> tuple[list, dict]:
    """Steps 1-2 of the module docstring over every image, in file order."""
    annotations = data.annotations
    key = data.spec.keypoints2d_key or annotations.default_keypoints2d_key()
    gt_keypoints = annotations.keypoints(key)
    source = f"{annotations.path}: {key}"
    keep = _ubody_keep(data, key) if data.spec.name == "ubody" else np.ones(
        annotations.num_instances, bool)
    body_boxes = annotations.box_xywh("body")
    counts = {"images": 0, "images_without_gt": 0, "images_without_detection": 0,
              "gt_persons": 0, "persons_scored": 0, "persons_not_scored": 0}
    scored: list[ScoredPerson] = []
    for group in annotations.image_groups:
        preds = predictions[group.index]
        height, width = (int(v) for v in preds.image_size_hw)
        rows = group.instances[keep[group.instances]]
        rows = rows[official_box_valid(body_boxes[rows], width, height)]
        if rows.size == 0:
            counts["images_without_gt"] += 1
            continue
        counts["images"] += 1
        counts["gt_persons"] += int(rows.size)
        if len(preds) == 0:
            counts["images_without_detection"] += 1
            counts["persons_not_scored"] += int(rows.size)
            continue
        gt_kp = _body_keypoints_137(gt_keypoints[rows], source)  # (G, 25, 3)
        pred_kp = _body_keypoints_137(preds.smplx_joints_px[:1], "prediction")  # (1, 25, 2)
        confidence = gt_kp[..., 2] if data.spec.name == "ubody" else None
        _, gt_index = match_by_body_keypoints(pred_kp, gt_kp[..., :2],
                                              np.array([width, height]), confidence)
        scored.append(ScoredPerson(group.index, int(rows[gt_index[0]]),
                                   float(preds.scores[0]), preds))
        counts["persons_scored"] += 1
        counts["persons_not_scored"] += int(rows.size) - 1
    return scored, counts


def _visible_vertices(gt_verts: np.ndarray, persons: list[ScoredPerson]) -> np.ndarray:
    """(N, V) bool: UBody's visibility with each person's predicted camera."""
    visible = np.zeros(gt_verts.shape[:2], bool)
    for i, person in enumerate(persons):
        preds = person.predictions
        points = gt_verts[i] + preds.transl_m[0]
        uv = project_points(points, preds.focal_px, preds.principal_point_px)
        height, width = preds.image_size_hw
        visible[i] = (uv[:, 0] > 0) & (uv[:, 0] < width) & (uv[:, 1] > 0) & (uv[:, 1] < height)
    return visible


def score_mesh_benchmark(
    data: BenchmarkData,
    predictions: dict[int, ImagePredictions],
    bodies: EvalBodyModels,
    part_ids: MeshPartIds,
    *,
    j14_regressor: np.ndarray | None = None,
    official_quirks: bool = False,
) -> MeshScore:
    """Every image's scored person -> the dataset's numbers and per-person rows."""
    protocol = PROTOCOLS[data.spec.protocol]
    if protocol.joint_metrics and j14_regressor is None:
        raise BenchmarkDataError(f"{data.spec.name} needs the J14 regressor (SMPLX_to_J14.pkl)")
    annotations = data.annotations
    persons, counts = select_scored_persons(data, predictions)
    j_regressor = bodies.j_regressor
    hand_regressors = hand_joint_regressors(j_regressor) if protocol.joint_metrics else None
    chunks: list[PersonErrorSums] = []
    for start in range(0, len(persons), _CHUNK):
        batch = persons[start:start + _CHUNK]
        rows = np.array([p.instance for p in batch])
        gt_params = annotations.smplx.take(rows)
        gt_verts, _, _ = bodies.pose_people(gt_params, annotations.genders[rows])
        pred_params = SmplxParams.concatenate([p.predictions.params(slice(0, 1)) for p in batch])
        pred_verts, _ = bodies.pose(pred_params)
        visible = _visible_vertices(gt_verts, batch) if data.spec.name == "ubody" else None
        errors = vertex_error_sums(pred_verts, gt_verts, j_regressor, part_ids, visible)
        if hand_regressors is not None:
            errors = errors.with_metrics(
                joint_error_sums(pred_verts, gt_verts, j14_regressor, hand_regressors))
        chunks.append(errors)
    all_errors = PersonErrorSums.concatenate(chunks)
    if not persons:
        raise BenchmarkDataError(f"{data.spec.name}: no person could be scored "
                                 f"({counts['images']} images with GT)")
    results = summarize_mesh_errors(all_errors, data.spec.protocol,
                                    official_quirks=official_quirks,
                                    batch_size=OFFICIAL_BATCH_SIZE)
    return MeshScore(results, _per_person_rows(persons, all_errors, data), counts)


def _per_person_rows(persons: list[ScoredPerson], errors: PersonErrorSums,
                     data: BenchmarkData) -> list[dict]:
    rows = []
    for i, person in enumerate(persons):
        metrics = {}
        for key in errors.counts:
            if "@" in key:
                continue  # the official R-hand variant is a batch quantity, not per person
            count = int(errors.counts[key][i])
            metrics[key] = float(errors.sums_m[key][i] / count * 1000) if count else None
        rows.append({"image": data.image_names[person.image_index],
                     "instance": person.instance, "score": person.score,
                     "errors_mm": metrics})
    return rows
