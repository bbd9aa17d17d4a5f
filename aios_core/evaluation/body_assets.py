"""The user's SMPL-X files the evaluator needs: gendered / kid models and vertex index files.

All of them are licence-gated and live in the SMPL-X folder (``--smplx-dir``, as the official
``data/body_models/smplx``):

- ``SMPLX_NEUTRAL.npz`` always (predictions are posed with it, as the network does, and its
  ``J_regressor`` gives the root joints of AiOS's metrics); ``SMPLX_MALE.npz`` /
  ``SMPLX_FEMALE.npz`` when the ground truth has male / female people: GT meshes use each
  person's gender, as AiOS's evaluation and the AGORA toolkit do.
- ``smplx_kid_template.npy`` (AGORA kid model), optional: AGORA GT kids with 11 betas use the
  kid model (female kids the neutral kid model, as the toolkit); without it they are posed with
  the adult model and the first 10 betas, and the report says how many.
- ``MANO_SMPLX_vertex_ids.pkl`` and ``SMPL-X__FLAME_vertex_ids.npy`` (hand and face vertices).
- ``SMPLX_to_J14.pkl`` (EHF body PA-MPJPE).
- ``body_verts_smplx.npy`` (AGORA body vertices; public file of the AGORA toolkit,
  ``utils/body_verts_smplx.npy``), in the SMPL-X folder or in ``--data-root``.

Poses follow AiOS's configuration: 10 betas, 10 expression coefficients, full axis-angle
hands relative to the mean hand pose (``flat_hand_mean=False``), zero eye poses; 144 output
joints (face contour on; the AGORA toolkit's 127 are the first 127).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import smplx
import torch

from aios_core.assets import SMPLX_FILENAME, resolve_smplx_dir
from aios_core.body.keypoints import NUM_SMPLX_KEYPOINTS
from aios_core.body.smplx_model import NUM_BETAS, NUM_VERTICES, build_smplx_layer
from aios_core.body.smplx_model import NUM_EXPRESSION_COEFFS as NUM_EXPRESSION
from aios_core.data import SmplxParams
from aios_core.evaluation.benchmarks import BenchmarkDataError
from aios_core.evaluation.mesh_errors import MeshPartIds

NUM_KID_BETAS = 11
MODEL_FILES = {"neutral": SMPLX_FILENAME, "male": "SMPLX_MALE.npz",
               "female": "SMPLX_FEMALE.npz"}
KID_TEMPLATE_FILE = "smplx_kid_template.npy"
MANO_IDS_FILE = "MANO_SMPLX_vertex_ids.pkl"
FLAME_IDS_FILE = "SMPL-X__FLAME_vertex_ids.npy"
J14_FILE = "SMPLX_to_J14.pkl"
AGORA_BODY_IDS_FILE = "body_verts_smplx.npy"


class EvalBodyModels:
    """SMPL-X models keyed by (gender, kid), built on first use, posing N people at once."""

    def __init__(self, smplx_dir: str | os.PathLike | None, chunk_size: int = 64):
        self.folder = resolve_smplx_dir(smplx_dir)
        self.chunk_size = chunk_size
        self._models: dict[tuple[str, bool], smplx.SMPLX] = {}

    @property
    def has_kid_template(self) -> bool:
        return (self.folder / KID_TEMPLATE_FILE).is_file()

    def model(self, gender: str = "neutral", kid: bool = False) -> smplx.SMPLX:
        key = (gender, kid)
        if key not in self._models:
            path = self.folder / MODEL_FILES[gender]
            if not path.is_file():
                raise BenchmarkDataError(
                    f"the ground truth has {gender} people but {path} is missing; get "
                    f"{MODEL_FILES[gender]} from the SMPL-X download (smpl-x.is.tue.mpg.de)")
            kid_template = self.folder / KID_TEMPLATE_FILE if kid else None
            self._models[key] = build_smplx_layer(path, kid_template)
        return self._models[key]

    @property
    def j_regressor(self) -> np.ndarray:
        """(55, 10475) joint regressor of the neutral model (AiOS's ``smpl_x.J_regressor``)."""
        return self.model().J_regressor.numpy().astype(np.float32)

    def pose(self, params: SmplxParams, gender: str = "neutral",
             kid: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(vertices (N, 10475, 3), joints (N, 144, 3)) float32 metres, no translation."""
        model = self.model(gender, kid)
        num_betas = NUM_KID_BETAS if kid else NUM_BETAS
        verts, joints = [], []
        for start in range(0, len(params), self.chunk_size):
            chunk = params.take(slice(start, start + self.chunk_size))
            count = len(chunk)

            def t(array: np.ndarray, width: int, count: int = count) -> torch.Tensor:
                flat = np.ascontiguousarray(array, np.float32).reshape(count, -1)[:, :width]
                return torch.from_numpy(np.ascontiguousarray(flat))

            zeros = torch.zeros(count, 3)
            with torch.no_grad():
                out = model(
                    global_orient=t(chunk.global_orient, 3), body_pose=t(chunk.body_pose, 63),
                    left_hand_pose=t(chunk.left_hand_pose, 45),
                    right_hand_pose=t(chunk.right_hand_pose, 45),
                    jaw_pose=t(chunk.jaw_pose, 3), leye_pose=zeros, reye_pose=zeros,
                    betas=t(chunk.betas, num_betas), expression=t(chunk.expression, NUM_EXPRESSION),
                    transl=zeros,
                )
            verts.append(out.vertices.numpy())
            joints.append(out.joints.numpy())
        if not verts:
            return (np.zeros((0, NUM_VERTICES, 3), np.float32),
                    np.zeros((0, NUM_SMPLX_KEYPOINTS, 3), np.float32))
        return np.concatenate(verts), np.concatenate(joints)

    def pose_people(self, params: SmplxParams, genders: np.ndarray,
                    kids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """Pose people of mixed gender (and AGORA kid flags), rows in input order.

        Returns vertices, joints and how many kids had to use the adult model.
        """
        count = len(params)
        kids = np.zeros(count, bool) if kids is None else np.asarray(kids, bool)
        use_kid_model = kids & self.has_kid_template & (params.betas.shape[1] >= NUM_KID_BETAS)
        verts = np.zeros((count, NUM_VERTICES, 3), np.float32)
        joints = np.zeros((count, NUM_SMPLX_KEYPOINTS, 3), np.float32)
        model_gender = np.asarray(genders).astype(str).copy()
        # The AGORA toolkit poses female kids with the neutral kid model.
        model_gender[use_kid_model & (model_gender == "female")] = "neutral"
        for gender in np.unique(model_gender) if count else []:
            for kid in (False, True):
                rows = np.flatnonzero((model_gender == gender) & (use_kid_model == kid))
                if rows.size:
                    verts[rows], joints[rows] = self.pose(params.take(rows), str(gender), kid)
        return verts, joints, int((kids & ~use_kid_model).sum())


def _need(path: Path, what: str) -> Path:
    if not path.is_file():
        raise BenchmarkDataError(f"{what} not found: expected {path} (comes with the SMPL-X "
                                 f"download; place it next to SMPLX_NEUTRAL.npz)")
    return path


def _load_pickle(path: Path):
    try:
        with path.open("rb") as handle:
            return pickle.load(handle, encoding="latin1")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as error:
        raise BenchmarkDataError(f"{path}: cannot be read ({error})") from error


def load_mesh_part_ids(folder: Path) -> MeshPartIds:
    """Hand (MANO) and face (FLAME) vertex ids from the SMPL-X folder."""
    mano = _load_pickle(_need(folder / MANO_IDS_FILE, "MANO vertex ids"))
    if not isinstance(mano, dict) or not {"left_hand", "right_hand"} <= set(mano):
        raise BenchmarkDataError(f"{folder / MANO_IDS_FILE}: expected a dict with 'left_hand' "
                                 "and 'right_hand'")
    flame_path = _need(folder / FLAME_IDS_FILE, "FLAME vertex ids")
    try:
        face = np.load(flame_path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise BenchmarkDataError(f"{flame_path}: cannot be read ({error})") from error
    return MeshPartIds(left_hand=np.asarray(mano["left_hand"], np.int64),
                       right_hand=np.asarray(mano["right_hand"], np.int64),
                       face=np.asarray(face, np.int64))


def load_j14_regressor(folder: Path) -> np.ndarray:
    """(14, 10475) body joint regressor of EHF's PA-MPJPE."""
    path = _need(folder / J14_FILE, "EHF joint regressor (ExPose's SMPLX_to_J14.pkl)")
    value = _load_pickle(path)
    if hasattr(value, "toarray"):  # stored as a scipy sparse matrix in some releases
        value = value.toarray()
    value = np.asarray(value, np.float64)
    if value.ndim != 2 or value.shape[1] != NUM_VERTICES:
        raise BenchmarkDataError(f"{path}: expected a (14, 10475) regressor, got {value.shape}")
    return value


def load_agora_body_ids(folder: Path, data_root: Path) -> np.ndarray:
    """AGORA's 4010 body vertex ids (the toolkit's utils/body_verts_smplx.npy)."""
    for place in (folder, data_root, data_root / "agora"):
        path = place / AGORA_BODY_IDS_FILE
        if path.is_file():
            try:
                return np.asarray(np.load(path, allow_pickle=False), np.int64).reshape(-1)
            except (OSError, ValueError) as error:
                raise BenchmarkDataError(f"{path}: cannot be read ({error})") from error
    raise BenchmarkDataError(
        f"AGORA body vertex ids not found: put the AGORA toolkit's utils/{AGORA_BODY_IDS_FILE} "
        f"in {folder} or {data_root}")
