"""INPUTS of `aios batch` (video files, folders, manifests) expanded into clips whose outputs
mirror the input tree under DIR.

- a video or image file: one clip, written as ``DIR/<name>``;
- a folder: every video file under it and every folder holding images (an image sequence),
  recursively, written as ``DIR/<path inside the folder>``;
- a ``.txt`` / ``.jsonl`` manifest: one input per line, relative to the manifest's folder.
  A text line is ``PATH [--start N] [--end N] [--max-frames N] [--num-people N]
  [--smooth-strength S]``; a JSONL line is ``{"input": PATH, "max_frames": N, ...}``.
  Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator, Sequence
from pathlib import Path

from aios_core.batch.jobs import PER_INPUT_OPTIONS, ClipJob
from aios_core.errors import AiosError
from aios_core.video.images import is_image_path, list_image_folder, natural_sort_key

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts", ".wmv",
     ".flv", ".gif"}
)
MANIFEST_SUFFIXES = frozenset({".txt", ".jsonl"})
_INTEGER_OPTIONS = {"start", "end", "max_frames", "num_people"}
# The smallest (and largest) value of each per-input option, as the command line's own.
_OPTION_RANGES = {"start": (0, None), "end": (1, None), "max_frames": (1, None),
                  "num_people": (1, None), "smooth_strength": (0.0, 1.0)}


class BatchInputError(AiosError):
    """An input of `aios batch` that cannot be planned (missing, malformed line, collision)."""


def plan_clips(inputs: Sequence[Path], out_dir: Path | None = None) -> list[ClipJob]:
    """Every clip named by ``inputs``, in a stable order; two clips with one output is an error.
    Nothing under ``out_dir`` is an input: a batch's outputs inside its input folder would be
    processed again by every rerun."""
    if not inputs:
        raise BatchInputError("no INPUTS given: name video files, folders or a manifest")
    skip = None if out_dir is None else Path(out_dir).resolve()
    jobs: list[ClipJob] = []
    for given in inputs:
        jobs.extend(_expand(Path(given), skip))
    return _unique(jobs)


def _expand(given: Path, skip: Path | None) -> Iterator[ClipJob]:
    if not given.exists():
        raise BatchInputError(f"input not found: {given}")
    if given.is_dir():
        found = list(_clips_in_folder(given, skip))
        if not found:
            raise BatchInputError(f"no video files or image folders under {given}")
        yield from found
    elif given.suffix.lower() in MANIFEST_SUFFIXES:
        yield from _read_manifest(given)
    else:
        yield ClipJob(str(given.resolve()), given.stem)


def _clips_in_folder(root: Path, skip: Path | None) -> Iterator[ClipJob]:
    """Video files and image-sequence folders under ``root`` but not under ``skip``, each
    folder's entries in order."""
    folders = [root]
    while folders:
        folder = folders.pop(0)
        if skip is not None and folder.resolve().is_relative_to(skip):
            continue
        if list_image_folder(folder):
            stem = root.name if folder == root else folder.relative_to(root).as_posix()
            yield ClipJob(str(folder.resolve()), stem)
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")),
                         key=natural_sort_key)
        for entry in entries:
            if entry.is_file() and entry.suffix.lower() in VIDEO_SUFFIXES:
                yield ClipJob(str(entry.resolve()), entry.relative_to(root).with_suffix("")
                              .as_posix())
        folders.extend(entry for entry in entries if entry.is_dir())


def _read_manifest(manifest: Path) -> Iterator[ClipJob]:
    for number, line in enumerate(manifest.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{manifest}, line {number}"
        path, overrides = (_json_line(line, where) if manifest.suffix.lower() == ".jsonl"
                           else _text_line(line, where))
        clip = Path(path) if Path(path).is_absolute() else manifest.parent / path
        if not clip.exists():
            raise BatchInputError(f"{where}: input not found: {clip}")
        if not (clip.is_dir() or is_image_path(clip) or clip.suffix.lower() in VIDEO_SUFFIXES):
            raise BatchInputError(f"{where}: {clip} is neither a video, an image nor a folder")
        inside = clip.resolve().is_relative_to(manifest.parent.resolve())
        stem = (clip.resolve().relative_to(manifest.parent.resolve()).with_suffix("").as_posix()
                if inside else clip.stem)
        yield ClipJob(str(clip.resolve()), stem, overrides)


def _text_line(line: str, where: str) -> tuple[str, dict[str, float | int]]:
    try:
        words = shlex.split(line)
    except ValueError as error:
        raise BatchInputError(f"{where}: {error}") from None
    path, rest = words[0], words[1:]
    if len(rest) % 2:
        raise BatchInputError(f"{where}: every option needs a value, got {' '.join(rest)}")
    options = {}
    for flag, value in zip(rest[::2], rest[1::2], strict=True):
        if not flag.startswith("--"):
            raise BatchInputError(f"{where}: expected an option like --max-frames, got {flag}")
        options[flag[2:].replace("-", "_")] = value
    return path, _checked_options(options, where)


def _json_line(line: str, where: str) -> tuple[str, dict[str, float | int]]:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as error:
        raise BatchInputError(f"{where}: not JSON ({error.msg})") from None
    if not isinstance(entry, dict) or not isinstance(entry.get("input"), str):
        raise BatchInputError(f'{where}: expected an object with "input": PATH')
    options = {key: value for key, value in entry.items() if key != "input"}
    return entry["input"], _checked_options(options, where)


def _checked_options(options: dict[str, object], where: str) -> dict[str, float | int]:
    checked: dict[str, float | int] = {}
    for name, value in options.items():
        if name not in PER_INPUT_OPTIONS:
            allowed = ", ".join(f"--{n.replace('_', '-')}" for n in PER_INPUT_OPTIONS)
            raise BatchInputError(
                f"{where}: unknown per-input option {name!r} (allowed: {allowed})")
        kind = int if name in _INTEGER_OPTIONS else float
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise BatchInputError(f"{where}: {name} must be a number, got {value!r}") from None
        low, high = _OPTION_RANGES[name]
        if number < low or (high is not None and number > high):
            allowed = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise BatchInputError(f"{where}: {name} must be {allowed}, got {value!r}")
        checked[name] = number
    return checked


def _unique(jobs: list[ClipJob]) -> list[ClipJob]:
    """Each input once (a file also named through its folder); two inputs, one output: error."""
    seen: dict[str, str] = {}
    for job in jobs:
        earlier = seen.setdefault(job.out_stem, job.input_path)
        if earlier != job.input_path:
            raise BatchInputError(
                f"{earlier} and {job.input_path} would both write DIR/{job.out_stem}.aios.npz; "
                "give their folders instead of the files, or run them in two batches"
            )
    return list({job.input_path: job for job in jobs}.values())
