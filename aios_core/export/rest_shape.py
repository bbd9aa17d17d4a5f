"""The shape-dependent rest geometry of an SMPL-X body, as numpy arrays for the exporters.

SMPL-X regresses its 55 skeleton joints from the shaped template
``v_shaped = v_template + shapedirs . betas + expr_dirs . expression``, so joint positions are
linear in (betas, expression). ``RestShape`` precomputes that map in joint space once, which
makes per-frame rest joints cheap.
"""

from __future__ import annotations

import numpy as np
import torch

from aios_core.body.smplx_model import NUM_BETAS, NUM_EXPRESSION_COEFFS, SmplxModel


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64)


class RestShape:
    """Rest (unposed) joints, template and skinning data of one SMPL-X model file."""

    def __init__(self, body: SmplxModel | torch.nn.Module):
        """``body``: a SmplxModel, or a module holding the same SMPL-X buffers itself (the
        checkpoint's embedded body model: v_template, shapedirs, expr_dirs, J_regressor,
        lbs_weights, left/right_hand_mean, faces_tensor)."""
        layer = getattr(body, "layer", body)
        self.v_template = _numpy(layer.v_template)  # (V, 3)
        self.shape_dirs = _numpy(layer.shapedirs)[..., :NUM_BETAS]  # (V, 3, 10)
        self.expression_dirs = _numpy(layer.expr_dirs)[..., :NUM_EXPRESSION_COEFFS]  # (V, 3, 10)
        self.joint_regressor = _numpy(layer.J_regressor)  # (55, V)
        self.skinning_weights = _numpy(layer.lbs_weights)  # (V, 55)
        self.faces = (body.faces if isinstance(body, SmplxModel)
                      else layer.faces_tensor.cpu().numpy().astype(np.int64))  # (F, 3)
        # smplx adds these mean hand poses to the predicted (relative) ones: flat_hand_mean=False.
        self.left_hand_mean = _numpy(layer.left_hand_mean).reshape(15, 3)
        self.right_hand_mean = _numpy(layer.right_hand_mean).reshape(15, 3)
        # Joint-space versions of the template and the blend shapes (joints are linear in them).
        self._template_joints = self.joint_regressor @ self.v_template  # (55, 3)
        self._joint_shape_dirs = np.einsum("jv,vcb->jcb", self.joint_regressor, self.shape_dirs)
        self._joint_expression_dirs = np.einsum(
            "jv,vcb->jcb", self.joint_regressor, self.expression_dirs
        )

    def rest_joints(self, betas: np.ndarray, expression: np.ndarray | None = None) -> np.ndarray:
        """(..., 10) betas [and (..., 10) expression] -> (..., 55, 3) rest joints in metres."""
        betas = np.asarray(betas, dtype=np.float64)
        joints = self._template_joints + np.einsum("jcb,...b->...jc", self._joint_shape_dirs,
                                                   betas)
        if expression is not None:
            joints = joints + np.einsum("jcb,...b->...jc", self._joint_expression_dirs,
                                        np.asarray(expression, dtype=np.float64))
        return joints

    def shaped_template(self, betas: np.ndarray) -> np.ndarray:
        """(10,) betas -> (V, 3) rest vertices with a neutral expression, metres."""
        return self.v_template + self.shape_dirs @ np.asarray(betas, dtype=np.float64)
