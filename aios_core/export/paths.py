"""Where export files go, and writing them atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from aios_core.io.results_file import replace_atomically


def with_default_suffix(out: Path, suffix: str) -> Path:
    """``out`` itself, or ``out`` + ``suffix`` when it has no suffix at all."""
    return out if out.suffix else out.with_name(out.name + suffix)


def per_track_paths(out: Path, track_ids: Sequence[int], suffix: str) -> dict[int, Path]:
    """One file per track: ``out`` for a single track, else ``<stem>_track<ID><suffix>``."""
    out = with_default_suffix(out, suffix)
    if len(track_ids) == 1:
        return {track_ids[0]: out}
    return {t: out.with_name(f"{out.stem}_track{t}{out.suffix}") for t in track_ids}


def files_for_tracks(out: Path, tracks: Sequence, suffix: str,
                     combined: bool) -> dict[Path, list]:
    """Which tracks go into which file: all into ``out`` when ``combined``, else one file
    per track (see ``per_track_paths``)."""
    if combined:
        return {with_default_suffix(out, suffix): list(tracks)}
    paths = per_track_paths(out, [t.track_id for t in tracks], suffix)
    return {paths[t.track_id]: [t] for t in tracks}


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); it replaces ``path`` once the
    block ends without error, and is removed otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix,
                                         dir=path.parent)
    os.close(handle)
    try:
        yield Path(temp_name)
        replace_atomically(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
