"""What aios returns per image: every detected person, batched as numpy arrays.

Each :class:`ImageResult` holds N people as arrays with a leading N axis (people sorted by
descending score), which is what tracking, export and rendering consume;
``result[i]`` / iteration give a :class:`PersonResult` view of one person.

Conventions:
- Pixel coordinates are in the ORIGINAL image (before the network's resize), x right, y down,
  boxes as (x1, y1, x2, y2).
- ``body_keypoints_px``: the 17 COCO keypoints (nose, left/right eye, left/right ear,
  left/right shoulder, left/right elbow, left/right wrist, left/right hip, left/right knee,
  left/right ankle). ``lhand_keypoints_px`` / ``rhand_keypoints_px``: wrist, then the thumb,
  index, middle, ring and pinky tips. ``face_keypoints_px``: nose, mouth top, jaw (chin),
  right contour, contour middle, left contour.
- ``smplx_joints_px``: the body model's joints (144 for SMPL-X with face contour, order in
  ``aios_core.body.keypoints``) projected with the camera below (the official
  ``smplx_joint_proj``).
- SMPL-X parameters are axis-angle (radians); shape/expression coefficients are unitless.
- Camera: pinhole with ``focal_px`` (fx, fy) and ``principal_point_px`` (cx, cy) in original
  pixels; ``transl_m`` moves the body model's frame into the camera frame (x right, y down,
  z forward). ``joints_cam_m`` / ``vertices_cam_m`` are already translated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from aios_core.person import PERSON_FIELDS

# Per-person arrays the network's body model adds (None without one).
MODEL_OUTPUT_ARRAYS = ("smplx_joints_px", "joints_cam_m", "vertices_cam_m")
# Every per-person array of ImageResult: decoder slot, person record, body-model outputs.
PER_PERSON_ARRAYS = ("query_indices", *(f.batched_name for f in PERSON_FIELDS),
                     *MODEL_OUTPUT_ARRAYS)


@dataclass
class PersonResult:
    """One detected person; same fields as :class:`ImageResult` without the leading N axis.

    The person-record fields (``score`` ... ``transl_m``) are ``aios_core.person.PERSON_FIELDS``,
    declared here for type checkers (tests/test_person_record.py keeps them equal).
    """

    score: float
    query_index: int
    body_box_xyxy_px: np.ndarray  # (4,)
    lhand_box_xyxy_px: np.ndarray  # (4,)
    rhand_box_xyxy_px: np.ndarray  # (4,)
    face_box_xyxy_px: np.ndarray  # (4,)
    body_keypoints_px: np.ndarray  # (17, 2)
    lhand_keypoints_px: np.ndarray  # (6, 2)
    rhand_keypoints_px: np.ndarray  # (6, 2)
    face_keypoints_px: np.ndarray  # (6, 2)
    global_orient: np.ndarray  # (3,)
    body_pose: np.ndarray  # (21, 3)
    left_hand_pose: np.ndarray  # (15, 3)
    right_hand_pose: np.ndarray  # (15, 3)
    jaw_pose: np.ndarray  # (3,)
    betas: np.ndarray  # (10,)
    expression: np.ndarray  # (10,)
    transl_m: np.ndarray  # (3,)
    focal_px: np.ndarray  # (2,) fx, fy
    principal_point_px: np.ndarray  # (2,) cx, cy
    smplx_joints_px: np.ndarray | None = None  # (J, 2)
    joints_cam_m: np.ndarray | None = None  # (J, 3)
    vertices_cam_m: np.ndarray | None = None  # (V, 3)


@dataclass
class ImageResult:
    """All people detected in one image, as arrays with a leading N axis (float32).

    ``scores`` ... ``transl_m`` are the person record (``aios_core.person.PERSON_FIELDS``, by
    their ``batched_name``), declared here for type checkers.
    """

    image_size_hw: tuple[int, int]  # original image (height, width)
    focal_px: np.ndarray  # (2,) fx, fy of the camera the network assumes, original pixels
    principal_point_px: np.ndarray  # (2,) cx, cy, original pixels
    scores: np.ndarray  # (N,) detection confidence in [0, 1], descending
    query_indices: np.ndarray  # (N,) int64: which decoder person slot each row came from
    body_boxes_xyxy_px: np.ndarray  # (N, 4)
    lhand_boxes_xyxy_px: np.ndarray  # (N, 4)
    rhand_boxes_xyxy_px: np.ndarray  # (N, 4)
    face_boxes_xyxy_px: np.ndarray  # (N, 4)
    body_keypoints_px: np.ndarray  # (N, 17, 2)
    lhand_keypoints_px: np.ndarray  # (N, 6, 2)
    rhand_keypoints_px: np.ndarray  # (N, 6, 2)
    face_keypoints_px: np.ndarray  # (N, 6, 2)
    global_orient: np.ndarray  # (N, 3)
    body_pose: np.ndarray  # (N, 21, 3)
    left_hand_pose: np.ndarray  # (N, 15, 3)
    right_hand_pose: np.ndarray  # (N, 15, 3)
    jaw_pose: np.ndarray  # (N, 3)
    betas: np.ndarray  # (N, 10)
    expression: np.ndarray  # (N, 10)
    transl_m: np.ndarray  # (N, 3)
    smplx_joints_px: np.ndarray | None = None  # (N, J, 2); None without a body model
    joints_cam_m: np.ndarray | None = None  # (N, J, 3); None without a body model
    vertices_cam_m: np.ndarray | None = None  # (N, V, 3); None without a body model

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def __getitem__(self, index: int) -> PersonResult:
        if not -len(self) <= index < len(self):
            raise IndexError(f"person {index} out of range for {len(self)} people")
        person = {f.name: getattr(self, f.batched_name)[index] for f in PERSON_FIELDS}
        person["score"] = float(person["score"])
        optional = {name: None if getattr(self, name) is None else getattr(self, name)[index]
                    for name in MODEL_OUTPUT_ARRAYS}
        return PersonResult(query_index=int(self.query_indices[index]), focal_px=self.focal_px,
                            principal_point_px=self.principal_point_px, **person, **optional)

    def take(self, rows: np.ndarray | slice | list[int]) -> ImageResult:
        """The same image with only the people ``rows`` (indices, slice or mask), in that order."""
        kept = {name: getattr(self, name)[rows] for name in PER_PERSON_ARRAYS
                if getattr(self, name) is not None}
        return replace(self, **kept)

    def __iter__(self) -> Iterator[PersonResult]:
        return (self[i] for i in range(len(self)))
