"""Joint orders the training data uses, and the left/right pairs a horizontal flip swaps.

* 'smplx_137' (``aios_core.body.keypoints.SMPLX_137_KEYPOINT_NAMES``): the supervision set:
  25 body, 20 + 20 hand, 72 face keypoints.
* The 53 pose joints of a target's ``smplx_pose``: root, 21 body, 15 left-hand, 15 right-hand
  (index, middle, pinky, ring, thumb; 3 each), jaw.
"""

from __future__ import annotations

import numpy as np

from aios_core.body.keypoints import SMPLX_137_INDICES

# The official loader (datasets/humandata.py SMPLX_137_MAPPING) picks the two eyeball
# keypoints (137-set rows 67, 68) in the opposite order to the model-side selection; a flip
# swaps them anyway, but the targets must sit where the official puts them.
_EYEBALL_ROWS = (67, 68)
HUMANDATA_144_TO_137: tuple[int, ...] = tuple(
    SMPLX_137_INDICES[_EYEBALL_ROWS[1]] if row == _EYEBALL_ROWS[0]
    else SMPLX_137_INDICES[_EYEBALL_ROWS[0]] if row == _EYEBALL_ROWS[1]
    else index
    for row, index in enumerate(SMPLX_137_INDICES)
)

_BODY_PAIRS_137 = ((1, 2), (3, 4), (5, 6), (8, 9), (10, 11), (12, 13), (14, 17), (15, 18),
                   (16, 19), (20, 21), (22, 23))
_HAND_PAIRS_137 = tuple((25 + k, 45 + k) for k in range(20))
# Face landmarks: eyeballs, eyebrows, nose base, eyes, mouth, lips, contour (mirror images).
_FACE_PAIRS_137 = (
    (67, 68),
    (69, 78), (70, 77), (71, 76), (72, 75), (73, 74),
    (83, 87), (84, 86),
    (88, 97), (89, 96), (90, 95), (91, 94), (92, 99), (93, 98),
    (100, 106), (101, 105), (102, 104), (107, 111), (108, 110),
    (112, 116), (113, 115), (117, 119),
    (120, 136), (121, 135), (122, 134), (123, 133), (124, 132), (125, 131), (126, 130),
    (127, 129),
)
FLIP_PAIRS_137: tuple[tuple[int, int], ...] = _BODY_PAIRS_137 + _HAND_PAIRS_137 + _FACE_PAIRS_137

# Pose joints: hips, knees, ankles, feet, collars, shoulders, elbows, wrists; then the hands.
_BODY_PAIRS_53 = ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21))
FLIP_PAIRS_53: tuple[tuple[int, int], ...] = (
    _BODY_PAIRS_53 + tuple((22 + k, 37 + k) for k in range(15))
)

# Rows of the 137 set that are the roots of the part-relative 3-D joints.
PELVIS_137, NECK_137, LEFT_WRIST_137, RIGHT_WRIST_137 = 0, 7, 12, 13


def flip_permutation(count: int, pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(count,) index array that swaps every pair (its own inverse)."""
    order = np.arange(count)
    for left, right in pairs:
        order[left], order[right] = right, left
    return order


FLIP_ORDER_137 = flip_permutation(137, FLIP_PAIRS_137)
FLIP_ORDER_53 = flip_permutation(53, FLIP_PAIRS_53)
