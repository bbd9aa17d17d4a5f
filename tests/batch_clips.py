"""Clip folders, a tiny checkpoint and output comparisons for the `aios batch` tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tests.synthetic_media import write_video
from tests.tiny_network import write_tiny_checkpoint

REPO_ROOT = Path(__file__).resolve().parent.parent
# Options every batch test passes: the tiny network, one CPU thread per worker (the same
# arithmetic in every engine), at most 2 people a frame, small inference batches.
COMMON_OPTIONS = ["--device", "cpu", "--cpus-per-worker", "1", "--num-people", "2",
                  "--threshold", "0", "--batch-size", "2", "--quiet"]


def write_clip_tree(root: Path, frames: dict[str, int]) -> Path:
    """Videos at ``root/<relative path>`` with the given frame counts."""
    for relative, count in frames.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        write_video(root / relative, count)
    return root


def tiny_checkpoint(folder: Path) -> Path:
    return write_tiny_checkpoint(folder / "tiny.pth")


def results_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def assert_same_results(got: Path, expected: Path) -> None:
    """Two results files hold the same arrays, bit for bit."""
    a, b = results_arrays(got), results_arrays(expected)
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"{got.name}: {key}")


def leftover_temporary_files(folder: Path) -> list[Path]:
    """Files an interrupted write could leave: hidden temporaries of the atomic writers."""
    return [path for path in folder.rglob(".*") if path.is_file()]


def subprocess_environment() -> dict[str, str]:
    """This checkout first on the path, whatever is installed."""
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}
