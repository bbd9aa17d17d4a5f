"""Per-person AGORA errors and the per-image record, as the AGORA toolkit computes them.

Toolkit ``calculate_v2v_error.py``: every part is scored by the mean Euclidean distance over
its joints (vertices) after subtracting a root from GT and prediction separately. No rotation
or scale alignment enters any reported AGORA number. Units here are metres; the summary
converts to millimetres.

| part  | joints (SMPL-X 127-joint order)        | root                         |
| ----- | -------------------------------------- | ---------------------------- |
| body  | J[0:22] (SMPL: J[0:24])                | mean of J1, J2 (hips)        |
| lhand | [J20] + J[25:40] (16 rows)             | row 0 (left wrist)           |
| rhand | [J21] + J[40:55] (16 rows)             | row 0 (right wrist)          |
| face  | [J12] + J[76:127] (52 rows)            | row 0 (neck)                 |

The root row is part of the averaged set (it contributes an error of exactly 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .agora_matching import PairCost, match_image, valid_gt_mask
from .alignment import first_row_root, hip_midpoint, point_distances, subtract_root

ModelType = Literal["smplx", "smpl"]
SMPLX_PARTS = ("body", "lhand", "rhand", "face")
SMPL_PARTS = ("body",)

_SMPLX_BODY_JOINTS = 22
_SMPL_BODY_JOINTS = 24
_PART_JOINT_ROWS = {
    "lhand": np.r_[20, 25:40],
    "rhand": np.r_[21, 40:55],
    "face": np.r_[12, 76:127],
}


@dataclass(frozen=True)
class AgoraVertexIds:
    """Vertex subsets per part; loaded by the caller from these files (not shipped here).

    body: toolkit ``utils/body_verts_smplx.npy`` (SMPL track: ``utils/body_verts_smpl.npy``),
    4010 ids. left_hand / right_hand: ``MANO_SMPLX_vertex_ids.pkl`` keys ``'left_hand'`` /
    ``'right_hand'`` (778 each). face: ``SMPL-X__FLAME_vertex_ids.npy`` (5023). The last
    two files come with the SMPL-X download ("MANO and FLAME vertex indices").
    Hands and face may be None for the SMPL track.
    """

    body: np.ndarray
    left_hand: np.ndarray | None = None
    right_hand: np.ndarray | None = None
    face: np.ndarray | None = None

    def for_part(self, part: str) -> np.ndarray:
        ids = {"body": self.body, "lhand": self.left_hand, "rhand": self.right_hand,
               "face": self.face}[part]
        if ids is None:
            raise ValueError(f"vertex ids for part {part!r} were not given")
        return np.asarray(ids, dtype=np.int64)


@dataclass
class PartErrors:
    """Per-person errors of one part, metres: mpjpe_m (N,), mve_m (N,)."""

    mpjpe_m: np.ndarray
    mve_m: np.ndarray


def part_joints(joints: np.ndarray, part: str, model_type: ModelType = "smplx") -> np.ndarray:
    """The rows of (..., J, 3) joints the toolkit scores for ``part``."""
    if part == "body":
        count = _SMPLX_BODY_JOINTS if model_type == "smplx" else _SMPL_BODY_JOINTS
        return joints[..., :count, :]
    return joints[..., _PART_JOINT_ROWS[part], :]


def part_errors(
    gt_joints: np.ndarray,
    gt_verts: np.ndarray,
    pred_joints: np.ndarray,
    pred_verts: np.ndarray,
    part: str,
    vertex_ids: AgoraVertexIds,
    model_type: ModelType = "smplx",
) -> PartErrors:
    """Root-relative MPJPE and MVE of one part for N matched persons.

    gt_joints / pred_joints: (N, >=127, 3) camera-frame metres (SMPL: >=24 rows);
    gt_verts / pred_verts: (N, V, 3). Computed in the inputs' dtype, as the toolkit does.
    """
    root_of = hip_midpoint if part == "body" else first_row_root
    gt_j = part_joints(gt_joints, part, model_type)
    pred_j = part_joints(pred_joints, part, model_type)
    ids = vertex_ids.for_part(part)
    gt_root, pred_root = root_of(gt_j), root_of(pred_j)
    gt_v = subtract_root(gt_verts[..., ids, :], gt_root)
    pred_v = subtract_root(pred_verts[..., ids, :], pred_root)
    gt_j = subtract_root(gt_j, gt_root)
    pred_j = subtract_root(pred_j, pred_root)
    return PartErrors(
        mpjpe_m=np.mean(point_distances(gt_j, pred_j), axis=-1),
        mve_m=np.mean(point_distances(gt_v, pred_v), axis=-1),
    )


@dataclass
class AgoraGroundTruth:
    """The GT people of one image (one dataframe row), in the dataframe's person order."""

    joints_2d: np.ndarray  # (G, 127 or 45, 2) pixels of the full-size image
    joints_3d: np.ndarray  # (G, 127 or 45, 3) camera frame, metres
    verts: np.ndarray  # (G, 10475 or 6890, 3) camera frame, metres
    occlusion_pct: np.ndarray  # (G,)
    is_valid: np.ndarray  # (G,) bool, the dataframe's isValid column
    is_kid: np.ndarray  # (G,) bool


