"""Training checkpoints: everything a run needs to continue exactly, written atomically.

``RUN_DIR/checkpoints/last.pth`` is rewritten every ``checkpoint_every_steps`` steps, at each
epoch end and on Ctrl-C; it holds the full state (weights, optimiser, schedule, EMA, RNG,
progress, the open log window, the TrainConfig and the AiOSConfig). ``epoch_XXX.pth`` is kept
per finished epoch (the newest ``keep_snapshots``) with the weights only (live or EMA), the
AiOSConfig and the progress. The ``model`` entry of both is the network's state dict in the
official key layout and ``model_config`` records the architecture, so any checkpoint here also
loads as inference weights (``AiOS.from_checkpoint`` builds the recorded architecture).

A save that has started is finished before an interrupt (Ctrl-C, SIGTERM) is delivered, and a
failed save leaves the previous file intact.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aios_core.errors import interrupts_held
from aios_core.io.atomic import atomic_write_bytes

LAST = "last.pth"
SNAPSHOT_PATTERN = "epoch_*.pth"


class ResumeError(ValueError):
    """No usable checkpoint to resume from; the message says where it looked."""


@dataclass
class Progress:
    epoch: int = 0  # the epoch in progress (0-based)
    step_in_epoch: int = 0  # optimiser steps finished in that epoch
    global_step: int = 0


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_atomically(content: dict, path: Path) -> None:
    """torch.save ``content`` to ``path``; a crash mid-write leaves the previous file intact,
    an interrupt waits until the file is complete."""
    with interrupts_held():
        atomic_write_bytes(path, lambda stream: torch.save(content, stream))


def snapshot_name(epoch: int) -> str:
    return f"epoch_{epoch:03d}.pth"


def prune_snapshots(folder: Path, keep: int | None) -> list[Path]:
    """Delete all but the newest ``keep`` epoch snapshots (None keeps all); -> deleted files."""
    if keep is None:
        return []
    snapshots = sorted(folder.glob(SNAPSHOT_PATTERN))
    doomed = snapshots[: max(len(snapshots) - keep, 0)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def load_for_resume(run_dir: Path) -> dict:
    """The content of ``RUN_DIR/checkpoints/last.pth``.

    Loaded with ``weights_only=False``: it holds RNG states and the optimiser, which the
    restricted unpickler cannot rebuild, and it is a file this tool wrote into the user's own
    run directory. Released / downloaded weights never come through here.
    """
    path = checkpoint_dir(run_dir) / LAST
    if not path.is_file():
        raise ResumeError(f"--resume: no checkpoint at {path}; start without --resume, or "
                          "point --out at the run directory to continue")
    try:
        content = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means "unusable"
        raise ResumeError(f"--resume: {path} is not a readable checkpoint ({error})") from error
    missing = {"model", "optimizer", "scheduler", "progress", "rng", "config"} - set(content)
    if missing:
        raise ResumeError(f"--resume: {path} lacks {sorted(missing)}; it is not a training "
                          "checkpoint of aios train")
    return content
