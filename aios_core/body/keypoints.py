"""SMPL-X keypoint sets and orders used by AiOS.

``smplx.SMPLX`` (with ``use_face_contour=True``) returns 144 joints per person, in this order
(the detrsmpl 'smplx' convention, whose names are used below):

* 0-54   the 55 skeleton joints regressed from the mesh (``SMPLX_JOINT_NAMES``):
          pelvis, 21 body joints, jaw, two eyeballs, 15 left-hand then 15 right-hand joints
          (per hand: index, middle, pinky, ring, thumb; three joints each, base to tip);
* 55-75  21 vertices picked as extra joints: nose, eyes, ears, feet, then the ten finger tips;
* 76-126 the 51 static face landmarks (eyebrows, nose, eyes, mouth, lips);
* 127-143 the 17 face-contour landmarks (dynamic, from the head/neck rotation).

AiOS in inference mode keeps those 144 joints as they are ('smplx' -> 'smplx' conversion is
the identity): they are ``pred_smpl_kp3d`` and what gets projected to ``smplx_joint_proj``.
Its evaluation mode converts them to 'smplx_137' (``SMPLX_137_INDICES``): 25 body keypoints,
20 + 20 hand keypoints (thumb, index, middle, ring, pinky; four per finger, the fourth being
the tip vertex) and 72 face keypoints. The 137 set repeats the two eye vertices (body part
and face part), so its names are not unique.
"""

from __future__ import annotations

import torch
from torch import Tensor

NUM_SMPLX_JOINTS = 55
NUM_SMPLX_KEYPOINTS = 144
NUM_SMPLX_137_KEYPOINTS = 137

_BODY_JOINTS = (
    "pelvis", "left_hip", "right_hip", "spine_1", "left_knee", "right_knee", "spine_2",
    "left_ankle", "right_ankle", "spine_3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eyeball", "right_eyeball",
)
# SMPL-X orders each hand's fingers this way (it is not anatomical).
_HAND_FINGERS = ("index", "middle", "pinky", "ring", "thumb")
_TIP_FINGERS = ("thumb", "index", "middle", "ring", "pinky")

_HAND_JOINTS = tuple(
    f"{side}_{finger}_{k}" for side in ("left", "right") for finger in _HAND_FINGERS
    for k in (1, 2, 3)
)
SMPLX_JOINT_NAMES: tuple[str, ...] = _BODY_JOINTS + _HAND_JOINTS

# Parent of each of the 55 joints in the SMPL-X kinematic tree (-1 for the root).
SMPLX_PARENTS: tuple[int, ...] = (
    (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15)
    + tuple(wrist if k == 0 else first + k - 1
            for wrist, start in ((20, 25), (21, 40))
            for first in range(start, start + 15, 3) for k in range(3))
)

_VERTEX_JOINTS = (
    ("nose", "right_eye", "left_eye", "right_ear", "left_ear")
    + ("left_bigtoe", "left_smalltoe", "left_heel", "right_bigtoe", "right_smalltoe",
       "right_heel")
    + tuple(f"{side}_{finger}" for side in ("left", "right") for finger in _TIP_FINGERS)
)

_STATIC_LANDMARKS = (
    tuple(f"right_eyebrow_{k}" for k in range(1, 6))
    + tuple(f"left_eyebrow_{k}" for k in range(5, 0, -1))
    + tuple(f"nosebridge_{k}" for k in range(1, 5))
    + ("right_nose_2", "right_nose_1", "nose_middle", "left_nose_1", "left_nose_2")
    + tuple(f"right_eye_{k}" for k in range(1, 7))
    + tuple(f"left_eye_{k}" for k in (4, 3, 2, 1, 6, 5))
    + ("right_mouth_1", "right_mouth_2", "right_mouth_3", "mouth_top", "left_mouth_3",
       "left_mouth_2", "left_mouth_1", "left_mouth_5", "left_mouth_4", "mouth_bottom",
       "right_mouth_4", "right_mouth_5")
    + ("right_lip_1", "right_lip_2", "lip_top", "left_lip_2", "left_lip_1", "left_lip_3",
       "lip_bottom", "right_lip_3")
)
_CONTOUR_LANDMARKS = (
    tuple(f"right_contour_{k}" for k in range(1, 9))
    + ("contour_middle",)
    + tuple(f"left_contour_{k}" for k in range(8, 0, -1))
)

SMPLX_KEYPOINT_NAMES: tuple[str, ...] = (
    SMPLX_JOINT_NAMES + _VERTEX_JOINTS + _STATIC_LANDMARKS + _CONTOUR_LANDMARKS
)


def _index(name: str) -> int:
    return SMPLX_KEYPOINT_NAMES.index(name)


def _hand_137(side: str) -> tuple[int, ...]:
    """Per finger (thumb, index, middle, ring, pinky): three skeleton joints, then the tip."""
    return tuple(
        _index(f"{side}_{finger}_{k}") if k <= 3 else _index(f"{side}_{finger}")
        for finger in _TIP_FINGERS for k in (1, 2, 3, 4)
    )


_BODY_137 = (
    "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "neck", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_bigtoe", "left_smalltoe", "left_heel", "right_bigtoe", "right_smalltoe",
    "right_heel", "left_ear", "right_ear", "left_eye", "right_eye", "nose",
)
_FACE_137_HEAD = ("jaw", "head", "left_eye", "right_eye")

# Indices into the 144 smplx joints giving AiOS' 'smplx_137' order.
SMPLX_137_INDICES: tuple[int, ...] = (
    tuple(_index(name) for name in _BODY_137)
    + _hand_137("left")
    + _hand_137("right")
    + tuple(_index(name) for name in _FACE_137_HEAD)
    + tuple(range(_index(_STATIC_LANDMARKS[0]), NUM_SMPLX_KEYPOINTS))
)
SMPLX_137_KEYPOINT_NAMES: tuple[str, ...] = tuple(
    SMPLX_KEYPOINT_NAMES[i] for i in SMPLX_137_INDICES
)

# Parts of the 137 set, as index ranges into it (util/human_models.py joint_part).
SMPLX_137_PARTS: dict[str, range] = {
    "body": range(0, 25),
    "lhand": range(25, 45),
    "rhand": range(45, 65),
    "face": range(65, 137),
}


def select_smplx_137(keypoints: Tensor) -> Tensor:
    """(..., 144, C) smplx keypoints -> (..., 137, C) in AiOS' 'smplx_137' order."""
    if keypoints.shape[-2] != NUM_SMPLX_KEYPOINTS:
        raise ValueError(
            f"expected {NUM_SMPLX_KEYPOINTS} keypoints on dim -2, got {tuple(keypoints.shape)}"
        )
    index = torch.tensor(SMPLX_137_INDICES, dtype=torch.long, device=keypoints.device)
    return keypoints.index_select(-2, index)
