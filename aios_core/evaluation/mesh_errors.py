"""Per-person mesh errors of AiOS's own benchmarks (EHF, UBody, ARCTIC, EgoBody, AGORA-internal).

Each metric is kept per person as a sum of point errors (metres) and a point count, so the
summary can average per person (our default) or pool per batch (the official arithmetic)
without holding every vertex error. Definitions follow AiOS's ``Dataset.evaluate``:

- PVE (``mpvpe_*``): the prediction is translated so its root joint (from the SMPL-X
  ``J_regressor``) lands on the GT's: pelvis for the whole mesh, wrist for a hand, neck for
  the face; then the mean vertex distance over the part's vertices.
- PA-PVE (``pa_mpvpe_*``): similarity Procrustes (with scale) of the part's vertices alone.
- EHF only: PA-MPJPE of 14 body joints (``SMPLX_to_J14.pkl`` regressor) and of 21 joints per
  hand (:func:`hand_joint_regressors`), Procrustes per set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .alignment import (
    LEFT_WRIST,
    NECK,
    PELVIS,
    RIGHT_WRIST,
    move_root_onto,
    point_distances,
    regress_joints,
    similarity_align,
)

NUM_SMPLX_VERTS = 10475
# Fingertip vertices AiOS appends to the regressed hand joints (thumb, index, middle, ring,
# pinky), and the J_regressor rows of each finger (thumb first, as in AiOS).
_LEFT_TIPS = (5361, 4933, 5058, 5169, 5286)
_RIGHT_TIPS = (8079, 7669, 7794, 7905, 8022)
_LEFT_FINGER_ROWS = ((37, 38, 39), (25, 26, 27), (28, 29, 30), (34, 35, 36), (31, 32, 33))
_RIGHT_FINGER_ROWS = ((52, 53, 54), (40, 41, 42), (43, 44, 45), (49, 50, 51), (46, 47, 48))

# Key of the R-hand PA-MPJPE as EHF's official code computes it (squares summed over the
# joint axis instead of xyz); kept apart so the summary can choose.
R_HAND_MPJPE_JOINT_AXIS = "pa_mpjpe_r_hand@joint_axis"


@dataclass(frozen=True)
class MeshPartIds:
    """SMPL-X vertex subsets, loaded by the caller (licence-gated, not shipped here).

    left_hand / right_hand: ``MANO_SMPLX_vertex_ids.pkl`` keys ``'left_hand'`` /
    ``'right_hand'`` (778 each); face: ``SMPL-X__FLAME_vertex_ids.npy`` (5023). AiOS reads
    both from ``<human_model_path>/smplx/``.
    """

    left_hand: np.ndarray
    right_hand: np.ndarray
    face: np.ndarray


@dataclass
class PersonErrorSums:
    """Per metric key: sum of point errors in metres (N,) and number of points (N,)."""

    sums_m: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]

    @property
    def num_persons(self) -> int:
        return len(next(iter(self.counts.values()))) if self.counts else 0

    def with_metrics(self, other: PersonErrorSums) -> PersonErrorSums:
        """The same persons with ``other``'s metrics added (e.g. joint errors to vertex ones)."""
        if self.counts and other.counts and self.num_persons != other.num_persons:
            raise ValueError("with_metrics needs the same persons on both sides")
        return PersonErrorSums({**self.sums_m, **other.sums_m}, {**self.counts, **other.counts})

    @staticmethod
    def concatenate(chunks: Sequence[PersonErrorSums]) -> PersonErrorSums:
        """Persons of every chunk in order (chunked evaluation); keys common to all chunks."""
        chunks = [c for c in chunks if c.counts]
        if not chunks:
            return PersonErrorSums({}, {})
        keys = set.intersection(*(set(c.counts) for c in chunks))
        return PersonErrorSums(
            {k: np.concatenate([c.sums_m[k] for c in chunks]) for k in sorted(keys)},
            {k: np.concatenate([c.counts[k] for c in chunks]) for k in sorted(keys)},
        )


