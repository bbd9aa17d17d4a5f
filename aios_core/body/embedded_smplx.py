"""SMPL-X as a buffer-holding submodule of the network (the official ``body_model``).

The official network keeps a detrsmpl ``SMPLX`` (a subclass of ``smplx.SMPLX``) as
``self.body_model``, so the checkpoint carries all SMPL-X tensors under ``body_model.*``. This
module declares the same parameters and buffers (names, shapes, dtypes) without needing the
SMPL-X files: they are allocated empty and filled when a checkpoint (or a model folder) is loaded.
Its forward reproduces ``smplx.SMPLX.forward`` with the ``smplx.lbs`` functions; the official
inference wrapper converts keypoints from 'smplx' to 'smplx', an identity, so the 144 raw SMPL-X
joints are returned in SMPL-X order (55 skeleton joints, 21 vertex-picked extras, 68 landmarks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from smplx.lbs import find_dynamic_lmk_idx_and_bcoords, lbs, vertices2landmarks
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS
from torch import Tensor, nn

from aios_core.assets import SMPLX_FILENAME, resolve_smplx_dir
from aios_core.body.keypoints import SMPLX_PARENTS
from aios_core.body.smplx_model import (
    NUM_BODY_JOINTS,
    NUM_FACES,
    NUM_HAND_JOINTS,
    NUM_VERTICES,
    build_smplx_layer,
)

NUM_JOINTS = 55  # root + 21 body + jaw + 2 eyes + 2 x 15 hand joints
NUM_POSE_BLEND = (NUM_JOINTS - 1) * 9
NUM_STATIC_LANDMARKS = 51
NUM_CONTOUR_LANDMARKS = 17
NUM_DYNAMIC_LMK_ANGLES = 79
NUM_OUTPUT_JOINTS = 144
NECK_JOINT = 12

def _extra_joint_vertex_ids() -> list[int]:
    """Vertices copied as extra joints, in smplx's VertexJointSelector order (face, feet, tips)."""
    ids = SMPLX_VERTEX_IDS["smplx"]
    names = ["nose", "reye", "leye", "rear", "lear"]
    names += ["LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"]
    names += [side + tip for side in "lr" for tip in ("thumb", "index", "middle", "ring", "pinky")]
    return [int(ids[name]) for name in names]


def _kinematic_chain(joint: int, parents: list[int]) -> list[int]:
    chain = []
    while joint != -1:
        chain.append(joint)
        joint = parents[joint]
    return chain


class _VertexJointSelector(nn.Module):
    """Holds ``extra_joints_idxs`` under the official submodule name."""

    def __init__(self):
        super().__init__()
        self.register_buffer(
            "extra_joints_idxs", torch.tensor(_extra_joint_vertex_ids(), dtype=torch.long)
        )

    def forward(self, vertices: Tensor, joints: Tensor) -> Tensor:
        extra = torch.index_select(vertices, 1, self.extra_joints_idxs)
        return torch.cat([joints, extra], dim=1)


@dataclass
class BodyModelOutput:
    joints: Tensor  # (N, 144, 3) metres, SMPL-X joint order
    vertices: Tensor  # (N, 10475, 3) metres


def _frozen(*shape: int) -> nn.Parameter:
    return nn.Parameter(torch.zeros(shape), requires_grad=False)


