"""One worker's model and the processing of one clip with it (the `aios run` pipeline).

A worker loads the network once and may run two clips at a time: while one clip is inferred,
the other decodes, tracks, writes or renders; the network itself is used by one clip at a time
(``SharedPredictor``), so every clip's numbers are those of a plain `aios run`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from aios_core.batch.jobs import BatchSettings, ClipJob, export_path, run_options
from aios_core.batch.manifest import DONE, FAILED, ClipRecord
from aios_core.inference.results import ImageResult

CLIPS_AT_ONCE = 2  # per worker: one inferring, one decoding / writing


class Stopping(KeyboardInterrupt):
    """The worker was asked to stop; the clip in progress saves its checkpoint and ends."""


class SharedPredictor:
    """A predictor used by one clip at a time; raises Stopping once ``stop()`` was called."""

    def __init__(self, predictor: Callable[[Sequence[np.ndarray]], list[ImageResult]]) -> None:
        self._predictor = predictor
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def __call__(self, images: Sequence[np.ndarray]) -> list[ImageResult]:
        with self._lock:
            if self._stop.is_set():
                raise Stopping("worker stopping")
            return self._predictor(images)


class ClipProcessor:
    """The network (loaded once) and what turns a ClipJob into its outputs and a ClipRecord."""

    def __init__(self, settings: BatchSettings, out_dir: Path, name: str,
                 device: str | None = None) -> None:
        import torch

        from aios_core.device import choose_device
        from aios_core.inference.predictor import NetworkPredictor, load_network

        if settings.threads_per_worker:
            torch.set_num_threads(settings.threads_per_worker)
        self.settings = settings
        self.out_dir = Path(out_dir)
        self.name = name
        model, self.meshes = load_network(settings.checkpoint, choose_device(device or
                                          settings.device), settings.smplx_dir)
        self.predictor = SharedPredictor(NetworkPredictor(model, settings.threshold,
                                                          settings.precision))
        self._export_body = None

    def process(self, job: ClipJob, on_frames: Callable[[int], None] | None = None) -> ClipRecord:
        """Run the clip (resuming its own checkpoint); a broken clip is a failed record."""
        from aios_core.pipeline.run import run_pipeline

        started = time.perf_counter()
        options = run_options(self.settings, job, self.out_dir)
        try:
            options.resolved_results_path().parent.mkdir(parents=True, exist_ok=True)
            summary = run_pipeline(options, self.predictor, self.meshes, on_frames)
            outputs = [summary.results_path, summary.summary_path]
            outputs += [summary.render_path] if summary.render_path else []
            outputs += self._export(job, summary.results_path)
        except Exception as error:  # noqa: BLE001 - one broken clip must not end the batch
            return ClipRecord(job.key, FAILED, seconds=time.perf_counter() - started,
                              error=one_line(error), worker=self.name)
        return ClipRecord(
            job.key, DONE, [Path(p).relative_to(self.out_dir).as_posix() for p in outputs],
            frames=summary.frames, seconds=round(time.perf_counter() - started, 3),
            worker=self.name,
        )

    def _export(self, job: ClipJob, results_file: Path) -> list[Path]:
        if not self.settings.exports:
            return []
        from aios_core.body.smplx_model import SmplxModel
        from aios_core.export import ExportOptions
        from aios_core.export.exporter import export_results
        from aios_core.results.results_file import load_results

        if self._export_body is None:
            self._export_body = SmplxModel(self.settings.smplx_dir)
        results = load_results(results_file)
        written: list[Path] = []
        for file_format in self.settings.exports:
            out = export_path(self.out_dir, job, file_format)
            files = export_results(results, self._export_body, ExportOptions(file_format, out))
            written += [out] if file_format in ("obj", "ply") else files  # a mesh folder: once
        return written


def one_line(error: BaseException) -> str:
    """An error as one line: its message, or its type when it has none."""
    text = " ".join(str(error).split())
    return text or type(error).__name__
