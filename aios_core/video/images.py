"""Still images as an input source: natural ordering of a folder and decoding to RGB."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

_DIGIT_RUNS = re.compile(r"(\d+)")


def natural_sort_key(path: Path) -> tuple:
    """Sort key under which ``img2`` comes before ``img10`` (digit runs compare as numbers)."""
    # re.split with a capturing group alternates text, digits, text, ... so the same
    # position always holds the same type and the key tuples stay comparable.
    parts = _DIGIT_RUNS.split(path.name)
    key = tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts))
    return (key, path.name)


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def list_image_folder(folder: Path) -> list[Path]:
    """Image files directly inside ``folder`` (hidden files skipped), in natural order."""
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and is_image_path(p) and not p.name.startswith(".")
    ]
    return sorted(files, key=natural_sort_key)


def load_rgb_image(path: Path) -> np.ndarray | None:
    """Decode an image file to (H, W, 3) uint8 RGB, upright per EXIF; None if undecodable."""
    # IMREAD_COLOR applies the EXIF orientation, drops alpha, expands grey and reduces
    # 16-bit images to 8 bits, which is exactly the normalisation we want.
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    return np.ascontiguousarray(bgr[:, :, ::-1])
