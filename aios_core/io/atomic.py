"""Whole-file writes that never leave a half-written file under the final name.

Every output of aios (results, eval JSON, prediction cache, checkpoints, exports, videos) is
written to a hidden temporary file beside its final path and renamed over it once complete.
The temporary file is created with mode 0666 minus the umask, as ``open()`` creates files (not
0600 as ``tempfile.mkstemp`` would), so finished outputs get the permissions users expect.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_ATTEMPTS = 100


def reserve_temporary_file(path: Path) -> Path:
    """Create a new, empty hidden file beside ``path`` (same suffix) and return its path.

    Raises OSError when the folder cannot be written, so callers can fail before any work.
    """
    path = Path(path)
    for _ in range(_ATTEMPTS):
        candidate = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.partial{path.suffix}")
        try:
            # O_EXCL: never reuse a name; mode 0o666 lets the umask decide, as open() does.
            handle = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(handle)
        return candidate
    raise FileExistsError(f"no free temporary name beside {path}")


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix) to write; it replaces ``path`` when
    the block ends without error, and is removed otherwise. Creates missing parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = reserve_temporary_file(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file_object)`` on a temporary file next to ``path``, fsync, rename it."""
    with atomic_output(Path(path)) as temporary, temporary.open("wb") as stream:
        write(stream)
        stream.flush()
        os.fsync(stream.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(Path(path), lambda stream: stream.write(text.encode("utf-8")))
