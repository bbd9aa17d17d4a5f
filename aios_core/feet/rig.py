"""Where a person's heels and toes are: four foot points on the SMPL-X leg chains.

The points, in the order of the results' ``foot_contact`` columns (``FOOT_POINTS``), are
SMPL-X's heel and big-toe vertices (smplx's ``vertex_ids``: the same vertices its extra
keypoints use), each carried rigidly by the joint that mostly skins it: the heel by the ankle,
the toe by the foot (toe-base) joint. A model whose vertices there are not skinned that way
(a stand-in model) falls back on the ankle and foot joints themselves.

``contact_height_m`` is each point's height above the sole in the rest pose: the height it has
when the foot stands flat on the floor. The sole is the lower of the heel and toe vertices
(they are SMPL-X's sole keypoints), or, for the joint fallback, the lowest vertex skinned to
that foot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from smplx.vertex_ids import vertex_ids

FOOT_POINTS = ("left_heel", "left_toe", "right_heel", "right_toe")
# SMPL-X joints: (hip, knee, ankle, foot) per side.
LEG_JOINTS = {"left": (1, 4, 7, 10), "right": (2, 5, 8, 11)}
# Per foot point: side, carrying joint (2 = ankle, 3 = foot in LEG_JOINTS), smplx vertex name.
_POINT_SOURCES = (("left", 2, "LHeel"), ("left", 3, "LBigToe"),
                  ("right", 2, "RHeel"), ("right", 3, "RBigToe"))


@dataclass(frozen=True)
class BodyScale:
    """The lengths contact thresholds are measured in, so that they fit every body."""

    leg_length_m: float  # hip to knee to ankle, rest pose (mean of both legs)
    foot_length_m: float  # heel point to toe point, rest pose (mean of both feet)


@dataclass(frozen=True)
class FootRig:
    """One person's rest skeleton and foot points (metres, SMPL-X rest frame)."""

    rest_joints: np.ndarray  # (55, 3)
    point_rest_m: np.ndarray  # (4, 3) heel/toe points in FOOT_POINTS order
    point_joint: tuple[int, ...]  # (4,) SMPL-X joint carrying each point
    contact_height_m: np.ndarray  # (4,) height above the sole when the foot is flat

    @property
    def scale(self) -> BodyScale:
        legs = [np.linalg.norm(np.diff(self.rest_joints[list(LEG_JOINTS[side][:3])], axis=0),
                               axis=1).sum() for side in LEG_JOINTS]
        feet = np.linalg.norm(self.point_rest_m[[1, 3]] - self.point_rest_m[[0, 2]], axis=1)
        return BodyScale(float(np.mean(legs)), float(np.mean(feet)))


def foot_rig(rest_joints: np.ndarray, rest_vertices: np.ndarray,
             skinning_weights: np.ndarray) -> FootRig:
    """``rest_joints`` (55, 3), ``rest_vertices`` (V, 3) and ``skinning_weights`` (V, 55) of one
    shaped SMPL-X body -> its FootRig."""
    owner = np.argmax(skinning_weights, axis=1)  # (V,)
    points, joints, on_vertex = [], [], []
    for side, chain_index, vertex_name in _POINT_SOURCES:
        joint = LEG_JOINTS[side][chain_index]
        vertex = vertex_ids["smplx"][vertex_name]
        on_vertex.append(bool(owner[vertex] == joint))
        points.append(rest_vertices[vertex] if on_vertex[-1] else rest_joints[joint])
        joints.append(joint)
    heights = []
    for k, (side, _, _) in enumerate(_POINT_SOURCES):
        pair = [2 * (k // 2), 2 * (k // 2) + 1]
        if all(on_vertex[p] for p in pair):  # heel and toe vertices: the sole itself
            sole_y = min(points[p][1] for p in pair)
        else:  # joints: the lowest vertex skinned to that foot
            foot_vertices = np.isin(owner, LEG_JOINTS[side][2:])
            sole_y = (rest_vertices[foot_vertices, 1].min() if foot_vertices.any()
                      else points[k][1])
        heights.append(max(0.0, float(points[k][1] - sole_y)))
    return FootRig(rest_joints=np.asarray(rest_joints, np.float64),
                   point_rest_m=np.asarray(points, np.float64), point_joint=tuple(joints),
                   contact_height_m=np.asarray(heights))
