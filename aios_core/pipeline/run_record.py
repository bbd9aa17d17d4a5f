"""What a run records about itself so that ``--resume`` never mixes two runs in one file.

Two sets of settings, keyed by the option that sets them (so a refusal names the option):

- inference settings (input, frame range, threshold, people, precision, checkpoint) shape the
  network's output: they are recorded in the progress file and the results file, and a run
  resumes from a progress file only with the same ones;
- finishing settings (smoothing, camera, feet, overlay) shape only the stages that run over
  the whole run at its end: a resumed run applies the current ones, and a finished run is
  "nothing to do" only when they are the same too (its summary file records both; with other
  ones it is redone, as nothing would be mixed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from aios_core.errors import AiosError
from aios_core.results.results_file import ResultsFileError, load_results

if TYPE_CHECKING:
    from aios_core.pipeline.run import RunOptions


class ResumeMismatchError(AiosError):
    """--resume with settings other than those of the run it would continue."""


def _file_identity(path: Path | None) -> str | None:
    """A file's name and size, a folder's name and entry count: what tells two inputs (or
    checkpoints) apart without reading them whole."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        return f"{path.name} (folder of {sum(1 for _ in path.iterdir())} entries)"
    size = path.stat().st_size if path.is_file() else 0
    return f"{path.name} ({size} bytes)"


def inference_settings(options: RunOptions) -> dict[str, object]:
    """The settings that shape the network's output for this run (JSON values)."""
    return {
        "INPUT": _file_identity(Path(options.input_path)),
        "--start": options.start_frame,
        "--end": options.end_frame,
        "--max-frames": options.max_frames,
        "--num-people": options.num_people,
        "--threshold": options.threshold,
        "--precision": options.precision,
        "--checkpoint": _file_identity(options.checkpoint),
    }


def finishing_settings(options: RunOptions) -> dict[str, object]:
    """The settings of the stages after inference (JSON values)."""
    world = options.world
    return {
        "--smooth-strength": options.smooth_strength,
        "--fov": None if world is None else world.fov_deg,
        "--focal-px": None if world is None else world.focal_px,
        "--camera": None if world is None else world.camera,
        "--no-foot-lock": not options.foot_lock,
        "--render": None if options.render_path is None else str(options.render_path),
        "--side-view": options.side_view,
        "--floor": options.render_floor,
    }


def differences(recorded: dict, now: dict) -> list[str]:
    """``--option OLD (now NEW)`` for every setting that changed."""
    def shown(value: object) -> str:
        return "unset" if value is None else str(value)

    return [f"{key} {shown(recorded.get(key))} (now {shown(value)})"
            for key, value in now.items() if recorded.get(key) != value]


def check_same_settings(recorded: dict | None, now: dict, what: str,
                        restart: str = "drop --resume to start over") -> None:
    """Raise ResumeMismatchError naming every difference between ``recorded`` and ``now``;
    ``restart`` says how to start over instead."""
    if recorded is None:
        raise ResumeMismatchError(
            f"--resume: {what} does not say which settings made it (written by an older aios); "
            f"{restart}")
    changed = differences(recorded, now)
    if changed:
        raise ResumeMismatchError(
            f"--resume: {what} was made with other settings: {'; '.join(changed)}; rerun with "
            f"the same settings, or {restart}")


def recorded_inference_settings(partial: Path) -> dict | None:
    """The inference settings a progress file records (None: an older file)."""
    return load_results(partial).settings


def finished_summary(options: RunOptions, summary_file: Path,
                     restart: str = "drop --resume to start over") -> dict | None:
    """The summary of a finished run with exactly these settings, whose outputs are all still
    there; None when there is none (or it was finished with other finishing settings). Raises
    ResumeMismatchError when the finished run had other inference settings."""
    if not summary_file.is_file():
        return None
    try:
        document = json.loads(summary_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or "settings" not in document:
        return None
    outputs = [document.get("results_path"), document.get("render_path")]
    if not all(Path(path).is_file() for path in outputs if path):
        return None  # nothing finished is left to protect
    try:
        load_results(document["results_path"])
    except ResultsFileError:
        return None
    recorded = document["settings"]
    check_same_settings(recorded, inference_settings(options),
                        f"the finished run in {summary_file}", restart)
    if differences(recorded, finishing_settings(options)):
        return None  # the same inference, finished otherwise: redone with the options now
    return document