def hand_joint_regressors(j_regressor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AiOS's 21-joint hand regressors (left, right), each (21, V), from the SMPL-X J_regressor.

    Rows: wrist, then per finger (thumb, index, middle, ring, pinky) three regressed joints
    and the fingertip vertex. Float64, as AiOS's concatenation with an identity row gives.
    """
    num_verts = j_regressor.shape[1]

    def build(wrist: int, finger_rows, tips) -> np.ndarray:
        rows = [j_regressor[[wrist]].astype(np.float64)]
        for joint_rows, tip in zip(finger_rows, tips, strict=True):
            rows.append(j_regressor[list(joint_rows)].astype(np.float64))
            one_hot = np.zeros((1, num_verts))
            one_hot[0, tip] = 1.0
            rows.append(one_hot)
        return np.concatenate(rows)

    return (build(LEFT_WRIST, _LEFT_FINGER_ROWS, _LEFT_TIPS),
            build(RIGHT_WRIST, _RIGHT_FINGER_ROWS, _RIGHT_TIPS))


def _sum_and_count(dist: np.ndarray, visible: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) point errors -> per-person sum (float64) and count, over visible points only."""
    if visible is None:
        return dist.sum(axis=-1, dtype=np.float64), np.full(dist.shape[0], dist.shape[-1])
    return (np.where(visible, dist, 0).sum(axis=-1, dtype=np.float64),
            visible.sum(axis=-1).astype(np.int64))


def vertex_error_sums(
    pred_verts: np.ndarray,
    gt_verts: np.ndarray,
    j_regressor: np.ndarray,
    part_ids: MeshPartIds,
    visible: np.ndarray | None = None,
) -> PersonErrorSums:
    """PVE and PA-PVE per person for all / l_hand / r_hand / face.

    pred_verts, gt_verts: (N, 10475, 3) metres, root-free GT as AiOS builds it.
    j_regressor: (55, 10475) the SMPL-X model's joint regressor (AiOS: neutral model).
    visible: optional (N, 10475) bool vertex mask (UBody); points outside it are ignored.
    """
    roots = [PELVIS, NECK, LEFT_WRIST, RIGHT_WRIST]
    pred_roots = regress_joints(j_regressor[roots], pred_verts)  # (N, 4, 3)
    gt_roots = regress_joints(j_regressor[roots], gt_verts)
    parts = {
        "all": (slice(None), 0),
        "l_hand": (np.asarray(part_ids.left_hand, dtype=np.int64), 2),
        "r_hand": (np.asarray(part_ids.right_hand, dtype=np.int64), 3),
        "face": (np.asarray(part_ids.face, dtype=np.int64), 1),
    }
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    for part, (ids, root) in parts.items():
        pred_part, gt_part = pred_verts[:, ids], gt_verts[:, ids]
        part_visible = None if visible is None else visible[:, ids]
        moved = move_root_onto(pred_part, pred_roots[:, root, None], gt_roots[:, root, None])
        sums[f"mpvpe_{part}"], counts[f"mpvpe_{part}"] = _sum_and_count(
            point_distances(moved, gt_part), part_visible)
        aligned = similarity_align(pred_part, gt_part)
        sums[f"pa_mpvpe_{part}"], counts[f"pa_mpvpe_{part}"] = _sum_and_count(
            point_distances(aligned, gt_part), part_visible)
    return PersonErrorSums(sums, counts)


def joint_error_sums(
    pred_verts: np.ndarray,
    gt_verts: np.ndarray,
    j14_regressor: np.ndarray,
    hand_regressors: tuple[np.ndarray, np.ndarray],
) -> PersonErrorSums:
    """EHF's PA-MPJPE per person: body (14 joints) and each hand (21 joints).

    j14_regressor: (14, 10475) from ``SMPLX_to_J14.pkl`` (ExPose, licence-gated);
    hand_regressors: from :func:`hand_joint_regressors`. Also stores the R-hand value as the
    official code computes it (see ``R_HAND_MPJPE_JOINT_AXIS``).
    """
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    sets = {"body": j14_regressor, "l_hand": hand_regressors[0], "r_hand": hand_regressors[1]}
    for name, regressor in sets.items():
        gt_joints = regress_joints(regressor, gt_verts)
        aligned = similarity_align(regress_joints(regressor, pred_verts), gt_joints)
        sums[f"pa_mpjpe_{name}"], counts[f"pa_mpjpe_{name}"] = _sum_and_count(
            point_distances(aligned, gt_joints), None)
        if name == "r_hand":
            # Official EHF: sqrt of squares summed over the 21 joints, one value per axis.
            per_axis = np.sqrt(np.sum((aligned - gt_joints) ** 2, axis=-2))  # (N, 3)
            sums[R_HAND_MPJPE_JOINT_AXIS], counts[R_HAND_MPJPE_JOINT_AXIS] = _sum_and_count(
                per_axis, None)
    return PersonErrorSums(sums, counts)
