"""People walking with truly planted feet, for the foot contact / lock tests.

Built by forward kinematics (numpy + scipy, independent of aios' leg chain): sinusoidal hips,
knees that bend only in swing, ankles that keep each foot flat; per frame the lower foot is
the stance foot and the root translation is chosen so it stays exactly where it landed, with
its sole on the floor (y = 0, y up). The truth contact labels are the stance foot's heel and
toe. ``noisy`` adds per-frame estimation noise (root translation, leg rotations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from aios_core.feet.rig import LEG_JOINTS, FootRig

FPS = 30.0
_PERIOD_S = 1.1
_HIP_RAD, _KNEE_RAD = 0.35, 0.7


@dataclass
class Walk:
    global_orient: np.ndarray  # (T, 3) world axis-angle
    transl_m: np.ndarray  # (T, 3) world
    body_pose: np.ndarray  # (T, 21, 3)
    contact: np.ndarray  # (T, 4) truth labels in FOOT_POINTS order
    times_s: np.ndarray  # (T,)


def leg_fk(rig: FootRig, global_orient, transl, body_pose) -> tuple[np.ndarray, np.ndarray]:
    """((T, 9, 3) pelvis + per side hip, knee, ankle, foot; (T, 4, 3) foot points)."""
    rest = rig.rest_joints
    root = Rotation.from_rotvec(global_orient).as_matrix()
    positions, rotations = {0: rest[0] + transl}, {0: root}
    for joints in LEG_JOINTS.values():
        parent = 0
        for joint in joints:
            positions[joint] = positions[parent] + np.einsum(
                "tij,j->ti", rotations[parent], rest[joint] - rest[parent])
            rotations[joint] = rotations[parent] @ Rotation.from_rotvec(
                body_pose[:, joint - 1]).as_matrix()
            parent = joint
    points = [positions[j] + np.einsum("tij,j->ti", rotations[j], rig.point_rest_m[k] - rest[j])
              for k, j in enumerate(rig.point_joint)]
    order = (0, *LEG_JOINTS["left"], *LEG_JOINTS["right"])
    return np.stack([positions[j] for j in order], 1), np.stack(points, 1)


def walk(rig: FootRig, frames: int = 90, heading_rad: float = 0.0,
         start_m=(0.0, 0.0), phase_rad: float = 0.0) -> Walk:
    """One person walking along ``heading_rad`` (about y, 0 = +z) from ``start_m`` (x, z)."""
    times = np.arange(frames) / FPS
    phase = 2 * np.pi * times / _PERIOD_S + phase_rad
    body_pose = np.zeros((frames, 21, 3))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        hip, knee, ankle, _ = LEG_JOINTS[side]
        swing = sign * np.sin(phase)
        bend = _KNEE_RAD * np.maximum(0.0, sign * np.cos(phase))
        body_pose[:, hip - 1, 0] = -_HIP_RAD * swing  # legs swing forward about -x
        body_pose[:, knee - 1, 0] = bend
        body_pose[:, ankle - 1, 0] = _HIP_RAD * swing - bend  # foot stays flat
    orient = np.tile(Rotation.from_euler("y", heading_rad).as_rotvec(), (frames, 1))
    _, points = leg_fk(rig, orient, np.zeros((frames, 3)), body_pose)
    height = points[..., 1] - rig.contact_height_m  # (T, 4) at zero translation
    side_height = np.stack([height[:, :2].mean(1), height[:, 2:].mean(1)], 1)
    stance = np.argmin(side_height, axis=1)  # 0 left, 1 right
    transl = np.zeros((frames, 3))
    transl[0, [0, 2]] = start_m
    for t in range(frames):
        transl[t, 1] = -side_height[t, stance[t]]
        if t:
            foot = 2 * stance[t]
            transl[t, [0, 2]] = transl[t - 1, [0, 2]] + (points[t - 1, foot, [0, 2]]
                                                         - points[t, foot, [0, 2]])
    contact = np.zeros((frames, 4), bool)
    contact[stance == 0, :2] = True
    contact[stance == 1, 2:] = True
    return Walk(orient, transl, body_pose, contact, times)


def noisy(truth: Walk, seed: int = 0, transl_sigma_m: float = 0.012,
          rotation_sigma_rad: float = 0.03) -> Walk:
    """The walk as an estimator might see it: jittered root translation and leg rotations."""
    rng = np.random.default_rng(seed)
    body_pose = truth.body_pose.copy()
    legs = [j - 1 for joints in LEG_JOINTS.values() for j in joints]
    body_pose[:, legs] += rng.normal(scale=rotation_sigma_rad, size=(len(body_pose), 8, 3))
    transl = truth.transl_m + rng.normal(scale=transl_sigma_m, size=truth.transl_m.shape)
    return Walk(truth.global_orient.copy(), transl, body_pose, truth.contact, truth.times_s)
