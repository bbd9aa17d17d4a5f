"""Write small HumanData ``.npz`` files with the real key layout, for tests.

``write_humandata`` stores exactly what it is given under the keys the AiOS data files use
(see ``aios_core.data.humandata``); ``random_smplx_params`` makes plausible parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def random_smplx_params(count: int, rng: np.random.Generator, *, num_betas: int = 10,
                        scale: float = 0.2) -> dict[str, np.ndarray]:
    """A HumanData ``smplx`` dict for ``count`` people: small random axis-angle poses, upright
    camera-facing root (180 degrees about x), flat (N, 3k) layout as the files store it."""
    root = np.tile(np.array([[np.pi, 0.0, 0.0]], np.float32), (count, 1))
    root += rng.normal(0, 0.05, (count, 3)).astype(np.float32)

    def normal(*shape: int) -> np.ndarray:
        return (rng.normal(0, scale, shape)).astype(np.float32)

    return {
        "global_orient": root,
        "body_pose": normal(count, 63),
        "left_hand_pose": normal(count, 45),
        "right_hand_pose": normal(count, 45),
        "jaw_pose": normal(count, 3),
        "leye_pose": np.zeros((count, 3), np.float32),
        "reye_pose": np.zeros((count, 3), np.float32),
        "betas": normal(count, num_betas) * 5,
        "expression": normal(count, 10) * 5,
        "transl": np.tile(np.array([[0.0, 0.2, 6.0]], np.float32), (count, 1)),
    }


def write_humandata(
    path: str | Path,
    *,
    image_paths: list[str],
    smplx: dict[str, np.ndarray] | None,
    bbox_xywh: np.ndarray,
    hand_face_boxes: dict[str, np.ndarray] | None = None,
    keypoints2d_smplx: np.ndarray | None = None,
    keypoints3d_smplx: np.ndarray | None = None,
    keypoints_mask: np.ndarray | None = None,
    compress_keypoints: bool = False,
    meta: dict[str, Any] | None = None,
    frame_range: np.ndarray | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write one HumanData file; every per-instance array has len(image_paths) rows.

    ``hand_face_boxes``: {'lhand_bbox_xywh': (N, 5), ...}. ``keypoints_mask`` (K,) is stored as
    ``keypoints{2,3}d_smplx_mask``; with ``compress_keypoints`` only the masked-in columns are
    stored, as HumanData.compress_keypoints_by_mask does.
    """
    path = Path(path)
    count = len(image_paths)
    content: dict[str, Any] = {
        "image_path": np.array(image_paths),
        "bbox_xywh": np.asarray(bbox_xywh, np.float32),
        "__key_strict__": np.array(False),
        "__data_len__": np.array(count),
        "__keypoints_compressed__": np.array(bool(compress_keypoints)),
        "meta": np.array(meta or {}, dtype=object),
    }
    if smplx is not None:
        content["smplx"] = np.array(smplx, dtype=object)
    for key, value in (hand_face_boxes or {}).items():
        content[key] = np.asarray(value, np.float32)
    for key, value in (("keypoints2d_smplx", keypoints2d_smplx),
                       ("keypoints3d_smplx", keypoints3d_smplx)):
        if value is None:
            continue
        value = np.asarray(value, np.float32)
        if keypoints_mask is not None:
            mask = np.asarray(keypoints_mask).astype(np.uint8)
            content[f"{key}_mask"] = mask
            if compress_keypoints:
                value = value[:, mask.astype(bool)]
        content[key] = value
    if frame_range is not None:
        content["frame_range"] = np.asarray(frame_range, np.int64)
    content.update(extra or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **content)
    return path


def frame_range_of(image_paths: list[str]) -> np.ndarray:
    """(F, 2) [start, end) rows of consecutive equal image paths."""
    starts = [i for i in range(len(image_paths))
              if i == 0 or image_paths[i] != image_paths[i - 1]]
    ends = starts[1:] + [len(image_paths)]
    return np.array(list(zip(starts, ends, strict=True)), np.int64).reshape(-1, 2)
