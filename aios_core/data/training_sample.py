"""One training image with its persons' annotations, read from a HumanData file.

Everything is in the pixels of the image as stored, before augmentation (``augment``) and before
conversion to network targets (``sample_targets``). Reading follows the official loader
(``datasets/humandata.py`` ``load_data`` and ``process_human_model_output_batch_simplify``):
persons whose body box is degenerate are dropped; a hand or face box counts when its
confidence is > 0; a part's SMPL-X parameters are only supervised where that part's box is
annotated; keypoints are mapped to the 'smplx_137' order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from aios_core.data.errors import HumanDataError
from aios_core.data.humandata import HumanDataFile, ImageGroup
from aios_core.data.keypoint_sets import HUMANDATA_144_TO_137

NUM_JOINTS = 137
PARTS = ("lhand", "rhand", "face")
_BODY_POSE_JOINTS = slice(0, 22)  # root + 21 body joints of the 53 pose joints
_PART_POSE_JOINTS = {"lhand": slice(22, 37), "rhand": slice(37, 52), "face": slice(52, 53)}
_PART_ROWS_137 = {"body": slice(0, 25), "lhand": slice(25, 45), "rhand": slice(45, 65),
                  "face": slice(65, 137)}


@dataclass
class TrainingSample:
    """An image and its N annotated persons (pixels of ``image``; boxes x1, y1, x2, y2)."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    body_boxes: np.ndarray  # (N, 4) float32
    part_boxes: np.ndarray  # (N, 3, 4) float32 left hand, right hand, face (dummy if invalid)
    part_box_valid: np.ndarray  # (N, 3) float32
    joints_2d: np.ndarray  # (N, 137, 3) float32 u, v, confidence
    # (N, 137) float32: confidence x "still inside the image" (official joint_trunc).
    joints_2d_trunc: np.ndarray
    joints_3d: np.ndarray  # (N, 137, 4) float32 x, y, z metres (camera axes), confidence
    has_3d: bool  # the data set provides 3-D joints (else joints_3d is zeros)
    smplx_pose: np.ndarray  # (N, 53, 3) float32 axis-angle
    smplx_pose_valid: np.ndarray  # (N, 53) float32
    smplx_shape: np.ndarray  # (N, 10) float32
    smplx_shape_valid: np.ndarray  # (N,) float32
    smplx_expr: np.ndarray  # (N, 10) float32
    smplx_expr_valid: np.ndarray  # (N,) float32
    # (N, 137) float32: which supervision joints the SMPL-X fit covers (official coord_valid).
    smplx_joint_valid: np.ndarray

    @property
    def num_persons(self) -> int:
        return self.body_boxes.shape[0]

    @property
    def size_hw(self) -> tuple[int, int]:
        return self.image.shape[0], self.image.shape[1]

    def select(self, persons: np.ndarray) -> TrainingSample:
        """The sample restricted to the persons ``persons`` (indices or a boolean mask)."""
        return replace(self, **{name: getattr(self, name)[persons] for name in _PERSON_FIELDS})


_PERSON_FIELDS = ("body_boxes", "part_boxes", "part_box_valid", "joints_2d", "joints_2d_trunc",
                  "joints_3d", "smplx_pose", "smplx_pose_valid", "smplx_shape",
                  "smplx_shape_valid", "smplx_expr", "smplx_expr_valid", "smplx_joint_valid")


