"""``--format obj|ply``: the full SMPL-X mesh of every person at every frame, one file each.

Layout under the output folder: ``track_<ID>/frame_<NNNNNN>.<obj|ply>`` (NNNNNN the frame
number on the export grid), which mesh-sequence importers read as one animated object per
person. Vertices are the complete SMPL-X surface (shape, expression, pose correctives) in the
export frame, in metres, including the translation; faces are the SMPL-X triangles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import trimesh

from aios_core.body.smplx_model import SmplxModel
from aios_core.choices import MESH_FORMATS
from aios_core.export.motion import ExportError, Motion, TrackMotion
from aios_core.export.paths import atomic_output
from aios_core.export.rest_shape import RestShape

_FRAMES_PER_BATCH = 32


@torch.inference_mode()
def posed_vertices(body: SmplxModel, shape: RestShape, track: TrackMotion,
                   frames: slice) -> np.ndarray:
    """(F, V, 3) SMPL-X vertices of ``track`` at ``frames``, translated, in the export frame."""
    poses = track.poses[frames]
    count = len(poses)

    def tensor(values: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(values), dtype=torch.float32)

    # SmplxModel takes hand poses relative to the mean hand, as the network predicts them.
    output = body(
        global_orient=tensor(poses[:, 0]),
        body_pose=tensor(poses[:, 1:22]),
        left_hand_pose=tensor(poses[:, 25:40] - shape.left_hand_mean),
        right_hand_pose=tensor(poses[:, 40:55] - shape.right_hand_mean),
        jaw_pose=tensor(poses[:, 22]),
        betas=tensor(np.broadcast_to(track.betas, (count, len(track.betas)))),
        expression=tensor(track.expression[frames]),
    )
    return output.vertices.cpu().numpy().astype(np.float64) + track.trans_m[frames, None]


def write_mesh_sequence(motion: Motion, body: SmplxModel, shape: RestShape, folder: Path,
                        file_format: str) -> list[Path]:
    """Write every frame of every track; returns the files in track then frame order.

    Eye poses are taken as zero (the results carry none)."""
    if file_format not in MESH_FORMATS:
        raise ExportError(f"mesh format must be one of {MESH_FORMATS}, got {file_format!r}")
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"--out for {file_format} must be a folder; {folder} is a file")
    written: list[Path] = []
    for track in motion.tracks:
        track_folder = folder / f"track_{track.track_id}"
        track_folder.mkdir(parents=True, exist_ok=True)
        for start in range(0, track.num_frames, _FRAMES_PER_BATCH):
            frames = slice(start, min(start + _FRAMES_PER_BATCH, track.num_frames))
            vertices = posed_vertices(body, shape, track, frames)
            for frame, verts in zip(track.frame_index[frames].tolist(), vertices, strict=True):
                path = track_folder / f"frame_{frame:06d}.{file_format}"
                with atomic_output(path) as temp:
                    trimesh.Trimesh(verts, shape.faces, process=False).export(
                        temp, file_type=file_format)
                written.append(path)
    return written
