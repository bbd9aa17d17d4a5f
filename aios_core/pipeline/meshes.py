"""SMPL-X meshes in the camera frame from results-file rows."""

from __future__ import annotations

import numpy as np
import torch

from aios_core.model.embedded_body_model import EmbeddedSMPLX


class MeshMaker:
    """Poses the body model for the rows of one frame; vertices in camera metres."""

    def __init__(self, body_model: EmbeddedSMPLX):
        self.body_model = body_model.eval()
        self.faces = body_model.faces_tensor.cpu().numpy()  # (F, 3)

    @torch.inference_mode()
    def vertices(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        """rows: results-file fields with a leading axis N -> (N, V, 3) float32."""
        param = next(self.body_model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")

        def tensor(key: str, width: int) -> torch.Tensor:
            value = torch.as_tensor(np.asarray(rows[key], dtype=np.float32), device=device)
            return value.reshape(-1, width)

        count = len(rows["betas"])
        zeros = torch.zeros(count, 3, device=device)
        posed = self.body_model(
            betas=tensor("betas", 10),
            global_orient=tensor("global_orient", 3),
            body_pose=tensor("body_pose", 63),
            left_hand_pose=tensor("left_hand_pose", 45),
            right_hand_pose=tensor("right_hand_pose", 45),
            jaw_pose=tensor("jaw_pose", 3),
            leye_pose=zeros,
            reye_pose=zeros,
            expression=tensor("expression", 10),
        )
        vertices = posed.vertices + tensor("transl_m", 3)[:, None]
        return vertices.float().cpu().numpy()
