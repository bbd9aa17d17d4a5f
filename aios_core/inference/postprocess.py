"""Raw network output -> per-image people, following the official inference post-processor.

Official behaviour (``PostProcess_SMPLX_Multi_Infer`` with ``num_select=50``, then the demo's
score threshold), reproduced batched over images and people:

- scores: sigmoid of the class logits; the top ``num_select`` entries over queries x classes
  (so one query can appear once per class), query = flat index // num_classes;
- boxes: (cx, cy, w, h) -> (x1, y1, x2, y2), times the resized (unpadded) image size;
- SMPL-X: the 159 axis-angle values of ``pred_smpl_fullpose`` split into root 3, body 63,
  left hand 45, right hand 45, jaw 3; betas, expression, joints and vertices gathered likewise;
- camera: (s, tx, ty) -> translation (tx / s, ty / s, 1 / s) with s offset by 1e-9; joints are
  projected with a 5000 px focal length and the principal point at the centre of the resized
  image (both in network-input pixels);
- people with score >= threshold are kept (scores are sorted, so this is the demo's
  "stop at the first score below threshold").

Deliberate differences: everything is returned in ORIGINAL image pixels (each axis scaled by
original / resized size; the demo scales both axes by the width ratio), the 2D body keypoints
are gathered and scaled like the boxes (the official ``keypoints_coco`` output skips both),
and the demo's ``num_person`` cap and its render-time off-by-one are not reproduced.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

from aios_core.body.camera import AIOS_FOCAL_LENGTH_PX, aios_cam_to_translation, project_points
from aios_core.inference.preprocess import PreparedBatch
from aios_core.inference.results import ImageResult
from aios_core.model.returned_queries import top_scored_queries
from aios_core.person import PERSON_FIELDS, PersonField

# scripts/inference.sh, the official demo entry point, passes THRESHOLD=${5:-0.3}.
DEFAULT_SCORE_THRESHOLD = 0.3
NUM_SELECT = 50  # config/aios_smplx_{demo,inference}.py

# Where each field of the person record comes from in the network's output dict.
_NETWORK_OUTPUT = {
    "body_box_xyxy_px": "pred_boxes",
    "lhand_box_xyxy_px": "pred_lhand_boxes",
    "rhand_box_xyxy_px": "pred_rhand_boxes",
    "face_box_xyxy_px": "pred_face_boxes",
    "body_keypoints_px": "pred_keypoints",
    "lhand_keypoints_px": "pred_lhand_keypoints",
    "rhand_keypoints_px": "pred_rhand_keypoints",
    "face_keypoints_px": "pred_face_keypoints",
    "betas": "pred_smpl_beta",
    "expression": "pred_smpl_expr",
}
# Slices of the 53-joint axis-angle full pose (root, 21 body, 15 + 15 hand, jaw), x3.
_FULL_POSE_SLICES = {
    "global_orient": slice(0, 3),
    "body_pose": slice(3, 66),
    "left_hand_pose": slice(66, 111),
    "right_hand_pose": slice(111, 156),
    "jaw_pose": slice(156, 159),
}


def score_threshold(threshold: float | None) -> float:
    """The threshold to use: DEFAULT_SCORE_THRESHOLD for None; ValueError outside [0, 1]."""
    threshold = DEFAULT_SCORE_THRESHOLD if threshold is None else float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    return threshold


def _points_xy(keypoints: Tensor) -> Tensor:
    """(M, 3 * P) [x/y pairs..., visibilities...] -> (M, P, 2) normalised xy."""
    count = keypoints.shape[-1] // 3
    return keypoints[..., : 2 * count].reshape(keypoints.shape[0], count, 2)


def _cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


def postprocess(
    outputs: Mapping[str, Tensor],
    batch: PreparedBatch,
    threshold: float | None = None,
    num_select: int = NUM_SELECT,
    focal_length_px: float = AIOS_FOCAL_LENGTH_PX,
) -> list[ImageResult]:
    """The network's raw output dict for ``batch`` -> one ImageResult per image.

    threshold: minimum score kept (default DEFAULT_SCORE_THRESHOLD, the official demo's).
    """
    threshold = score_threshold(threshold)
    out = {k: v.float() for k, v in outputs.items() if isinstance(v, Tensor)}
    scores, query = top_scored_queries(out["pred_logits"], num_select)  # (B, S)
    keep = scores >= threshold  # a prefix of each row: scores are sorted
    counts = keep.sum(dim=1).tolist()
    image_of, rank = keep.nonzero(as_tuple=True)  # (M,) for the M kept people of the batch
    kept_query = query[image_of, rank]

    def take(key: str) -> Tensor:
        return out[key][image_of, kept_query]  # (M, ...)

    # Official post-processor works in resized-image pixels; then map each axis back.
    device = scores.device
    resized_wh = batch.resized_sizes.cpu().flip(-1)  # (B, 2)
    to_original = (batch.original_sizes.cpu().flip(-1).double() / resized_wh.double()).float()
    resized_wh = resized_wh.float()
    size_wh = resized_wh.to(device)[image_of]  # (M, 2)
    ratio_xy = to_original.to(device)[image_of]  # (M, 2)

    def boxes_px(key: str) -> Tensor:
        xyxy = _cxcywh_to_xyxy(take(key)) * size_wh.repeat(1, 2)
        return xyxy * ratio_xy.repeat(1, 2)

    def keypoints_px(key: str) -> Tensor:
        return _points_xy(take(key)) * size_wh[:, None] * ratio_xy[:, None]

    full_pose = take("pred_smpl_fullpose")  # (M, 159)
    transl = aios_cam_to_translation(take("pred_smpl_cam"))  # (M, 3)

    def person_field(field: PersonField) -> Tensor:
        if field.kind == "score":
            return scores[image_of, rank]
        if field.kind == "translation":
            return transl
        if field.kind == "box":
            return boxes_px(_NETWORK_OUTPUT[field.name])
        if field.kind == "keypoints":
            return keypoints_px(_NETWORK_OUTPUT[field.name])
        if field.kind == "rotation":
            return full_pose[:, _FULL_POSE_SLICES[field.name]].reshape(-1, *field.shape)
        return take(_NETWORK_OUTPUT[field.name])  # shape / expression coefficients

    fields: dict[str, Tensor] = {"query_indices": kept_query}
    fields.update({f.batched_name: person_field(f) for f in PERSON_FIELDS})
    if out.get("pred_smpl_kp3d") is not None:
        joints_cam = take("pred_smpl_kp3d") + transl[:, None]  # (M, J, 3)
        projected = project_points(joints_cam, focal_length_px, size_wh[:, None] / 2)
        fields["joints_cam_m"] = joints_cam
        fields["smplx_joints_px"] = projected * ratio_xy[:, None]
    if out.get("pred_smpl_verts") is not None:
        fields["vertices_cam_m"] = take("pred_smpl_verts") + transl[:, None]

    # One transfer for the whole batch, then split per image.
    per_image = {k: np.split(v.cpu().numpy(), np.cumsum(counts)[:-1]) for k, v in fields.items()}
    focal_px = (focal_length_px * to_original).numpy()  # (B, 2)
    principal_px = (resized_wh / 2 * to_original).numpy()  # (B, 2)
    original_hw = batch.original_sizes.cpu().tolist()
    return [
        ImageResult(
            image_size_hw=(int(original_hw[i][0]), int(original_hw[i][1])),
            focal_px=focal_px[i],
            principal_point_px=principal_px[i],
            **{k: v[i] for k, v in per_image.items()},
        )
        for i in range(len(counts))
    ]
