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
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
from torch import Tensor, nn

from aios_core.assets import SMPLX_FILENAME, resolve_smplx_dir
from aios_core.body.keypoints import NUM_SMPLX_KEYPOINTS, select_smplx_137
from aios_core.errors import AiosError
from aios_core.person import BODY_MODEL_FIELDS, PERSON_SHAPES

NUM_VERTICES = 10475
NUM_FACES = 20908
NUM_BETAS = 10
NUM_EXPRESSION_COEFFS = 10
NUM_BODY_JOINTS = 21
NUM_HAND_JOINTS = 15



# What smplx / numpy raise for a file that is not an SMPL-X model (garbage, truncated, other npz).
_UNREADABLE = (OSError, EOFError, AttributeError, KeyError, ValueError, pickle.UnpicklingError,
               zipfile.BadZipFile)


class SmplxFileError(AiosError, ValueError):
    """An SMPL-X model file that exists but cannot be used."""


def build_smplx_layer(model_file: str | os.PathLike,
                      kid_template: str | os.PathLike | None = None) -> smplx.SMPLX:
    """``smplx.SMPLX`` in the AiOS configuration (module docstring) from one model file
    (``SMPLX_NEUTRAL.npz``, or a gendered one); frozen, in eval mode.

    ``kid_template``: AGORA's ``smplx_kid_template.npy``, for the kid model (an 11th beta
    blends towards the kid template). Raises SmplxFileError for a file smplx cannot use.
    """
    path = Path(model_file)
    kid = {} if kid_template is None else {"age": "kid", "kid_template_path": str(kid_template)}
    try:
        layer = smplx.SMPLX(
            str(path),
            num_betas=NUM_BETAS,
            num_expression_coeffs=NUM_EXPRESSION_COEFFS,
            use_pca=False,
            flat_hand_mean=False,
            use_face_contour=True,
            **kid,
        )
    except _UNREADABLE as error:
        raise SmplxFileError(f"{path} is not a usable SMPL-X model file: {error}") from error
    if layer.get_num_verts() != NUM_VERTICES:
        raise SmplxFileError(
            f"{path} has {layer.get_num_verts()} vertices, expected {NUM_VERTICES} (SMPL-X)"
        )
    for parameter in layer.parameters():
        parameter.requires_grad_(False)
    return layer.eval()


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
        None uses the default asset layout. Raises AssetNotFoundError if the file is absent,
        SmplxFileError if it is not a usable SMPL-X model."""
        super().__init__()
        self.model_path = resolve_smplx_dir(model_dir) / SMPLX_FILENAME
        self.layer = build_smplx_layer(self.model_path)

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
        given = {
            "global_orient": global_orient,
            "body_pose": body_pose,
            "left_hand_pose": left_hand_pose,
            "right_hand_pose": right_hand_pose,
            "jaw_pose": jaw_pose,
            "betas": betas,
            "expression": expression,
        }
        count = global_orient.shape[0]
        flat = {name: self._as_flat(name, given[name], count, math.prod(PERSON_SHAPES[name]))
                for name in BODY_MODEL_FIELDS}
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
