"""``DIR/batch_manifest.jsonl``: what a batch finished, one JSON line per clip outcome.

Each line is a ``ClipRecord`` (input, outputs relative to DIR, status ``done`` or ``failed``,
frames, seconds, error). A clip's outputs are all in place (each written atomically) before its
line is appended, and a line is appended with one write and an fsync, so a crash leaves at most
a torn last line. Opening the manifest drops such a line and keeps the latest record per input,
rewriting the file atomically (aios_core.io.atomic), so it stays one line per clip across
reruns.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aios_core.batch.jobs import BatchSettings, ClipJob, export_path, render_path
from aios_core.io.atomic import atomic_write_bytes

MANIFEST_NAME = "batch_manifest.jsonl"
DONE, FAILED = "done", "failed"


@dataclass
class ClipRecord:
    input: str
    status: str  # DONE or FAILED
    outputs: list[str] = field(default_factory=list)  # relative to DIR
    frames: int = 0
    seconds: float = 0.0
    error: str | None = None  # one line, for a failed clip
    worker: str = ""  # which worker processed it (informative)


class BatchManifest:
    """The records of ``DIR``'s earlier and current runs, latest per input."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / MANIFEST_NAME
        self.records: dict[str, ClipRecord] = {}
        if self.path.is_file():
            self._load_and_compact()

    def _load_and_compact(self) -> None:
        for line in self.path.read_bytes().splitlines():
            try:
                record = ClipRecord(**json.loads(line))
            except (ValueError, TypeError):
                continue  # a torn last line from a crash; its clip is simply redone
            self.records[record.input] = record
        text = "".join(_line(record) for record in self.records.values())
        atomic_write_bytes(self.path, lambda stream: stream.write(text.encode()))

    def is_finished(self, job: ClipJob, settings: BatchSettings) -> bool:
        """Done in an earlier run, every output it listed still there, and among them the
        overlay and exports ``settings`` now ask for (a rerun may add ``--render``)."""
        record = self.records.get(job.key)
        if record is None or record.status != DONE:
            return False
        if not all((self.out_dir / output).exists() for output in record.outputs):
            return False
        return all(_written(record.outputs, path.relative_to(self.out_dir).as_posix())
                   for path in _asked_extras(self.out_dir, job, settings))

    def commit(self, record: ClipRecord) -> None:
        """Append ``record`` durably (one write, fsync)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(handle, _line(record).encode())
            os.fsync(handle)
        finally:
            os.close(handle)
        self.records[record.input] = record


def _asked_extras(out_dir: Path, job: ClipJob, settings: BatchSettings) -> list[Path]:
    extras = [render_path(out_dir, job)] if settings.render else []
    return extras + [export_path(out_dir, job, file_format) for file_format in settings.exports]


def _written(outputs: list[str], wanted: str) -> bool:
    """``wanted`` is among ``outputs``, or its per-person files ``<stem>_track<ID>.<ext>``."""
    stem, suffix = os.path.splitext(wanted)
    return wanted in outputs or any(
        output.startswith(f"{stem}_track") and output.endswith(suffix) for output in outputs)


def _line(record: ClipRecord) -> str:
    return json.dumps(asdict(record), separators=(",", ":")) + "\n"
