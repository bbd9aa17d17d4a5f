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

from aios_core.batch.jobs import ClipJob
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

    def is_finished(self, job: ClipJob) -> bool:
        """Done in an earlier run, and every output it listed is still there."""
        record = self.records.get(job.key)
        return (record is not None and record.status == DONE
                and all((self.out_dir / output).exists() for output in record.outputs))

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


def _line(record: ClipRecord) -> str:
    return json.dumps(asdict(record), separators=(",", ":")) + "\n"
