"""``--skeleton``: the joint names BVH, glTF and FBX exports give the 55 SMPL-X joints.

The skeleton itself (hierarchy, rest offsets, rotations) is always SMPL-X's; only the names
change, so that retargeting tools map the joints without manual work:

* ``smplx`` (default): ``aios_core.body.keypoints.SMPLX_JOINT_NAMES`` (``pelvis``,
  ``left_hip``, ...).
* ``mixamo``: Mixamo's ``mixamorig:`` names (``mixamorig:Hips``, ``mixamorig:LeftUpLeg``, ...),
  which Mixamo-rigged characters use, which Blender retargeting add-ons (Rokoko, Auto-Rig Pro,
  Expy Kit) recognise as a preset, and which Unity's Humanoid avatar maps automatically.
* ``unreal``: the Unreal Engine mannequin's names (``pelvis``, ``thigh_l``, ``spine_01``, ...).

SMPL-X's rest pose is a T-pose (arms straight out along the body's x axis, palms down, flat
fingers, feet parallel), like a Mixamo or Unreal T-pose, so no rest-pose correction is needed
before retargeting. SMPL-X has three spine joints (as Mixamo: Spine, Spine1, Spine2), one
neck joint, and three joints per finger (Mixamo's ``...1`` to ``...3``; its fourth, the finger
tip, is the BVH ``End Site``). Face: SMPL-X's jaw and two eyeballs become ``Jaw`` /
``LeftEye`` / ``RightEye`` (Unity Humanoid's optional Jaw and Eye bones; Mixamo's standard rig
has eyes but no jaw, so a retargeter without a jaw bone simply drops it); expression blend
shapes are not part of any skeleton. The full table is ``SKELETON_JOINT_NAMES``.
"""

from __future__ import annotations

from aios_core.body.keypoints import SMPLX_JOINT_NAMES
from aios_core.export.motion import ExportError

# SMPL-X body joint -> (Mixamo name without the prefix, Unreal mannequin name).
_BODY_NAMES: dict[str, tuple[str, str]] = {
    "pelvis": ("Hips", "pelvis"),
    "left_hip": ("LeftUpLeg", "thigh_l"), "right_hip": ("RightUpLeg", "thigh_r"),
    "spine_1": ("Spine", "spine_01"),
    "left_knee": ("LeftLeg", "calf_l"), "right_knee": ("RightLeg", "calf_r"),
    "spine_2": ("Spine1", "spine_02"),
    "left_ankle": ("LeftFoot", "foot_l"), "right_ankle": ("RightFoot", "foot_r"),
    "spine_3": ("Spine2", "spine_03"),
    "left_foot": ("LeftToeBase", "ball_l"), "right_foot": ("RightToeBase", "ball_r"),
    "neck": ("Neck", "neck_01"),
    "left_collar": ("LeftShoulder", "clavicle_l"), "right_collar": ("RightShoulder", "clavicle_r"),
    "head": ("Head", "head"),
    "left_shoulder": ("LeftArm", "upperarm_l"), "right_shoulder": ("RightArm", "upperarm_r"),
    "left_elbow": ("LeftForeArm", "lowerarm_l"), "right_elbow": ("RightForeArm", "lowerarm_r"),
    "left_wrist": ("LeftHand", "hand_l"), "right_wrist": ("RightHand", "hand_r"),
    "jaw": ("Jaw", "jaw"),
    "left_eyeball": ("LeftEye", "eye_l"), "right_eyeball": ("RightEye", "eye_r"),
}
MIXAMO_PREFIX = "mixamorig:"


def _finger_names(smplx_name: str) -> tuple[str, str]:
    """``left_index_2`` -> (``LeftHandIndex2``, ``index_02_l``)."""
    side, finger, segment = smplx_name.split("_")
    return (f"{side.capitalize()}Hand{finger.capitalize()}{segment}",
            f"{finger}_0{segment}_{side[0]}")


def _names(column: int, prefix: str = "") -> tuple[str, ...]:
    return tuple(prefix + (_BODY_NAMES[name] if name in _BODY_NAMES else _finger_names(name))
                 [column] for name in SMPLX_JOINT_NAMES)


SKELETON_JOINT_NAMES: dict[str, tuple[str, ...]] = {
    "smplx": SMPLX_JOINT_NAMES,
    "mixamo": _names(0, MIXAMO_PREFIX),
    "unreal": _names(1),
}
SKELETONS = tuple(SKELETON_JOINT_NAMES)


def joint_names(skeleton: str) -> tuple[str, ...]:
    """The 55 joint names (SMPL-X joint order) of ``skeleton``; unknown names list the known."""
    try:
        return SKELETON_JOINT_NAMES[skeleton]
    except KeyError:
        raise ExportError(f"unknown --skeleton {skeleton!r}; known skeletons: "
                                   f"{', '.join(SKELETONS)}") from None
