"""A tiny on-disk training set in the official layout: images + HumanData npz files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from synthetic_humandata import random_smplx_params, write_humandata

from aios_core.data.training_set import TRAINING_SOURCES


def write_training_source(data_root: Path, name: str, *, images: int = 3, persons: int = 2,
                          size_hw: tuple[int, int] = (96, 128), seed: int = 0) -> Path:
    """Write data set ``name`` (a key of TRAINING_SOURCES) with random people; -> the npz."""
    rng = np.random.default_rng(seed)
    source = TRAINING_SOURCES[name]
    height, width = size_hw
    image_dir = data_root / source.image_dir
    image_dir.mkdir(parents=True, exist_ok=True)
    paths, boxes, parts = [], [], {k: [] for k in ("lhand", "rhand", "face")}
    for i in range(images):
        rel = f"img_{i:03d}.png"
        noise = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        cv2.imwrite(str(image_dir / rel), noise)
        for _ in range(persons):
            paths.append(rel)
            w, h = rng.uniform(0.2, 0.4) * width, rng.uniform(0.4, 0.8) * height
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            boxes.append([x, y, w, h, 1.0])
            for k in parts:
                parts[k].append([x + w * 0.1, y + h * 0.1, w * 0.2, h * 0.1, 1.0])
    n = len(paths)
    box = np.asarray(boxes, np.float32)
    kps2d = np.concatenate([
        box[:, None, :2] + rng.uniform(0, 1, (n, 144, 2)) * box[:, None, 2:4],
        np.ones((n, 144, 1))], axis=-1)
    kps3d = np.concatenate([rng.normal(0, 0.3, (n, 144, 3)) + [0, 0, 5],
                            np.ones((n, 144, 1))], axis=-1)
    return write_humandata(
        data_root / "preprocessed_npz" / "multihuman_data" / source.annotation_name,
        image_paths=paths, smplx=random_smplx_params(n, rng), bbox_xywh=box,
        hand_face_boxes={f"{k}_bbox_xywh": np.asarray(v, np.float32) for k, v in parts.items()},
        keypoints2d_smplx=kps2d, keypoints3d_smplx=kps3d,
        meta={"height": [height] * n, "width": [width] * n},
    )


class RandomImageSet:
    """In-memory training set: fixed random images and targets per index (the seed is unused,
    no augmentation), for loop tests that should not read files."""

    def __init__(self, count: int, size_hw: tuple[int, int] = (64, 80), persons: int = 2,
                 seed: int = 0):
        import torch

        from aios_core.training import random_targets

        g = torch.Generator().manual_seed(seed)
        self.items = [(torch.randn(3, *size_hw, generator=g),
                       random_targets(persons, size_hw, g)) for _ in range(count)]
        self.calls = 0
        self.interrupt_at: int | None = None  # raise KeyboardInterrupt on this call

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]):
        self.calls += 1
        if self.interrupt_at is not None and self.calls >= self.interrupt_at:
            raise KeyboardInterrupt
        return self.items[int(key[0])]
