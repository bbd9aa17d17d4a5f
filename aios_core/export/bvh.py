"""``--format bvh``: one BVH skeleton animation per track (Blender, Maya, MotionBuilder).

The skeleton is the person's own rest-pose SMPL-X skeleton: the 55 joints regressed from the
template shaped by the track's betas (neutral expression), named as in
``aios_core.body.keypoints.SMPLX_JOINT_NAMES`` (or another naming, ``--skeleton``: see
``aios_core.export.skeleton_names``), with the SMPL-X parents. Its rest pose is
SMPL-X's (T-pose, flat hands), so each joint's BVH rotation is exactly its SMPL-X local
rotation (SMPL-X joints carry no rest orientation of their own).

* ROOT ``pelvis``: OFFSET 0 0 0 and six channels ``Xposition Yposition Zposition Zrotation
  Xrotation Yrotation``; the positions are the pelvis' absolute position each frame
  (J_pelvis + trans). With a zero root offset, readers that add the offset and readers that
  take the channels as absolute agree.
* Every other joint: OFFSET = its rest position minus its parent's, and three channels
  ``Zrotation Xrotation Yrotation`` in degrees: local rotation = Rz(z) Rx(x) Ry(y) (rotations
  apply in channel order; column vectors). Angles are unwrapped over time (no 360-degree jumps).
* Leaf joints (jaw, eyes, feet, finger tips) end in an ``End Site`` half a bone further on.
* Lengths in metres (``units="m"``) or centimetres (``units="cm"``, what Maya and
  MotionBuilder assume). Frame Time = 1 / fps.

A BVH holds one fixed skeleton, so face expressions (which shift the SMPL-X jaw and eye
joints by well under a millimetre) are not part of it.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from aios_core.body.keypoints import SMPLX_JOINT_NAMES, SMPLX_PARENTS
from aios_core.export.motion import ExportError, Motion, TrackMotion
from aios_core.export.paths import atomic_output, per_track_paths
from aios_core.export.rest_shape import RestShape
from aios_core.export.skeleton_names import joint_names

UNIT_SCALES = {"m": 1.0, "cm": 100.0}
ROTATION_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
_EULER_ORDER = "ZXY"  # scipy: upper case = intrinsic, i.e. R = Rz @ Rx @ Ry
_END_SITE_FRACTION = 0.5
_MIN_END_SITE_M = 0.01


def _children() -> list[list[int]]:
    children: list[list[int]] = [[] for _ in SMPLX_PARENTS]
    for joint, parent in enumerate(SMPLX_PARENTS):
        if parent >= 0:
            children[parent].append(joint)
    return children


def _depth_first() -> list[int]:
    """Joint indices in the order the hierarchy (and so each frame's channels) is written."""
    children, order, stack = _children(), [], [0]
    while stack:
        joint = stack.pop()
        order.append(joint)
        stack.extend(reversed(children[joint]))
    return order


def _hierarchy(rest_joints: np.ndarray, scale: float, names: Sequence[str]) -> str:
    children = _children()
    lines: list[str] = ["HIERARCHY"]

    def offset(vector: np.ndarray) -> str:
        return "OFFSET " + " ".join(f"{v * scale:.6f}" for v in vector)

    def write(joint: int, depth: int) -> None:
        pad = "\t" * depth
        parent = SMPLX_PARENTS[joint]
        if parent < 0:
            lines.append(f"ROOT {names[joint]}")
            lines.append(f"{pad}{{")
            lines.append(f"{pad}\t{offset(np.zeros(3))}")
            lines.append(f"{pad}\tCHANNELS 6 Xposition Yposition Zposition "
                         + " ".join(ROTATION_CHANNELS))
        else:
            lines.append(f"{pad}JOINT {names[joint]}")
            lines.append(f"{pad}{{")
            lines.append(f"{pad}\t{offset(rest_joints[joint] - rest_joints[parent])}")
            lines.append(f"{pad}\tCHANNELS 3 " + " ".join(ROTATION_CHANNELS))
        for child in children[joint]:
            write(child, depth + 1)
        if not children[joint]:
            bone = rest_joints[joint] - rest_joints[parent]
            length = np.linalg.norm(bone)
            tip = (bone * _END_SITE_FRACTION if length > 2 * _MIN_END_SITE_M
                   else np.array([0.0, _MIN_END_SITE_M, 0.0]))
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\t{offset(tip)}",
                          f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    write(0, 0)
    return "\n".join(lines) + "\n"


def _euler_degrees(poses: np.ndarray) -> np.ndarray:
    """(T, J, 3) axis-angle -> (T, J, 3) unwrapped channel angles in ROTATION_CHANNELS order."""
    frames, joints, _ = poses.shape
    with warnings.catch_warnings():
        # At +-90 degrees of the middle angle scipy warns; the angles it returns are still exact.
        warnings.simplefilter("ignore", UserWarning)
        angles = Rotation.from_rotvec(poses.reshape(-1, 3)).as_euler(_EULER_ORDER, degrees=True)
    return np.unwrap(angles.reshape(frames, joints, 3), period=360.0, axis=0)


def bvh_text(track: TrackMotion, rest_joints: np.ndarray, fps: float, units: str = "m",
             names: Sequence[str] = SMPLX_JOINT_NAMES) -> str:
    """The BVH document of one track; ``rest_joints`` (55, 3) its neutral-expression rest
    joints, ``names`` the 55 joint names (see ``skeleton_names``)."""
    scale = UNIT_SCALES[units]
    order = _depth_first()
    angles = _euler_degrees(track.poses)[:, order]  # (T, 55, 3)
    root_position = (rest_joints[0] + track.trans_m) * scale  # (T, 3)
    values = np.concatenate([root_position, angles.reshape(track.num_frames, -1)], axis=1)
    table = io.StringIO()
    np.savetxt(table, values, fmt="%.6f", delimiter=" ")
    motion = f"MOTION\nFrames: {track.num_frames}\nFrame Time: {1.0 / fps:.8f}\n"
    return _hierarchy(rest_joints, scale, names) + motion + table.getvalue()


def write_bvh(motion: Motion, shape: RestShape, out: Path, units: str = "m",
              skeleton: str = "smplx") -> list[Path]:
    """One BVH per track (``out``, or ``<stem>_track<ID>.bvh`` for several tracks)."""
    if units not in UNIT_SCALES:
        raise ExportError(f"BVH units must be one of {sorted(UNIT_SCALES)}, got {units!r}")
    names = joint_names(skeleton)
    paths = per_track_paths(out, [t.track_id for t in motion.tracks], ".bvh")
    for track in motion.tracks:
        text = bvh_text(track, shape.rest_joints(track.betas), motion.fps, units, names)
        with atomic_output(paths[track.track_id]) as temp:
            temp.write_text(text)
    return list(paths.values())
