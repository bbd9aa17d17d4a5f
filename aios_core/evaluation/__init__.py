"""Benchmark metric arithmetic of ``aios eval`` (numpy only; data loading lives elsewhere).

- AGORA / BEDLAM (AGORA toolkit semantics): :mod:`.agora_matching`, :mod:`.agora_metrics`,
  :mod:`.agora_summary`.
- AiOS's own benchmarks (EHF, UBody, ARCTIC, EgoBody, AGORA-internal): :mod:`.mesh_errors`,
  :mod:`.mesh_summary`, :mod:`.aios_protocol`.
- Shared alignment: :mod:`.alignment`; result containers: :mod:`.results_table`.

Licence-gated index files (MANO/FLAME vertex ids, J14 regressor, SMPL-X J_regressor) are
always inputs; nothing here ships a copy of them.
"""

from .agora_matching import ImageMatching, match_image, prediction_file_order, valid_gt_mask
from .agora_metrics import (
    AgoraGroundTruth,
    AgoraImageRecord,
    AgoraPredictions,
    AgoraVertexIds,
    evaluate_image,
    part_errors,
)
from .agora_summary import evaluate_agora, precision_recall_f1, summarize_agora
from .aios_protocol import match_by_body_keypoints, ubody_visible_vertices
from .alignment import similarity_align, similarity_transform
from .mesh_errors import (
    MeshPartIds,
    PersonErrorSums,
    hand_joint_regressors,
    joint_error_sums,
    vertex_error_sums,
)
from .mesh_summary import (
    PROTOCOLS,
    distributed_batches,
    evaluate_mesh_benchmark,
    sequential_batches,
    summarize_mesh_errors,
)
from .results_table import AgoraResults, MeshResults

__all__ = [
    "PROTOCOLS",
    "AgoraGroundTruth",
    "AgoraImageRecord",
    "AgoraPredictions",
    "AgoraResults",
    "AgoraVertexIds",
    "ImageMatching",
    "MeshPartIds",
    "MeshResults",
    "PersonErrorSums",
    "distributed_batches",
    "evaluate_agora",
    "evaluate_image",
    "evaluate_mesh_benchmark",
    "hand_joint_regressors",
    "joint_error_sums",
    "match_by_body_keypoints",
    "match_image",
    "part_errors",
    "precision_recall_f1",
    "prediction_file_order",
    "sequential_batches",
    "similarity_align",
    "similarity_transform",
    "summarize_agora",
    "summarize_mesh_errors",
    "ubody_visible_vertices",
    "valid_gt_mask",
    "vertex_error_sums",
]
