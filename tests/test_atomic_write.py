"""One atomic writer for every output: whole files only, permissions from the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from aios_core.evaluation.prediction_cache import PredictionCache
from aios_core.evaluation.report import write_json
from aios_core.io.atomic import atomic_output, atomic_write_bytes, atomic_write_text
from aios_core.training.checkpointing import save_atomically


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_every_writer_creates_files_as_the_umask_says(tmp_path, mask):
    with umask(mask):
        atomic_write_bytes(tmp_path / "raw.bin", lambda stream: stream.write(b"x"))
        atomic_write_text(tmp_path / "text.txt", "y")
        write_json(tmp_path / "eval.json", {"a": 1})
        PredictionCache(tmp_path / "cache", {"k": 1}, resume=False)
        save_atomically({"w": torch.zeros(1)}, tmp_path / "ckpt.pth")
        with atomic_output(tmp_path / "export.npz") as temporary:
            np.savez(temporary, a=np.zeros(1))
    files = ["raw.bin", "text.txt", "eval.json", "cache/manifest.json", "ckpt.pth", "export.npz"]
    for name in files:
        assert mode_of(tmp_path / name) == 0o666 & ~mask, name


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")

    def fail(stream) -> None:
        stream.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write_bytes(target, fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_the_file_appears_only_when_complete(tmp_path):
    target = tmp_path / "sub" / "result.txt"
    with atomic_output(target) as temporary:
        assert temporary.parent == target.parent and temporary.suffix == ".txt"
        assert temporary.name.startswith(".result.")
        temporary.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    assert [p.name for p in target.parent.iterdir()] == ["result.txt"]
