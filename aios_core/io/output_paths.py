"""Checks every command makes on the places it will write, before any work starts.

Two mistakes cost a user the most: an output that is one of the inputs (``aios run
clip.mp4 --render clip.mp4`` would replace the video with its overlay) or two outputs of one
run landing on the same file, and a long job that fails at its very end because the output
folder cannot be written. Both are refused up front with one line naming the option.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from aios_core.errors import AiosError


class OutputPathError(AiosError):
    """An output place that cannot or must not be written."""


def same_place(first: Path, second: Path) -> bool:
    """True when both paths name the same file: same inode when both exist, else the same
    absolute path once symbolic links and ``..`` are resolved."""
    first, second = Path(first), Path(second)
    if first.exists() and second.exists():
        return os.path.samefile(first, second)
    return first.resolve() == second.resolve()


def refuse_collisions(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Refuse any output that is an input, or that another output also writes.

    Keys name the place for the message (an option such as ``--render``, or a description
    such as ``the progress file``); ``None`` values are ignored.
    """
    outputs = {name: Path(path) for name, path in outputs.items() if path is not None}
    for out_name, out_path in outputs.items():
        for in_name, in_path in inputs.items():
            if in_path is not None and same_place(out_path, Path(in_path)):
                raise OutputPathError(
                    f"{out_name} {out_path} is {in_name}: writing it would destroy the input; "
                    "choose another path"
                )
    names = list(outputs)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            if same_place(outputs[first], outputs[second]):
                raise OutputPathError(
                    f"{first} {outputs[first]} and {second} {outputs[second]} are the same "
                    "file; choose different paths"
                )


def check_writable_file(path: Path, what: str, *, create_folders: bool = False) -> None:
    """``path`` can be created or replaced: not a folder, and its folder writable.

    With ``create_folders`` the folder may be missing (the writer creates it); then the
    closest existing folder above it must be writable.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"cannot write {what} {path}: it is a folder")
    if path.exists() and not os.access(path, os.W_OK):  # the user's own protection
        raise OutputPathError(f"cannot write {what} {path}: it is read-only")
    folder = path.parent
    if not create_folders and not folder.is_dir():
        raise OutputPathError(f"cannot write {what} {path}: folder {folder} does not exist")
    _check_writable_folder(folder, f"{what} {path}")


def check_writable_folder(folder: Path, what: str) -> None:
    """``folder`` exists and is writable, or can be created (its closest existing parent is a
    writable folder)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"cannot write {what} {folder}: it is a file, not a folder")
    _check_writable_folder(folder, f"{what} {folder}")


def _check_writable_folder(folder: Path, described: str) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"cannot write {described}: {existing} is a file, not a folder")
    # A real file is created: os.access says yes to root on read-only mounts and ACLs lie.
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".aios-write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputPathError(
            f"cannot write {described}: folder {existing} is not writable ({reason})"
        ) from None
