"""SMPL-X meshes in the camera frame from results-file rows."""

from __future__ import annotations

import math

import numpy as np
import torch

from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.person import BODY_MODEL_FIELDS, PERSON_SHAPES


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

        def tensor(key: str) -> torch.Tensor:
            value = torch.as_tensor(np.asarray(rows[key], dtype=np.float32), device=device)
            return value.reshape(-1, math.prod(PERSON_SHAPES[key]))  # (N, values per person)

        zeros = torch.zeros(len(rows["betas"]), 3, device=device)
        posed = self.body_model(
            **{key: tensor(key) for key in BODY_MODEL_FIELDS}, leye_pose=zeros, reye_pose=zeros
        )
        vertices = posed.vertices + tensor("transl_m")[:, None]
        return vertices.float().cpu().numpy()