@dataclass
class AgoraPredictions:
    """The predicted people of one image, in the toolkit's file order (sorted paths)."""

    joints_2d: Sequence[np.ndarray]  # P arrays (>=24, 2), used for matching only
    joints_3d: np.ndarray  # (P, >=127 or >=24, 3) metres
    verts: np.ndarray  # (P, V, 3) metres


@dataclass
class AgoraImageRecord:
    """Everything the summary needs from one image.

    miss: (G,) True where the GT was not matched (missed, or not matchable because invalid);
    its errors are 0, as in the toolkit. errors_m: part -> per-GT errors in metres.
    """

    image_path: str
    has_predictions: bool
    is_valid: np.ndarray
    is_kid: np.ndarray
    miss: np.ndarray
    errors_m: dict[str, PartErrors]
    num_false_positives: int


def evaluate_image(
    image_path: str,
    gt: AgoraGroundTruth,
    preds: AgoraPredictions | None,
    vertex_ids: AgoraVertexIds,
    model_type: ModelType = "smplx",
    cost: PairCost = "spectral",
) -> AgoraImageRecord:
    """Match one image's predictions and score every GT person.

    ``preds`` None (or empty) means the image has no prediction file: every GT is a miss.
    """
    num_gt = len(gt.is_valid)
    parts = SMPLX_PARTS if model_type == "smplx" else SMPL_PARTS
    is_valid = np.asarray(gt.is_valid, dtype=bool)
    is_kid = np.asarray(gt.is_kid, dtype=bool)
    # Misses keep an error of 0, exactly as the toolkit stores them. Values are kept in
    # float64 (a lossless copy of float32 errors), as the toolkit's scalars promote on x1000.
    errors = {p: PartErrors(np.zeros(num_gt), np.zeros(num_gt)) for p in parts}
    if preds is None or len(preds.joints_2d) == 0:
        return AgoraImageRecord(image_path, False, is_valid, is_kid, np.ones(num_gt, bool),
                                errors, 0)
    matching = match_image(preds.joints_2d, gt.joints_2d,
                           valid_gt_mask(gt.occlusion_pct, is_valid), cost=cost)
    pred_of_gt = matching.pred_for_gt(num_gt)
    matched = pred_of_gt >= 0
    if matched.any():
        gt_idx, pred_idx = np.nonzero(matched)[0], pred_of_gt[matched]
        for part in parts:
            found = part_errors(gt.joints_3d[gt_idx], gt.verts[gt_idx], preds.joints_3d[pred_idx],
                                preds.verts[pred_idx], part, vertex_ids, model_type)
            errors[part].mpjpe_m[gt_idx] = found.mpjpe_m
            errors[part].mve_m[gt_idx] = found.mve_m
    return AgoraImageRecord(
        image_path=image_path,
        has_predictions=True,
        is_valid=is_valid,
        is_kid=is_kid,
        miss=~matched,
        errors_m=errors,
        num_false_positives=matching.num_false_positives,
    )
