"""Synthetic run results and an independent SMPL-X reference for the export tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import smplx
import torch

from aios_core.results.results_file import PER_DETECTION_SHAPES, RunResults

FPS = 25.0
# track id -> frames where it is detected (track 7 misses frame 3).
TRACK_FRAMES = {0: [0, 1, 2, 3, 4, 5], 7: [1, 2, 4, 5]}


def make_results(seed: int = 0) -> RunResults:
    """Two tracks with random SMPL-X parameters, laid out like `aios run` writes them."""
    rng = np.random.default_rng(seed)
    rows = [(frame, track) for track, frames in TRACK_FRAMES.items() for frame in frames]
    count = len(rows)
    det = {key: rng.normal(size=(count, *tail)) for key, tail in PER_DETECTION_SHAPES.items()}
    det["frame_index"] = np.array([frame for frame, _ in rows])
    det["track_id"] = np.array([track for _, track in rows])
    det["timestamp_s"] = det["frame_index"] / FPS
    det["score"] = rng.uniform(0.4, 1.0, count)
    upright = np.array([np.pi, 0.0, 0.0])  # people in an image come turned ~180 deg about x
    det["global_orient"] = upright + rng.normal(scale=0.3, size=(count, 3))
    det["body_pose"] = rng.normal(scale=0.3, size=(count, 21, 3))
    det["left_hand_pose"] = rng.normal(scale=0.3, size=(count, 15, 3))
    det["right_hand_pose"] = rng.normal(scale=0.3, size=(count, 15, 3))
    det["jaw_pose"] = rng.normal(scale=0.1, size=(count, 3))
    person_betas = {track: rng.normal(size=10) for track in TRACK_FRAMES}
    det["betas"] = np.stack([person_betas[t] for t in det["track_id"]]) + rng.normal(
        scale=0.1, size=(count, 10))
    det["expression"] = rng.normal(size=(count, 10))
    det["transl_m"] = np.array([0.0, 0.3, 3.0]) + rng.normal(scale=0.3, size=(count, 3))
    order = np.lexsort((-det["score"], det["frame_index"]))
    return RunResults(
        source="clip.mp4", fps=FPS, num_frames=6, image_size_wh=(640, 480),
        focal_px=np.array([1000.0, 1000.0]), principal_point_px=np.array([320.0, 240.0]),
        detections={key: value[order] for key, value in det.items()},
    )


def flat_hand_smplx(model_dir: Path) -> smplx.SMPLX:
    """smplx itself with flat_hand_mean=True: it takes ABSOLUTE hand poses, as exported."""
    return smplx.SMPLX(str(model_dir), gender="neutral", num_betas=10, num_expression_coeffs=10,
                       use_pca=False, flat_hand_mean=True, use_face_contour=True, ext="npz")


@torch.no_grad()
def smplx_posed(model: smplx.SMPLX, poses: np.ndarray, trans: np.ndarray, betas: np.ndarray,
                expression: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 55, 3) absolute axis-angle poses -> ((T, 55, 3) joints, (T, V, 3) vertices),
    translated, straight from smplx."""
    count = len(poses)

    def t(values) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(values), dtype=torch.float32)

    out = model(
        global_orient=t(poses[:, 0]), body_pose=t(poses[:, 1:22].reshape(count, -1)),
        jaw_pose=t(poses[:, 22]), leye_pose=t(poses[:, 23]), reye_pose=t(poses[:, 24]),
        left_hand_pose=t(poses[:, 25:40].reshape(count, -1)),
        right_hand_pose=t(poses[:, 40:55].reshape(count, -1)),
        betas=t(np.broadcast_to(betas, (count, 10))), expression=t(expression),
        transl=t(trans),
    )
    return out.joints[:, :55].double().numpy(), out.vertices.double().numpy()
