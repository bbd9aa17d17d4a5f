"""A random but well-formed SMPL-X model folder for tests (the real model is licence-gated).

``write_synthetic_smplx`` writes ``SMPLX_NEUTRAL.npz`` with the file name, keys, shapes and
dtypes that ``smplx.SMPLX`` reads from the released v1.1 file:

    v_template (10475, 3) f32        f (20908, 3) uint32 (valid, non-degenerate triangles)
    shapedirs (10475, 3, 400) f32    300 shape + 100 expression components; smplx takes
                                     betas from [:10] and expression from [300:310], and only
                                     those are non-zero here
    posedirs (10475, 3, 486) f32     54 joints x 9
    J_regressor (55, 10475) f32      rows sum to 1     weights (10475, 55) f32, rows sum to 1
    kintree_table (2, 55) int64      the real SMPL-X parents; root parent stored as 2**32 - 1
    hands_componentsl/r (45, 45)     orthonormal        hands_meanl/r (45,)
    lmk_faces_idx (51,) int64        lmk_bary_coords (51, 3), rows sum to 1
    dynamic_lmk_faces_idx (79, 17)   dynamic_lmk_bary_coords (79, 17, 3), rows sum to 1

The geometry is a rough T-pose skeleton (metres, y up, the body facing +z) with each joint
owning a cluster of vertices, so regressed joints sit near plausible joint positions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aios_core.body.keypoints import SMPLX_JOINT_NAMES, SMPLX_PARENTS

NUM_VERTICES = 10475
NUM_FACES = 20908
NUM_JOINTS = 55
NUM_SHAPE_SPACE = 300
NUM_EXPRESSION_SPACE = 100
NUM_STATIC_LANDMARKS = 51
NUM_CONTOUR_LANDMARKS = 17
NUM_NECK_ANGLE_BINS = 79
CLUSTER_RADIUS_M = 0.02

# Offset of each left-side or central joint from its parent (x to the body's left, metres).
_BODY_OFFSETS_M = {
    "pelvis": (0.0, -0.35, 0.0), "left_hip": (0.06, -0.09, 0.0), "spine_1": (0.0, 0.11, -0.01),
    "left_knee": (0.04, -0.37, 0.0), "spine_2": (0.0, 0.13, 0.01),
    "left_ankle": (-0.01, -0.40, -0.04), "spine_3": (0.0, 0.05, 0.0),
    "left_foot": (0.04, -0.06, 0.12), "neck": (0.0, 0.21, -0.03),
    "left_collar": (0.07, 0.11, -0.02), "head": (0.0, 0.09, 0.05),
    "left_shoulder": (0.11, 0.03, -0.01), "left_elbow": (0.26, -0.01, -0.02),
    "left_wrist": (0.25, 0.01, 0.0), "jaw": (0.0, -0.01, 0.03),
    "left_eyeball": (0.03, 0.06, 0.08),
}
# Offset of each left finger's base from the wrist, then of the next segments.
_FINGER_BASES_M = {
    "index": (0.09, -0.005, 0.025), "middle": (0.095, 0.0, 0.005),
    "pinky": (0.08, -0.01, -0.04), "ring": (0.09, -0.005, -0.02), "thumb": (0.03, -0.015, 0.03),
}
_SEGMENT_M = 0.03


def _left_offset(name: str) -> tuple[float, float, float]:
    """Offset of a left-side or central joint from its parent."""
    if name in _BODY_OFFSETS_M:
        return _BODY_OFFSETS_M[name]
    _, finger, segment = name.split("_")
    return _FINGER_BASES_M[finger] if segment == "1" else (_SEGMENT_M, 0.0, 0.0)


def tpose_joints() -> np.ndarray:
    """(55, 3) rough T-pose joint positions following the SMPL-X kinematic tree."""
    positions = np.zeros((NUM_JOINTS, 3))
    for joint, (name, parent) in enumerate(zip(SMPLX_JOINT_NAMES, SMPLX_PARENTS, strict=True)):
        mirrored = name.startswith("right_")
        offset = np.array(_left_offset(name.replace("right_", "left_", 1)))
        if mirrored:
            offset[0] = -offset[0]
        positions[joint] = offset + (positions[parent] if parent >= 0 else 0.0)
    return positions


def _rows_summing_to_one(values: np.ndarray) -> np.ndarray:
    return (values / values.sum(-1, keepdims=True)).astype(np.float32)


def _faces_within_clusters(rng: np.random.Generator, cluster_starts: np.ndarray) -> np.ndarray:
    """Triangles made of three distinct vertices of one joint's cluster."""
    sizes = np.diff(np.append(cluster_starts, NUM_VERTICES))
    cluster = rng.integers(0, NUM_JOINTS, NUM_FACES)
    first = rng.integers(0, sizes[cluster])
    corners = (first[:, None] + np.arange(3)) % sizes[cluster][:, None]
    return (cluster_starts[cluster][:, None] + corners).astype(np.uint32)


