"""AGORA averages, precision/recall/F1 and normalised errors (toolkit ``compute_average_error``).

Counting rules reproduced from the toolkit:
- with ``only_bfh`` (always on for SMPL-X) images whose path contains neither ``bfh`` nor
  ``smplx`` are skipped entirely, their GTs and their false positives;
- a GT counts when its ``isValid`` flag is set (the occlusion limit acts only in matching,
  where it turns the GT unmatchable, so an ``isValid`` GT above 90 % occlusion is a miss);
- body errors average matched GTs only; hand and face errors average every counted GT of
  images that have predictions, misses included with 0; GTs of images without any
  prediction are misses and enter no error average;
- kid P/R/F1 use the kid TP/miss counts but all false positives; kid full-body NMJE/NMVE
  divide by the overall F1.
Rounding: P/R/F1 with Python's ``round`` (2 dp) on Python floats; errors with numpy's
``round`` (1 dp), which the toolkit gets because its means are numpy scalars.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .agora_matching import PairCost
from .agora_metrics import (
    AgoraGroundTruth,
    AgoraImageRecord,
    AgoraPredictions,
    AgoraVertexIds,
    ModelType,
    evaluate_image,
)
from .results_table import AgoraResults

MM_PER_M = 1e3
_NAN = float("nan")
_NORMALISED_NAME = {"mpjpe": "nmje", "mve": "nmve"}


def keeps_image(image_path: str, only_bfh: bool) -> bool:
    """The toolkit's ``--onlybfh`` filter on the dataframe's image path."""
    return not only_bfh or "bfh" in image_path or "smplx" in image_path


def precision_recall_f1(count: int, missed: int, false_positives: int) -> tuple[float, ...]:
    """Toolkit P/R/F1, each rounded to 2 decimals; (0, 0, 0) when nothing was counted.

    Precision with neither a true nor a false positive is NaN (the toolkit divides by zero).
    """
    if count == 0:
        return 0.0, 0.0, 0.0
    tp, fn = count - missed, missed
    f1 = round(tp / (tp + 0.5 * (false_positives + fn)), 2)
    recall = round(tp / (tp + fn), 2)
    precision = round(tp / (tp + false_positives), 2) if tp + false_positives else _NAN
    return precision, recall, f1


def _round1(value: float) -> float:
    """numpy's round to 1 decimal (half-way cases differ from Python's ``round``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.round(np.float64(value), 1))


def _mean(values: list[float]) -> float:
    return float(np.mean(np.asarray(values, dtype=np.float64))) if values else _NAN


def _normalised(error: float, f1: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return _round1(np.float64(error) / f1)


def _full_body(body: float, lhand: float, rhand: float, face: float) -> float:
    # The toolkit's exact expression and order: B + (1/3)LH + (1/3)RH + (1/3)F.
    b = np.float64(body)
    return _round1(b + (1 / 3) * lhand + (1 / 3) * rhand + (1 / 3) * face)


class _Tally:
    """Per-person values collected over the counted GTs of a group (all or kids)."""

    def __init__(self) -> None:
        self.count = 0
        self.missed = 0
        self.body_mpjpe: list[float] = []  # matched GTs only
        self.body_mve: list[float] = []
        self.part_mpjpe: dict[str, list[float]] = {"lhand": [], "rhand": [], "face": []}
        self.part_mve: dict[str, list[float]] = {"lhand": [], "rhand": [], "face": []}

    def add_image(self, record: AgoraImageRecord, rows: np.ndarray, with_parts: bool) -> None:
        self.count += int(rows.size)
        self.missed += int(record.miss[rows].sum())
        if not record.has_predictions:
            return
        for j in rows:
            if with_parts:
                for part in self.part_mpjpe:
                    self.part_mpjpe[part].append(MM_PER_M * record.errors_m[part].mpjpe_m[j])
                    self.part_mve[part].append(MM_PER_M * record.errors_m[part].mve_m[j])
            if not record.miss[j]:
                self.body_mpjpe.append(MM_PER_M * record.errors_m["body"].mpjpe_m[j])
                self.body_mve.append(MM_PER_M * record.errors_m["body"].mve_m[j])


def summarize_agora(
    records: Iterable[AgoraImageRecord],
    model_type: ModelType = "smplx",
    only_bfh: bool | None = None,
) -> AgoraResults:
    """Reduce per-image records to the toolkit's metric set.

    only_bfh defaults to True for SMPL-X (the toolkit is always run with ``--onlybfh`` there)
    and False for SMPL.
    """
    if only_bfh is None:
        only_bfh = model_type == "smplx"
    with_parts = model_type == "smplx"
    everyone, kids = _Tally(), _Tally()
    false_positives = 0
    for record in records:
        if not keeps_image(record.image_path, only_bfh):
            continue
        counted = np.nonzero(record.is_valid)[0]
        everyone.add_image(record, counted, with_parts)
        kids.add_image(record, counted[record.is_kid[counted]], with_parts)
        if record.has_predictions:
            false_positives += record.num_false_positives

    precision, recall, f1 = precision_recall_f1(everyone.count, everyone.missed, false_positives)
    if kids.count:
        kid_p, kid_r, kid_f1 = precision_recall_f1(kids.count, kids.missed, false_positives)
    else:
        kid_p = kid_r = kid_f1 = _NAN
    values: dict[str, float | None] = {}
    for prefix, tally, group_f1 in (("", everyone, f1), ("kid_", kids, kid_f1)):
        for metric, per_person in (("mpjpe", tally.body_mpjpe), ("mve", tally.body_mve)):
            body = _round1(_mean(per_person))
            values[f"{prefix}body_{metric}"] = body
            values[f"{prefix}body_{_NORMALISED_NAME[metric]}"] = _normalised(body, group_f1)
        if not with_parts:
            continue
        for metric, per_part in (("mpjpe", tally.part_mpjpe), ("mve", tally.part_mve)):
            rounded = {part: _round1(_mean(v)) for part, v in per_part.items()}
            for part, value in rounded.items():
                values[f"{prefix}{part}_{metric}"] = value
            full = _full_body(values[f"{prefix}body_{metric}"], rounded["lhand"],
                              rounded["rhand"], rounded["face"])
            values[f"{prefix}fullbody_{metric}"] = full
            # Kid full-body normalisation divides by the overall F1 in the toolkit.
            values[f"{prefix}fullbody_{_NORMALISED_NAME[metric]}"] = _normalised(full, f1)
    counts = {
        "num_gt": everyone.count,
        "num_missed": everyone.missed,
        "num_false_positives": false_positives,
        "num_kid_gt": kids.count,
        "num_kid_missed": kids.missed,
    }
    return AgoraResults(model_type=model_type, precision=precision, recall=recall, f1=f1,
                        kid_precision=kid_p, kid_recall=kid_r, kid_f1=kid_f1, counts=counts,
                        **values)


def evaluate_agora(
    images: Iterable[tuple[str, AgoraGroundTruth, AgoraPredictions | None]],
    vertex_ids: AgoraVertexIds,
    model_type: ModelType = "smplx",
    only_bfh: bool | None = None,
    cost: PairCost = "spectral",
) -> AgoraResults:
    """Match, score and summarise (image path, GT, predictions or None) triples."""
    records = (evaluate_image(path, gt, preds, vertex_ids, model_type, cost)
               for path, gt, preds in images)
    return summarize_agora(records, model_type, only_bfh)
