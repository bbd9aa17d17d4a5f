"""The body points the world stage needs (skeleton and vertex-picked joints), posed cheaply.

The full body model poses all 10,475 vertices to return its 144 joints; the world stage needs
only the first 66 (55 skeleton joints, then the 11 vertex-picked face and foot joints, in the
body model's order) for every detection of a run, so this poses the skeleton and skins only
those 11 vertices, with ``smplx.lbs``'s own functions and the body model's own tensors. The
result equals the body model's joints[:, :66] (translation not added).
"""

from __future__ import annotations

import numpy as np
import torch
from smplx.lbs import batch_rigid_transform, batch_rodrigues

from aios_core.body.embedded_smplx import NUM_BODY_JOINTS, NUM_HAND_JOINTS, EmbeddedSMPLX

NUM_POINTS = 66


class SkeletonPoints:
    """rows (results-file fields, leading axis N) -> (N, 66, 3) float64 posed points."""

    def __init__(self, body_model: EmbeddedSMPLX):
        with torch.no_grad():
            model = body_model.cpu() if next(body_model.buffers()).is_cuda else body_model
            shapedirs = torch.cat([model.shapedirs, model.expr_dirs], -1).double()  # (V, 3, C)
            regressor = model.J_regressor.double()  # (J, V)
            self._joint_template = regressor @ model.v_template.double()  # (J, 3)
            self._joint_dirs = torch.einsum("jv,vkc->jkc", regressor, shapedirs)  # (J, 3, C)
            ids = model.vertex_joint_selector.extra_joints_idxs[:NUM_POINTS - 55].cpu()
            self._vertex_template = model.v_template[ids].double()  # (P, 3)
            self._vertex_dirs = shapedirs[ids]  # (P, 3, C)
            posedirs = model.posedirs.double().reshape(model.posedirs.shape[0], -1, 3)
            self._vertex_posedirs = posedirs[:, ids]  # (486, P, 3)
            self._vertex_weights = model.lbs_weights[ids].double()  # (P, J)
            self._parents = model.parents.cpu()
            self._pose_mean = model.pose_mean.double()
            self._num_betas = model.num_betas

    @torch.no_grad()
    def rest_pelvis(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        """(N, 3) the pelvis joint of each unposed body: the centre its root turns about."""
        shape = torch.cat([torch.as_tensor(np.asarray(rows[key], np.float64)).reshape(-1, 10)
                           for key in ("betas", "expression")], 1)
        return (self._joint_template[0] + shape @ self._joint_dirs[0].T).numpy()

    @torch.no_grad()
    def __call__(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        count = len(rows["global_orient"])

        def tensor(key: str, width: int) -> torch.Tensor:
            return torch.as_tensor(np.asarray(rows[key], np.float64)).reshape(count, width)

        full_pose = torch.cat([
            tensor("global_orient", 3), tensor("body_pose", NUM_BODY_JOINTS * 3),
            tensor("jaw_pose", 3), torch.zeros(count, 6),  # eyes
            tensor("left_hand_pose", NUM_HAND_JOINTS * 3),
            tensor("right_hand_pose", NUM_HAND_JOINTS * 3),
        ], 1) + self._pose_mean
        shape = torch.cat([tensor("betas", 10), tensor("expression", 10)], 1)  # (N, C)
        joints = self._joint_template + torch.einsum("jkc,nc->njk", self._joint_dirs, shape)
        rotations = batch_rodrigues(full_pose.reshape(-1, 3)).reshape(count, -1, 3, 3)
        posed_joints, transforms = batch_rigid_transform(rotations, joints, self._parents,
                                                         dtype=torch.float64)
        pose_feature = (rotations[:, 1:] - torch.eye(3, dtype=torch.float64)).reshape(count, -1)
        vertices = (self._vertex_template
                    + torch.einsum("pkc,nc->npk", self._vertex_dirs, shape)
                    + torch.einsum("nf,fpk->npk", pose_feature, self._vertex_posedirs))
        skinning = torch.einsum("pj,njab->npab", self._vertex_weights, transforms)  # (N, P, 4, 4)
        skinned = (skinning[..., :3, :3] @ vertices[..., None])[..., 0] + skinning[..., :3, 3]
        return torch.cat([posed_joints, skinned], 1).numpy()