def _head_faces(
    rng: np.random.Generator, faces: np.ndarray, owner: np.ndarray, shape
) -> np.ndarray:
    """Random indices of faces lying on the head cluster, for the face landmarks."""
    head = SMPLX_JOINT_NAMES.index("head")
    candidates = np.flatnonzero(owner[faces[:, 0]] == head)
    return rng.choice(candidates, size=shape).astype(np.int64)


def write_synthetic_smplx(folder: Path, seed: int = 0) -> Path:
    """Write ``folder/SMPLX_NEUTRAL.npz`` (random, deterministic per seed); return ``folder``."""
    rng = np.random.default_rng(seed)
    joints = tpose_joints()
    # Each joint owns a contiguous block of vertices scattered around it.
    cluster_starts = (np.arange(NUM_JOINTS) * NUM_VERTICES) // NUM_JOINTS
    owner = np.searchsorted(cluster_starts, np.arange(NUM_VERTICES), side="right") - 1
    noise = rng.standard_normal((NUM_VERTICES, 3)) * CLUSTER_RADIUS_M
    v_template = (joints[owner] + noise).astype(np.float32)

    weights = rng.random((NUM_VERTICES, NUM_JOINTS)) * 0.05
    weights[np.arange(NUM_VERTICES), owner] += 1.0
    parents = np.array(SMPLX_PARENTS)
    has_parent = parents[owner] >= 0
    weights[np.flatnonzero(has_parent), parents[owner[has_parent]]] += 0.3

    j_regressor = np.zeros((NUM_JOINTS, NUM_VERTICES))
    j_regressor[owner, np.arange(NUM_VERTICES)] = rng.random(NUM_VERTICES) + 0.5

    shapedirs = np.zeros((NUM_VERTICES, 3, NUM_SHAPE_SPACE + NUM_EXPRESSION_SPACE), np.float32)
    shapedirs[:, :, :10] = rng.standard_normal((NUM_VERTICES, 3, 10), np.float32) * 0.01
    shapedirs[:, :, NUM_SHAPE_SPACE:NUM_SHAPE_SPACE + 10] = (
        rng.standard_normal((NUM_VERTICES, 3, 10), np.float32) * 0.005
    )
    posedirs = rng.standard_normal((NUM_VERTICES, 3, (NUM_JOINTS - 1) * 9), np.float32) * 1e-3

    kintree_table = np.stack([parents, np.arange(NUM_JOINTS)]).astype(np.int64)
    kintree_table[0, 0] = 2**32 - 1
    faces = _faces_within_clusters(rng, cluster_starts)
    contour_shape = (NUM_NECK_ANGLE_BINS, NUM_CONTOUR_LANDMARKS)
    arrays = {
        "v_template": v_template,
        "f": faces,
        "shapedirs": shapedirs,
        "posedirs": posedirs,
        "J_regressor": _rows_summing_to_one(j_regressor),
        "weights": _rows_summing_to_one(weights),
        "kintree_table": kintree_table,
        "hands_componentsl": np.linalg.qr(rng.standard_normal((45, 45)))[0].astype(np.float32),
        "hands_componentsr": np.linalg.qr(rng.standard_normal((45, 45)))[0].astype(np.float32),
        "hands_meanl": (rng.standard_normal(45) * 0.15).astype(np.float32),
        "hands_meanr": (rng.standard_normal(45) * 0.15).astype(np.float32),
        "lmk_faces_idx": _head_faces(rng, faces, owner, NUM_STATIC_LANDMARKS),
        "lmk_bary_coords": _rows_summing_to_one(rng.random((NUM_STATIC_LANDMARKS, 3)) + 0.1),
        "dynamic_lmk_faces_idx": _head_faces(rng, faces, owner, contour_shape),
        "dynamic_lmk_bary_coords": _rows_summing_to_one(rng.random((*contour_shape, 3)) + 0.1),
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "SMPLX_NEUTRAL.npz", **arrays)
    return folder
