"""SMPL-X body model configured as AiOS uses it, batched over people.

Coordinate frames
-----------------
* SMPL-X canonical frame (the model's rest pose): y up, x towards the body's left, z out of
  the body's front; metres. A zero ``global_orient`` leaves the body upright in this frame.
* AiOS camera frame (OpenCV): x right, y down, z forward; metres. AiOS predicts a
  ``global_orient`` that already turns the body into the camera frame (upright people in an
  image come with roughly a 180 degree rotation about x), and the vertices / joints returned
  here, plus ``aios_core.body.camera.aios_cam_to_translation(pred_cam)``, are camera-frame
  coordinates. This module itself applies no translation.

Model configuration (the official ``body_model`` config handed to detrsmpl's ``SMPLX``, a thin
subclass of ``smplx.SMPLX``): neutral gender, 10 betas, 10 expression coefficients, full
axis-angle hand poses (``use_pca=False``), ``flat_hand_mean=False`` (the smplx default, which
the config does not override: predicted hand poses are offsets from the model's mean hand
pose), face contour on (144 output joints, see ``aios_core.body.keypoints``). The eye poses
are zero.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import smplx
from torch import Tensor, nn

from aios_core.assets import SMPLX_FILENAME, resolve_smplx_dir
from aios_core.body.keypoints import NUM_SMPLX_KEYPOINTS, select_smplx_137

NUM_VERTICES = 10475
NUM_FACES = 20908
NUM_BETAS = 10
NUM_EXPRESSION_COEFFS = 10
NUM_BODY_JOINTS = 21
NUM_HAND_JOINTS = 15

# name -> joints per person (each an axis-angle 3-vector), in the order forward() takes them.
_POSE_JOINTS = {
    "global_orient": 1,
    "body_pose": NUM_BODY_JOINTS,
    "left_hand_pose": NUM_HAND_JOINTS,
    "right_hand_pose": NUM_HAND_JOINTS,
    "jaw_pose": 1,
}


@dataclass(frozen=True)
class SmplxOutput:
    """Posed SMPL-X meshes for N people (SMPL-X frame rotated by global_orient, no transl)."""

    vertices: Tensor  # (N, 10475, 3) metres
    joints: Tensor  # (N, 144, 3) metres, smplx order (aios_core.body.keypoints)

    @property
    def keypoints_137(self) -> Tensor:
        """(N, 137, 3) joints in AiOS' 'smplx_137' evaluation order."""
        return select_smplx_137(self.joints)


class SmplxModel(nn.Module):
    """The AiOS SMPL-X configuration over ``smplx.SMPLX``; see the module docstring."""

    def __init__(self, model_dir: str | os.PathLike | None = None):
        """``model_dir``: folder with SMPLX_NEUTRAL.npz (or its parent, or the file itself);
        None uses the default asset layout. Raises AssetNotFoundError if the file is absent."""
        super().__init__()
        folder = resolve_smplx_dir(model_dir)
        try:
            self.layer = smplx.SMPLX(
                str(folder),
                gender="neutral",
                num_betas=NUM_BETAS,
                num_expression_coeffs=NUM_EXPRESSION_COEFFS,
                use_pca=False,
                flat_hand_mean=False,
                use_face_contour=True,
                ext="npz",
            )
        except (AttributeError, KeyError, ValueError) as error:
            raise ValueError(
                f"{folder / SMPLX_FILENAME} is not a usable SMPL-X model file: {error}"
            ) from error
        if self.layer.get_num_verts() != NUM_VERTICES:
            raise ValueError(
                f"{folder / SMPLX_FILENAME} has {self.layer.get_num_verts()} vertices, "
                f"expected {NUM_VERTICES} (SMPL-X)"
            )
        self.model_path = folder / SMPLX_FILENAME
        for parameter in self.layer.parameters():
            parameter.requires_grad_(False)

    @property
    def faces(self) -> np.ndarray:
        """(20908, 3) int64 vertex indices of the mesh triangles."""
        return np.asarray(self.layer.faces, dtype=np.int64)

    def forward(
        self,
        global_orient: Tensor,
        body_pose: Tensor,
        left_hand_pose: Tensor,
        right_hand_pose: Tensor,
        jaw_pose: Tensor,
        betas: Tensor,
        expression: Tensor,
    ) -> SmplxOutput:
        """Pose N people at once; all poses axis-angle in radians.

        Shapes (a flat (N, J*3) layout is accepted too): global_orient (N, 3), body_pose
        (N, 21, 3), left_hand_pose / right_hand_pose (N, 15, 3) relative to the mean hand
        pose, jaw_pose (N, 3), betas (N, 10), expression (N, 10).
        """
        poses = {
            "global_orient": global_orient,
            "body_pose": body_pose,
            "left_hand_pose": left_hand_pose,
            "right_hand_pose": right_hand_pose,
            "jaw_pose": jaw_pose,
        }
        count = global_orient.shape[0]
        flat = {name: self._as_flat(name, value, count, 3 * _POSE_JOINTS[name])
                for name, value in poses.items()}
        flat["betas"] = self._as_flat("betas", betas, count, NUM_BETAS)
        flat["expression"] = self._as_flat("expression", expression, count,
                                           NUM_EXPRESSION_COEFFS)
        if count == 0:
            empty = self.layer.v_template.new_zeros
            return SmplxOutput(vertices=empty(0, NUM_VERTICES, 3),
                               joints=empty(0, NUM_SMPLX_KEYPOINTS, 3))
        zero_eye = flat["jaw_pose"].new_zeros(count, 3)
        output = self.layer(
            **flat,
            leye_pose=zero_eye,
            reye_pose=zero_eye,
            return_verts=True,
            return_shaped=False,
        )
        return SmplxOutput(vertices=output.vertices, joints=output.joints)

    def _as_flat(self, name: str, value: Tensor, count: int, width: int) -> Tensor:
        """Check that ``value`` holds ``width`` numbers per person; return it as (N, width)."""
        if value.dim() < 1 or value.shape[0] != count or math.prod(value.shape[1:]) != width:
            raise ValueError(
                f"{name}: expected {count} people x {width} values, got {tuple(value.shape)}"
            )
        template = self.layer.v_template
        return value.reshape(count, width).to(device=template.device, dtype=template.dtype)
