"""Forward kinematics of the two SMPL-X leg chains (pelvis -> hip -> knee -> ankle -> foot).

Only the legs are posed (the feet depend on nothing else), in torch so the foot lock can
differentiate through it; both legs are posed together, one chain level at a time. Conventions
are smplx's: the posed pelvis is ``J_pelvis + transl``, each joint's world rotation is its
parent's times its local (axis-angle) rotation, and a child sits at
``parent + R_parent @ (J_child - J_parent)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from aios_core.body.rotations import axis_angle_to_matrix
from aios_core.feet.rig import LEG_JOINTS, FootRig

# (2, 4) SMPL-X joints: rows left / right, columns hip, knee, ankle, foot.
CHAIN = np.array([LEG_JOINTS["left"], LEG_JOINTS["right"]])
# body_pose rows of the same joints (SMPL-X joint - 1).
CHAIN_POSE_ROWS = CHAIN - 1


def leg_rotations(body_pose: Tensor) -> Tensor:
    """(T, 21, 3) axis-angle body pose -> (T, 2, 4, 3, 3) local rotations of the leg chains."""
    return axis_angle_to_matrix(body_pose[:, CHAIN_POSE_ROWS])


def pose_legs(rig: FootRig, global_orient: Tensor, transl: Tensor,
              local: Tensor) -> tuple[Tensor, Tensor]:
    """World positions of the leg joints and the foot points.

    ``global_orient`` (T, 3), ``transl`` (T, 3), ``local`` (T, 2, 4, 3, 3) from
    ``leg_rotations`` -> ((T, 2, 4, 3) hip, knee, ankle, foot per side; (T, 4, 3) foot points in
    FOOT_POINTS order: left heel, left toe, right heel, right toe)."""
    rest = torch.as_tensor(rig.rest_joints, dtype=transl.dtype)  # (55, 3)
    chain_rest = rest[CHAIN]  # (2, 4, 3)
    parents_rest = torch.cat([rest[:1].expand(2, 1, 3), chain_rest[:, :-1]], 1)
    offsets = chain_rest - parents_rest  # (2, 4, 3)
    rotation = axis_angle_to_matrix(global_orient)[:, None].expand(-1, 2, 3, 3)  # (T, 2, 3, 3)
    position = (rest[0] + transl)[:, None].expand(-1, 2, 3)  # (T, 2, 3)
    positions, rotations = [], []
    for level in range(4):
        position = position + (rotation @ offsets[:, level, :, None])[..., 0]
        rotation = rotation @ local[:, :, level]
        positions.append(position)
        rotations.append(rotation)
    joints = torch.stack(positions, 2)  # (T, 2, 4, 3)
    frames = torch.stack(rotations, 2)  # (T, 2, 4, 3, 3)
    # Heel on the ankle (level 2), toe on the foot joint (level 3), per side.
    carriers = [(k // 2, list(LEG_JOINTS["left" if k < 2 else "right"]).index(joint))
                for k, joint in enumerate(rig.point_joint)]
    points_rest = torch.as_tensor(rig.point_rest_m, dtype=transl.dtype)
    points = []
    for k, (side, level) in enumerate(carriers):
        lever = (points_rest[k] - chain_rest[side, level])[:, None]  # (3, 1)
        points.append(joints[:, side, level] + (frames[:, side, level] @ lever)[..., 0])
    return joints, torch.stack(points, 1)