def sanitized_box_xyxy(box_xywh: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """A pixel box clipped to the image as the official ``sanitize_bbox``; None if empty."""
    x, y, w, h = (float(v) for v in box_xywh[:4])
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
    if w <= 0 or h <= 0 or x2 < x1 or y2 < y1:
        return None
    return np.array([x1, y1, x2 + 1.0, y2 + 1.0], np.float32)


def read_image_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB; HumanDataError naming the file when it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise HumanDataError(f"{path}: image missing or not readable")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _to_137(keypoints: np.ndarray, file: HumanDataFile, key: str) -> np.ndarray:
    if keypoints.shape[1] == NUM_JOINTS:
        return keypoints
    if keypoints.shape[1] <= max(HUMANDATA_144_TO_137):
        raise file.error(key, f"has {keypoints.shape[1]} keypoints; expected the 144-point "
                         "'smplx' convention (or 137)")
    return keypoints[:, HUMANDATA_144_TO_137]


def _with_confidence(keypoints: np.ndarray, channels: int) -> np.ndarray:
    if keypoints.shape[2] == channels:
        return keypoints
    ones = np.ones(keypoints.shape[:2] + (1,), np.float32)
    return np.concatenate([keypoints[..., : channels - 1], ones], axis=-1)


class HumanDataSampleReader:
    """Reads ``TrainingSample``s of one HumanData file; images under ``image_dir``."""

    def __init__(self, file: HumanDataFile, image_dir: Path, *,
                 gate_joints_by_smplx: bool = False, force_2d: bool = False):
        # gate_joints_by_smplx: COCO / UBody style sets weight keypoints by the SMPL-X fit's
        # coverage; force_2d: a set whose 3-D joints are pseudo labels (COCO) is not 3-D.
        self.file = file
        self.image_dir = Path(image_dir)
        self.gate_joints_by_smplx = gate_joints_by_smplx
        self.force_2d = force_2d
        self._kps2d_key = file.default_keypoints2d_key()
        keys3d = [k for k in ("keypoints3d_cam", "keypoints3d", "keypoints3d_smplx",
                              "keypoints3d_smpl", "keypoints3d_original", "keypoints3d_gta")
                  if file.has(k)]
        self._kps3d_key = keys3d[0] if keys3d else None

    @property
    def groups(self) -> list[ImageGroup]:
        return self.file.image_groups

    def __len__(self) -> int:
        return self.file.num_images

    def read(self, image_index: int) -> TrainingSample:
        group = self.file.image_groups[image_index]
        image = read_image_rgb(self.image_dir / group.image_path)
        return self.annotations(group, image)

    def annotations(self, group: ImageGroup, image: np.ndarray) -> TrainingSample:
        """The sample of ``group`` on its (already read) ``image``."""
        f = self.file
        height, width = image.shape[:2]
        rows, body_boxes = [], []
        for row in group.instances.tolist():
            box = sanitized_box_xyxy(f.box_xywh("body")[row], width, height)
            if box is not None:
                rows.append(row)
                body_boxes.append(box)
        index = np.asarray(rows, np.int64)
        n = len(rows)

        part_boxes = np.tile(np.array([0, 0, 1, 1], np.float32), (n, 3, 1))
        part_annotated = np.zeros((n, 3), np.float32)  # box confidence > 0 in the file
        part_box_valid = np.zeros((n, 3), np.float32)
        for p, part in enumerate(PARTS):
            confidence = f.box_confidence(part)[index] if n else np.zeros(0)
            part_annotated[:, p] = confidence > 0
            for i, row in enumerate(rows):
                if confidence[i] <= 0:
                    continue
                box = sanitized_box_xyxy(f.box_xywh(part)[row], width, height)
                if box is not None:
                    part_boxes[i, p], part_box_valid[i, p] = box, 1.0

        # A part box only counts where the file also has that part's parameters.
        params = f.smplx
        part_box_valid *= np.array([params.has_hand_pose, params.has_hand_pose,
                                    params.has_expression], np.float32)

        joints_2d = _with_confidence(_to_137(f.keypoints(self._kps2d_key)[index], f,
                                             self._kps2d_key), 3)
        if self._kps3d_key is not None:
            joints_3d = _with_confidence(_to_137(f.keypoints(self._kps3d_key)[index], f,
                                                 self._kps3d_key), 4)
        else:
            joints_3d = np.zeros((n, NUM_JOINTS, 4), np.float32)
        if np.isnan(joints_3d).any() or np.isnan(joints_2d).any():
            raise f.error(self._kps3d_key or self._kps2d_key,
                          f"has NaN keypoints on image {group.image_path}")
        inside_source = (joints_2d[..., 0] >= 0) & (joints_2d[..., 1] >= 0)

        sample = TrainingSample(
            image=image, body_boxes=np.asarray(body_boxes, np.float32).reshape(n, 4),
            part_boxes=part_boxes, part_box_valid=part_box_valid,
            joints_2d=joints_2d.astype(np.float32),
            joints_2d_trunc=(inside_source * joints_2d[..., 2]).astype(np.float32),
            joints_3d=joints_3d.astype(np.float32),
            has_3d=self._kps3d_key is not None and not self.force_2d,
            **self._smplx_fields(index, part_annotated),
        )
        if self.gate_joints_by_smplx:
            gate = sample.smplx_joint_valid
            sample.joints_2d[..., 2] *= gate
            sample.joints_3d[..., 3] *= gate
        return sample

    def _smplx_fields(self, index: np.ndarray, part_annotated: np.ndarray) -> dict:
        """Pose / shape / expression targets and validities (official ``..._simplify``)."""
        f, n = self.file, len(index)
        params = f.smplx.take(index)
        smplx_valid = f.meta_array("smplx_valid")
        fit_valid = (np.ones(n, np.float32) if smplx_valid is None
                     else smplx_valid[index].astype(np.float32))
        part_valid = {
            "lhand": part_annotated[:, 0] * params.has_hand_pose,
            "rhand": part_annotated[:, 1] * params.has_hand_pose,
            "face": part_annotated[:, 2] * params.has_expression,
        }
        pose = np.concatenate([params.global_orient[:, None], params.body_pose,
                               params.left_hand_pose, params.right_hand_pose,
                               params.jaw_pose[:, None]], axis=1).astype(np.float32)
        pose_valid = np.ones((n, 53), np.float32)
        joint_valid = np.ones((n, NUM_JOINTS), np.float32)
        pose[:, _BODY_POSE_JOINTS] *= fit_valid[:, None, None]
        pose_valid[:, _BODY_POSE_JOINTS] *= fit_valid[:, None]
        joint_valid[:, _PART_ROWS_137["body"]] *= fit_valid[:, None]
        for part, joints in _PART_POSE_JOINTS.items():
            valid = part_valid[part] * fit_valid
            pose[:, joints] *= valid[:, None, None]
            pose_valid[:, joints] *= valid[:, None]
            joint_valid[:, _PART_ROWS_137[part]] *= valid[:, None]
        shape = params.betas[:, :10].astype(np.float32) * fit_valid[:, None]
        if shape.shape[1] < 10:
            shape = np.pad(shape, ((0, 0), (0, 10 - shape.shape[1])))
        expr = params.expression[:, :10].astype(np.float32)
        if expr.shape[1] < 10:
            expr = np.pad(expr, ((0, 0), (0, 10 - expr.shape[1])))
        expr_valid = fit_valid * part_valid["face"]
        if params.source == "smpl":  # SMPL fits: body rotations only, no expression
            pose_valid[:, 22:] = 0
            expr_valid = expr_valid * 0
            joint_valid[:] = 0
            joint_valid[:, _PART_ROWS_137["body"]] = 1
        return {
            "smplx_pose": pose, "smplx_pose_valid": pose_valid,
            "smplx_shape": shape, "smplx_shape_valid": fit_valid.copy(),
            "smplx_expr": expr * part_valid["face"][:, None],
            "smplx_expr_valid": expr_valid.astype(np.float32),
            "smplx_joint_valid": joint_valid,
        }
