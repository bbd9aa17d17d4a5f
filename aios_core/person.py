"""The person record: every field aios keeps for one detected person, defined once.

The network's per-image results (``ImageResult``, N people on a leading axis), one person
(``PersonResult``), the rows of the results file, the evaluator's prediction cache, tracking,
smoothing and meshing all take their field names and shapes from :data:`PERSON_FIELDS`.

Conventions (all fields): pixel coordinates in the original image (x right, y down), boxes as
(x1, y1, x2, y2); SMPL-X rotations are axis-angle radians, hand poses relative to the mean hand
(``flat_hand_mean=False``); the camera frame is x right, y down, z forward, metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["score", "box", "keypoints", "rotation", "coefficients", "translation"]


@dataclass(frozen=True)
class PersonField:
    """One field of the person record."""

    name: str  # key in the results file, attribute of PersonResult
    shape: tuple[int, ...]  # of one person
    kind: FieldKind
    meaning: str
    batched: str = ""  # attribute of ImageResult (N people) when it differs from ``name``

    @property
    def batched_name(self) -> str:
        return self.batched or self.name


PERSON_FIELDS: tuple[PersonField, ...] = (
    PersonField("score", (), "score", "detection confidence in [0, 1]", "scores"),
    PersonField("body_box_xyxy_px", (4,), "box", "person box", "body_boxes_xyxy_px"),
    PersonField("lhand_box_xyxy_px", (4,), "box", "left-hand box", "lhand_boxes_xyxy_px"),
    PersonField("rhand_box_xyxy_px", (4,), "box", "right-hand box", "rhand_boxes_xyxy_px"),
    PersonField("face_box_xyxy_px", (4,), "box", "face box", "face_boxes_xyxy_px"),
    PersonField("body_keypoints_px", (17, 2), "keypoints", "the 17 COCO body keypoints"),
    PersonField("lhand_keypoints_px", (6, 2), "keypoints",
                "left wrist, then thumb, index, middle, ring and pinky tips"),
    PersonField("rhand_keypoints_px", (6, 2), "keypoints", "likewise for the right hand"),
    PersonField("face_keypoints_px", (6, 2), "keypoints",
                "nose, mouth top, chin, right contour, contour middle, left contour"),
    PersonField("global_orient", (3,), "rotation", "SMPL-X root orientation, camera frame"),
    PersonField("body_pose", (21, 3), "rotation", "the 21 SMPL-X body joints"),
    PersonField("left_hand_pose", (15, 3), "rotation", "15 joints, relative to the mean hand"),
    PersonField("right_hand_pose", (15, 3), "rotation", "likewise"),
    PersonField("jaw_pose", (3,), "rotation", "jaw"),
    PersonField("betas", (10,), "coefficients", "SMPL-X neutral shape coefficients"),
    PersonField("expression", (10,), "coefficients", "SMPL-X expression coefficients"),
    PersonField("transl_m", (3,), "translation", "body-model origin to camera frame, metres"),
)


def fields_of_kind(*kinds: FieldKind) -> tuple[str, ...]:
    """Names of the person fields of the given kinds, in record order."""
    return tuple(f.name for f in PERSON_FIELDS if f.kind in kinds)


PERSON_SHAPES: dict[str, tuple[int, ...]] = {f.name: f.shape for f in PERSON_FIELDS}
BOX_FIELDS = fields_of_kind("box")
KEYPOINT_FIELDS = fields_of_kind("keypoints")
ROTATION_FIELDS = fields_of_kind("rotation")  # axis-angle, (..., 3)
COEFFICIENT_FIELDS = fields_of_kind("coefficients")
# What poses the body model (SmplxModel, EmbeddedSMPLX, smplx.SMPLX keyword names); eye poses
# are not predicted and are zero.
BODY_MODEL_FIELDS = fields_of_kind("rotation", "coefficients")
SMPLX_FIELDS = fields_of_kind("rotation", "coefficients", "translation")
