"""The live state of a batch that the progress display shows; engines report into it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aios_core.batch.manifest import DONE, ClipRecord


@dataclass
class BatchProgress:
    total: int  # clips named by the inputs
    skipped: int = 0  # finished in an earlier run
    done: int = 0
    failed: int = 0
    frames: int = 0  # frames inferred in this run, over all workers
    current: dict[str, list[str]] = field(default_factory=dict)  # worker -> clips in progress
    failures: list[ClipRecord] = field(default_factory=list)
    started_s: float = field(default_factory=time.monotonic)
    on_record: Callable[[ClipRecord], None] | None = None  # called for each finished clip
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def clip_started(self, worker: str, clip: str) -> None:
        with self._lock:
            self.current.setdefault(worker, []).append(clip)

    def frames_done(self, frames: int) -> None:
        with self._lock:
            self.frames += frames

    def worker_gone(self, worker: str) -> None:
        with self._lock:
            self.current.pop(worker, None)

    def clip_finished(self, record: ClipRecord) -> None:
        if self.on_record is not None:
            self.on_record(record)
        with self._lock:
            for clips in self.current.values():
                if record.input in clips:
                    clips.remove(record.input)
            if record.status == DONE:
                self.done += 1
            else:
                self.failed += 1
                self.failures.append(record)

    @property
    def remaining(self) -> int:
        return self.total - self.skipped - self.done - self.failed

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_s

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Time left at this run's clip rate so far; None before the first clip finished."""
        finished = self.done + self.failed
        if not finished:
            return None
        return self.remaining * self.elapsed_s / finished