class EmbeddedSMPLX(nn.Module):
    """Neutral SMPL-X: 10 betas, 10 expression coefficients, full (non-PCA) hands, face contour.

    State-dict layout equals ``smplx.SMPLX(..., use_pca=False, use_face_contour=True)``.
    """

    def __init__(self, num_betas: int = 10, num_expression_coeffs: int = 10):
        super().__init__()
        v, f = NUM_VERTICES, NUM_FACES
        self.num_betas = num_betas
        self.num_expression_coeffs = num_expression_coeffs
        # Registration order mirrors smplx (SMPL, then SMPL-H, then SMPL-X additions).
        self.register_buffer("shapedirs", torch.zeros(v, 3, num_betas))
        self.vertex_joint_selector = _VertexJointSelector()
        self.register_buffer("faces_tensor", torch.zeros(f, 3, dtype=torch.long))
        self.betas = _frozen(1, num_betas)
        self.global_orient = _frozen(1, 3)
        self.body_pose = _frozen(1, NUM_BODY_JOINTS * 3)
        self.transl = _frozen(1, 3)
        self.register_buffer("v_template", torch.zeros(v, 3))
        self.register_buffer("J_regressor", torch.zeros(NUM_JOINTS, v))
        self.register_buffer("posedirs", torch.zeros(NUM_POSE_BLEND, v * 3))
        self.register_buffer("parents", torch.tensor(list(SMPLX_PARENTS), dtype=torch.long))
        self.register_buffer("lbs_weights", torch.zeros(v, NUM_JOINTS))
        self.register_buffer("left_hand_mean", torch.zeros(NUM_HAND_JOINTS * 3))
        self.register_buffer("right_hand_mean", torch.zeros(NUM_HAND_JOINTS * 3))
        self.left_hand_pose = _frozen(1, NUM_HAND_JOINTS * 3)
        self.right_hand_pose = _frozen(1, NUM_HAND_JOINTS * 3)
        self.register_buffer("pose_mean", torch.zeros(NUM_JOINTS * 3))
        self.register_buffer("lmk_faces_idx", torch.zeros(NUM_STATIC_LANDMARKS, dtype=torch.long))
        self.register_buffer("lmk_bary_coords", torch.zeros(NUM_STATIC_LANDMARKS, 3))
        self.register_buffer(
            "dynamic_lmk_faces_idx",
            torch.zeros(NUM_DYNAMIC_LMK_ANGLES, NUM_CONTOUR_LANDMARKS, dtype=torch.long),
        )
        self.register_buffer(
            "dynamic_lmk_bary_coords",
            torch.zeros(NUM_DYNAMIC_LMK_ANGLES, NUM_CONTOUR_LANDMARKS, 3),
        )
        self.register_buffer(
            "neck_kin_chain",
            torch.tensor(_kinematic_chain(NECK_JOINT, list(SMPLX_PARENTS)), dtype=torch.long),
        )
        self.jaw_pose = _frozen(1, 3)
        self.leye_pose = _frozen(1, 3)
        self.reye_pose = _frozen(1, 3)
        self.register_buffer("expr_dirs", torch.zeros(v, 3, num_expression_coeffs))
        self.expression = _frozen(1, num_expression_coeffs)

    @classmethod
    def from_model_folder(cls, model_dir: str | os.PathLike) -> EmbeddedSMPLX:
        """Fill the buffers from ``SMPLX_NEUTRAL.npz`` in ``model_dir`` (the folder, its parent or
        the file, as ``resolve_smplx_dir`` takes it) via the smplx package."""
        reference = build_smplx_layer(resolve_smplx_dir(model_dir) / SMPLX_FILENAME)
        model = cls()
        model.load_state_dict(reference.state_dict())
        return model

    def forward(
        self,
        betas: Tensor,
        global_orient: Tensor,
        body_pose: Tensor,
        left_hand_pose: Tensor,
        right_hand_pose: Tensor,
        jaw_pose: Tensor,
        leye_pose: Tensor,
        reye_pose: Tensor,
        expression: Tensor,
    ) -> BodyModelOutput:
        """Axis-angle poses, any leading shape that flattens to N rows of 3 per joint:
        global_orient (N, 3), body_pose (N, 63), hands (N, 45), jaw/eyes (N, 3);
        betas (N, 10), expression (N, 10). The ``transl`` parameter is added, as smplx does."""
        full_pose = torch.cat(
            [
                global_orient.reshape(-1, 1, 3),
                body_pose.reshape(-1, NUM_BODY_JOINTS, 3),
                jaw_pose.reshape(-1, 1, 3),
                leye_pose.reshape(-1, 1, 3),
                reye_pose.reshape(-1, 1, 3),
                left_hand_pose.reshape(-1, NUM_HAND_JOINTS, 3),
                right_hand_pose.reshape(-1, NUM_HAND_JOINTS, 3),
            ],
            dim=1,
        ).reshape(-1, NUM_JOINTS * 3)
        # The mean pose only affects the hands (their mean relaxed pose, flat_hand_mean=False).
        full_pose += self.pose_mean

        batch = max(betas.shape[0], global_orient.shape[0], body_pose.shape[0])
        if batch // betas.shape[0] > 1:
            betas = betas.expand(batch // betas.shape[0], -1)
        shape_components = torch.cat([betas, expression], dim=-1)
        shapedirs = torch.cat([self.shapedirs, self.expr_dirs], dim=-1)
        vertices, joints = lbs(
            shape_components,
            full_pose,
            self.v_template,
            shapedirs,
            self.posedirs,
            self.J_regressor,
            self.parents,
            self.lbs_weights,
            pose2rot=True,
        )

        lmk_faces_idx = self.lmk_faces_idx.unsqueeze(0).expand(batch, -1).contiguous()
        contour_faces, contour_bary = find_dynamic_lmk_idx_and_bcoords(
            vertices,
            full_pose,
            self.dynamic_lmk_faces_idx,
            self.dynamic_lmk_bary_coords,
            self.neck_kin_chain,
            pose2rot=True,
        )
        lmk_faces_idx = torch.cat([lmk_faces_idx, contour_faces], 1)
        lmk_bary_coords = torch.cat(
            [self.lmk_bary_coords.unsqueeze(0).expand(batch, -1, -1), contour_bary], 1
        )
        landmarks = vertices2landmarks(vertices, self.faces_tensor, lmk_faces_idx, lmk_bary_coords)

        joints = self.vertex_joint_selector(vertices, joints)
        joints = torch.cat([joints, landmarks], dim=1)  # (N, 144, 3)
        joints = joints + self.transl.unsqueeze(1)
        vertices = vertices + self.transl.unsqueeze(1)
        return BodyModelOutput(joints=joints, vertices=vertices)


def random_body_model_buffers(model: EmbeddedSMPLX, generator: torch.Generator) -> None:
    """Fill an unloaded model with plausible random data (tests and smoke runs without SMPL-X).

    Vertices near the origin, skinning weights that sum to one, a regressor that averages
    vertices, valid face and landmark indices; the kinematic tree is already real.
    """
    v = NUM_VERTICES
    with torch.no_grad():
        model.v_template.copy_(torch.rand(v, 3, generator=generator) - 0.5)
        model.shapedirs.normal_(0, 1e-3, generator=generator)
        model.expr_dirs.normal_(0, 1e-3, generator=generator)
        model.posedirs.normal_(0, 1e-4, generator=generator)
        weights = torch.rand(v, NUM_JOINTS, generator=generator)
        model.lbs_weights.copy_(weights / weights.sum(1, keepdim=True))
        regressor = torch.rand(NUM_JOINTS, v, generator=generator)
        model.J_regressor.copy_(regressor / regressor.sum(1, keepdim=True))
        model.faces_tensor.copy_(torch.randint(0, v, (NUM_FACES, 3), generator=generator))
        model.lmk_faces_idx.random_(0, NUM_FACES, generator=generator)
        model.dynamic_lmk_faces_idx.random_(0, NUM_FACES, generator=generator)
        bary = torch.rand(NUM_STATIC_LANDMARKS, 3, generator=generator)
        model.lmk_bary_coords.copy_(bary / bary.sum(-1, keepdim=True))
        bary = torch.rand(NUM_DYNAMIC_LMK_ANGLES, NUM_CONTOUR_LANDMARKS, 3, generator=generator)
        model.dynamic_lmk_bary_coords.copy_(bary / bary.sum(-1, keepdim=True))
        hand_mean = torch.from_numpy(np.linspace(-0.2, 0.2, NUM_HAND_JOINTS * 3, dtype=np.float32))
        model.left_hand_mean.copy_(hand_mean)
        model.right_hand_mean.copy_(-hand_mean)
        model.pose_mean.zero_()
        model.pose_mean[-2 * NUM_HAND_JOINTS * 3 :] = torch.cat([hand_mean, -hand_mean])
