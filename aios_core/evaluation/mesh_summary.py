"""Dataset-level numbers of AiOS's own benchmarks from per-person error sums.

Default (``official_quirks=False``): every metric is a mean over persons; a person without a
single visible point of a part (UBody) is left out of that part's mean, and "hands" is the
per-person mean of the sides that have points.

``official_quirks=True`` reproduces the published arithmetic (AiOS ``Dataset.evaluate`` +
``engine.evaluate``):
- EHF, ARCTIC, UBody: one number per batch, pooled over every point of every person in the
  batch, then the mean of the batch numbers (so batch size, a short last batch and
  distributed padding change the result). UBody: a part with no visible point in the batch
  scores 0 and is still averaged; "hands" is the mean of the sides that have points, else 0.
- EHF: the R-hand PA-MPJPE sums squares over the joint axis (a different quantity); the
  "hands" PA-MPJPE uses the correct R-hand value, as in the official code.
- EgoBody and AGORA-internal are per person already; their face metrics are not computed
  by the official code and are reported as None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .mesh_errors import (
    R_HAND_MPJPE_JOINT_AXIS,
    MeshPartIds,
    PersonErrorSums,
    hand_joint_regressors,
    joint_error_sums,
    vertex_error_sums,
)
from .results_table import MeshResults

MM_PER_M = 1000


@dataclass(frozen=True)
class MeshProtocol:
    """How the official code averages one dataset."""

    official_batch_pooling: bool  # one number per batch (else one per person)
    official_face: bool  # the official code reports face metrics
    joint_metrics: bool  # PA-MPJPE body / hands (EHF)


PROTOCOLS: dict[str, MeshProtocol] = {
    "ehf": MeshProtocol(official_batch_pooling=True, official_face=True, joint_metrics=True),
    "arctic": MeshProtocol(official_batch_pooling=True, official_face=True, joint_metrics=False),
    "ubody": MeshProtocol(official_batch_pooling=True, official_face=True, joint_metrics=False),
    "egobody": MeshProtocol(official_batch_pooling=False, official_face=False,
                            joint_metrics=False),
    "agora_internal": MeshProtocol(official_batch_pooling=False, official_face=False,
                                   joint_metrics=False),
}

VERTEX_PARTS = ("all", "l_hand", "r_hand", "hand", "face")
JOINT_SETS = ("body", "l_hand", "r_hand", "hand")


def _protocol(dataset: str) -> MeshProtocol:
    if dataset not in PROTOCOLS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(PROTOCOLS)}")
    return PROTOCOLS[dataset]


def sequential_batches(num_persons: int, batch_size: int) -> list[np.ndarray]:
    """Consecutive batches of ``batch_size`` (the last may be short): one-process evaluation."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    return [np.arange(s, min(s + batch_size, num_persons))
            for s in range(0, num_persons, batch_size)]


