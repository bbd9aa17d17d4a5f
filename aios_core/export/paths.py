"""Where export files go (written with ``aios_core.io.atomic.atomic_output``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aios_core.io.atomic import atomic_output  # noqa: F401 - re-exported for the writers


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
