"""SMPL-X parameters of HumanData instances, and the parsing of a file's parameter dict."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core.data.errors import HumanDataError

# smplx dict entry -> joints (3-vectors) per person.
_SMPLX_POSE_JOINTS: dict[str, int] = {
    "global_orient": 1, "body_pose": 21, "left_hand_pose": 15, "right_hand_pose": 15,
    "jaw_pose": 1, "leye_pose": 1, "reye_pose": 1,
}


@dataclass(frozen=True)
class SmplxParams:
    """SMPL-X parameters of N instances, axis-angle radians, float32 numpy arrays.

    Parts a file does not annotate are zeros and flagged by the ``has_*`` fields. ``betas`` and
    ``expression`` keep the file's width (consumers of a 10-coefficient model take ``[:, :10]``,
    as AiOS does).
    """

    global_orient: np.ndarray  # (N, 3)
    body_pose: np.ndarray  # (N, 21, 3)
    left_hand_pose: np.ndarray  # (N, 15, 3) offsets from the mean hand pose
    right_hand_pose: np.ndarray  # (N, 15, 3)
    jaw_pose: np.ndarray  # (N, 3)
    leye_pose: np.ndarray  # (N, 3)
    reye_pose: np.ndarray  # (N, 3)
    betas: np.ndarray  # (N, B)
    expression: np.ndarray  # (N, E)
    transl_m: np.ndarray  # (N, 3) metres
    source: str  # 'smplx', 'smplh' or 'smpl': which dict of the file these came from
    has_betas: bool
    has_hand_pose: bool
    has_expression: bool

    def __len__(self) -> int:
        return self.global_orient.shape[0]

    def take(self, index: np.ndarray | list[int] | slice) -> SmplxParams:
        """The parameters of a subset of instances (rows ``index``)."""
        arrays = {name: getattr(self, name)[index] for name in _PARAM_ARRAYS}
        return SmplxParams(**arrays, source=self.source, has_betas=self.has_betas,
                           has_hand_pose=self.has_hand_pose,
                           has_expression=self.has_expression)

    @staticmethod
    def concatenate(parts: list[SmplxParams]) -> SmplxParams:
        """The instances of every part, in order (same ``source`` and widths required)."""
        if not parts:
            raise ValueError("concatenate needs at least one SmplxParams")
        arrays = {name: np.concatenate([getattr(p, name) for p in parts])
                  for name in _PARAM_ARRAYS}
        first = parts[0]
        return SmplxParams(**arrays, source=first.source,
                           has_betas=all(p.has_betas for p in parts),
                           has_hand_pose=all(p.has_hand_pose for p in parts),
                           has_expression=all(p.has_expression for p in parts))

    def full_pose(self) -> np.ndarray:
        """(N, 55, 3) pose in SMPL-X joint order: root, 21 body, jaw, eyes, 15 + 15 hands."""
        return np.concatenate([
            self.global_orient[:, None], self.body_pose, self.jaw_pose[:, None],
            self.leye_pose[:, None], self.reye_pose[:, None], self.left_hand_pose,
            self.right_hand_pose,
        ], axis=1)


_PARAM_ARRAYS = (
    "global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose",
    "leye_pose", "reye_pose", "betas", "expression", "transl_m",
)


def parse_body_model_dict(params: dict, source: str, count: int, location: str) -> SmplxParams:
    """The ``smplx`` / ``smpl`` / ``smplh`` dict of a file (``source``) for ``count`` instances.

    SMPL / SMPL+H dicts are converted as AiOS does: the first 21 body joints are kept and the
    betas (another model's shape space) are replaced by zeros. ``location`` (the file) starts
    every error message.
    """

    def error(name: str, problem: str) -> HumanDataError:
        return HumanDataError(f"{location}: key '{source}.{name}' {problem}")

    def pose(name: str, joints: int, required: bool) -> np.ndarray | None:
        if name not in params:
            if required:
                raise error(name, "missing")
            return None
        value = np.asarray(params[name], dtype=np.float32)
        per_instance = value.size // count if count else 3 * joints
        if (value.ndim < 1 or value.shape[0] != count or value.size != count * per_instance
                or per_instance % 3 or per_instance < 3 * joints):
            raise error(name, f"must have shape ({count}, {3 * joints}), got {value.shape}")
        # SMPL body poses carry 23 joints; keep the first `joints` (21 shared with SMPL-X).
        return value.reshape(count, per_instance // 3, 3)[:, :joints].copy()

    def coefficients(name: str, width: int | None = None) -> np.ndarray | None:
        if name not in params:
            return None
        value = np.asarray(params[name], dtype=np.float32)
        if value.ndim != 2 or value.shape[0] != count or (width and value.shape[1] != width):
            raise error(name, f"must have shape ({count}, {width or 'K'}), got {value.shape}")
        return value

    zeros3 = np.zeros((count, 3), np.float32)
    poses = {name: pose(name, joints, required=name in ("global_orient", "body_pose"))
             for name, joints in _SMPLX_POSE_JOINTS.items()}

    def single_joint(name: str) -> np.ndarray:
        return poses[name][:, 0] if poses[name] is not None else zeros3.copy()

    lhand, rhand = poses["left_hand_pose"], poses["right_hand_pose"]
    betas = coefficients("betas") if source == "smplx" else None
    expression = coefficients("expression")
    transl = coefficients("transl", 3)
    no_hand = np.zeros((count, 15, 3), np.float32)
    return SmplxParams(
        global_orient=single_joint("global_orient"),
        body_pose=poses["body_pose"],
        left_hand_pose=lhand if lhand is not None else no_hand,
        right_hand_pose=rhand if rhand is not None else no_hand.copy(),
        jaw_pose=single_joint("jaw_pose"),
        leye_pose=single_joint("leye_pose"),
        reye_pose=single_joint("reye_pose"),
        betas=betas if betas is not None else np.zeros((count, 10), np.float32),
        expression=expression if expression is not None else np.zeros((count, 10), np.float32),
        transl_m=transl if transl is not None else zeros3.copy(),
        source=source,
        has_betas=betas is not None,
        has_hand_pose=lhand is not None and rhand is not None,
        has_expression=expression is not None,
    )