def distributed_batches(num_persons: int, batch_size: int, world_size: int) -> list[np.ndarray]:
    """Batches of an AiOS multi-GPU test run (one person per image).

    AiOS's DistributedSampler (shuffle off, round_up on) pads the index list by repeating it
    to a multiple of ``world_size`` and gives rank r every ``world_size``-th index from r;
    each rank batches its share; the collected batch list is interleaved rank by rank and
    cut to ``num_persons`` entries. Padded duplicates therefore count twice.
    """
    per_rank = math.ceil(num_persons / world_size)
    total = per_rank * world_size
    indices = (list(range(num_persons)) * (total // max(num_persons, 1) + 1))[:total]
    rank_batches = [sequential_batches(per_rank, batch_size) for _ in range(world_size)]
    ordered: list[np.ndarray] = []
    for same_step in zip(*rank_batches, strict=True):
        for rank, local in enumerate(same_step):
            ordered.append(np.asarray(indices[rank::world_size])[local])
    return ordered[:num_persons]


def _person_means_mm(errors: PersonErrorSums, key: str) -> np.ndarray:
    """(N,) per-person mean in mm; NaN where the person has no point for this metric."""
    counts = errors.counts[key]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, errors.sums_m[key] / counts, np.nan) * MM_PER_M


def _batch_value_mm(errors: PersonErrorSums, key: str, batch: np.ndarray) -> float:
    """Pooled mean over every point of the batch, in mm; 0 when it has none (as UBody)."""
    count = errors.counts[key][batch].sum()
    return float(errors.sums_m[key][batch].sum() / count * MM_PER_M) if count > 0 else 0.0


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def _per_person_metric(errors: PersonErrorSums, key: str, sides: tuple[str, str] | None) -> float:
    if sides is None:
        return _nanmean(_person_means_mm(errors, key))
    # Both hands: per person, the mean of the sides that have points.
    values = np.stack([_person_means_mm(errors, side) for side in sides])  # (2, N)
    present = ~np.isnan(values)
    num_sides = present.sum(axis=0)
    total = np.where(present, values, 0.0).sum(axis=0)
    return _nanmean(np.where(num_sides > 0, total / np.maximum(num_sides, 1), np.nan))


def _per_batch_metric(errors: PersonErrorSums, key: str, sides: tuple[str, str] | None,
                      batches: Sequence[np.ndarray]) -> float:
    values = []
    for batch in batches:
        if sides is None:
            values.append(_batch_value_mm(errors, key, batch))
            continue
        present = [_batch_value_mm(errors, side, batch) for side in sides
                   if errors.counts[side][batch].sum() > 0]
        values.append(float(np.mean(present)) if present else 0.0)
    return float(np.mean(values)) if values else float("nan")


def summarize_mesh_errors(
    errors: PersonErrorSums,
    dataset: str,
    *,
    official_quirks: bool = False,
    batch_size: int = 2,
    batches: Sequence[np.ndarray] | None = None,
) -> MeshResults:
    """The dataset's PVE / PA-PVE (and EHF PA-MPJPE) in millimetres.

    ``batch_size`` / ``batches`` only matter with ``official_quirks`` for batch-pooled
    datasets: ``batches`` (index arrays into the persons, duplicates allowed) overrides the
    consecutive grouping by ``batch_size`` (AiOS test configs use 2 per GPU).
    """
    protocol = _protocol(dataset)
    pooled = official_quirks and protocol.official_batch_pooling
    if pooled and batches is None:
        batches = sequential_batches(errors.num_persons, batch_size)

    # (reported key, the two hand sources when the metric is "both hands")
    requests: list[tuple[str, tuple[str, str] | None]] = []
    families = [("pa_mpvpe", VERTEX_PARTS), ("mpvpe", VERTEX_PARTS)]
    if protocol.joint_metrics:
        families.append(("pa_mpjpe", JOINT_SETS))
    for prefix, parts in families:
        for part in parts:
            sides = (f"{prefix}_l_hand", f"{prefix}_r_hand") if part == "hand" else None
            requests.append((f"{prefix}_{part}", sides))

    metrics: dict[str, float | None] = {}
    for key, sides in requests:
        if official_quirks and key.endswith("_face") and not protocol.official_face:
            metrics[key] = None
            continue
        source = key
        if pooled and key == "pa_mpjpe_r_hand":
            source = R_HAND_MPJPE_JOINT_AXIS
        if pooled:
            metrics[key] = _per_batch_metric(errors, source, sides, batches)
        else:
            metrics[key] = _per_person_metric(errors, source, sides)
    return MeshResults(dataset=dataset, official_quirks=official_quirks,
                       num_persons=errors.num_persons, metrics_mm=metrics)


def evaluate_mesh_benchmark(
    dataset: str,
    pred_verts: np.ndarray,
    gt_verts: np.ndarray,
    j_regressor: np.ndarray,
    part_ids: MeshPartIds,
    *,
    j14_regressor: np.ndarray | None = None,
    visible: np.ndarray | None = None,
    official_quirks: bool = False,
    batch_size: int = 2,
    batches: Sequence[np.ndarray] | None = None,
) -> MeshResults:
    """Score matched (pred, GT) meshes (N, 10475, 3), in metres, for one dataset in one call.

    EHF needs ``j14_regressor``; UBody needs ``visible`` (see ``ubody_visible_vertices``).
    For large sets, compute :class:`PersonErrorSums` per chunk, concatenate, and call
    :func:`summarize_mesh_errors`.
    """
    protocol = _protocol(dataset)
    errors = vertex_error_sums(pred_verts, gt_verts, j_regressor, part_ids, visible)
    if protocol.joint_metrics:
        if j14_regressor is None:
            raise ValueError(f"{dataset} needs the J14 regressor (SMPLX_to_J14.pkl)")
        errors = errors.with_metrics(joint_error_sums(
            pred_verts, gt_verts, j14_regressor, hand_joint_regressors(j_regressor)))
    return summarize_mesh_errors(errors, dataset, official_quirks=official_quirks,
                                 batch_size=batch_size, batches=batches)
