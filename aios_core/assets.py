"""Where aios finds the files it does not ship: the AiOS checkpoint and the SMPL-X model.

Resolution order for each asset: an explicit path (``--checkpoint`` / ``--smplx-dir``), else the
documented layout under ``$AIOS_HOME`` (default ``~/.cache/aios``)::

    $AIOS_HOME/
        checkpoints/aios_checkpoint.pth      official AiOS release
        body_models/smplx/SMPLX_NEUTRAL.npz  SMPL-X model (neutral), from the SMPL-X site
"""

from __future__ import annotations

import os
from pathlib import Path

from aios_core.errors import AiosError

CHECKPOINT_FILENAME = "aios_checkpoint.pth"
SMPLX_FILENAME = "SMPLX_NEUTRAL.npz"

CHECKPOINT_SOURCE = (
    "the official AiOS release (see the 'Pretrained models' section of "
    "https://github.com/ttxskk/AiOS)"
)
SMPLX_SOURCE = (
    "https://smpl-x.is.tue.mpg.de (free registration; download 'SMPL-X v1.1' and take "
    "models/smplx/SMPLX_NEUTRAL.npz)"
)


class AssetNotFoundError(AiosError, FileNotFoundError):
    """A licence-gated file aios needs is missing; the message says what, where, and how to get
    it."""


def aios_home() -> Path:
    """The root of the asset layout: ``$AIOS_HOME`` or ``~/.cache/aios``."""
    return Path(os.environ.get("AIOS_HOME") or Path.home() / ".cache" / "aios").expanduser()


def default_checkpoint_path() -> Path:
    return aios_home() / "checkpoints" / CHECKPOINT_FILENAME


def default_smplx_dir() -> Path:
    return aios_home() / "body_models" / "smplx"


def _missing(
    what: str, filename: str, looked_in: Path, source: str, flag: str
) -> AssetNotFoundError:
    return AssetNotFoundError(
        f"{what} not found: expected '{filename}' at {looked_in}. "
        f"Get it from {source}, then pass {flag} or place it at "
        f"{looked_in if looked_in.name == filename else looked_in / filename}."
    )


def resolve_checkpoint(explicit: str | os.PathLike | None = None) -> Path:
    """The checkpoint file to load; raises AssetNotFoundError if it does not exist."""
    path = Path(explicit).expanduser() if explicit else default_checkpoint_path()
    if path.is_dir():
        path = path / CHECKPOINT_FILENAME
    if not path.is_file():
        raise _missing(
            "AiOS checkpoint", CHECKPOINT_FILENAME, path, CHECKPOINT_SOURCE, "--checkpoint PATH"
        )
    return path


def resolve_smplx_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The folder holding SMPLX_NEUTRAL.npz; raises AssetNotFoundError if the file is absent.

    Accepts the folder itself, its parent (the ``body_models`` level, as the official
    repository lays it out) or the npz file.
    """
    base = Path(explicit).expanduser() if explicit else default_smplx_dir()
    if base.is_file() and base.name == SMPLX_FILENAME:
        return base.parent
    for candidate in (base, base / "smplx"):
        if (candidate / SMPLX_FILENAME).is_file():
            return candidate
    raise _missing("SMPL-X model", SMPLX_FILENAME, base, SMPLX_SOURCE, "--smplx-dir DIR")
