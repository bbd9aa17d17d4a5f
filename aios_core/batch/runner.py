"""A batch from start to end: skip what the manifest says is finished, run the rest on the
embedded engine or on Ray, record every clip in the manifest as it finishes."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from aios_core.batch.jobs import BatchSettings, ClipJob, run_options
from aios_core.batch.manifest import BatchManifest
from aios_core.batch.progress import BatchProgress
from aios_core.pipeline.run import check_resume


@dataclass(frozen=True)
class EngineOptions:
    ray_address: str | None = None  # None: embedded; 'auto' or host:port: that Ray cluster
    workers: int | None = None  # None: one per GPU, else one (embedded) / one per CPU (Ray)
    gpus_per_worker: float = 1.0  # Ray only
    cpus_per_worker: int | None = None  # torch threads (and Ray CPUs) per worker


class Batch:
    """The clips of one `aios batch` command and what earlier runs already finished."""

    def __init__(self, jobs: list[ClipJob], out_dir: Path, settings: BatchSettings) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.manifest = BatchManifest(self.out_dir)
        self.settings = settings
        self.todo = [job for job in jobs if not self.manifest.is_finished(job, settings)]
        for job in self.todo:  # before any worker loads the model
            check_resume(run_options(settings, job, self.out_dir),
                         restart="remove its files from --out to start that clip over")
        self.progress = BatchProgress(total=len(jobs), skipped=len(jobs) - len(self.todo),
                                      on_record=self.manifest.commit)

    def run(self, engine: EngineOptions) -> BatchProgress:
        settings = self.settings
        if not self.todo:
            return self.progress
        if engine.ray_address is None:
            self._run_embedded(settings, engine)
        else:
            self._run_on_ray(settings, engine)
        return self.progress

    def _run_embedded(self, settings: BatchSettings, engine: EngineOptions) -> None:
        from aios_core.batch.embedded import default_workers, run_embedded

        workers = engine.workers or default_workers(settings.device)
        workers = min(workers, len(self.todo))
        threads = engine.cpus_per_worker or max((os.cpu_count() or 1) // workers, 1)
        run_embedded(self.todo, replace(settings, threads_per_worker=threads), self.out_dir,
                     workers, self.progress)

    def _run_on_ray(self, settings: BatchSettings, engine: EngineOptions) -> None:
        import ray

        from aios_core.batch.ray_engine import connect, default_workers, run_on_ray

        connect(engine.ray_address)
        try:
            cpus = engine.cpus_per_worker or 1
            workers = engine.workers or default_workers(engine.gpus_per_worker, cpus)
            has_gpus = ray.cluster_resources().get("GPU", 0) > 0
            run_on_ray(self.todo, replace(settings, threads_per_worker=cpus), self.out_dir,
                       min(workers, len(self.todo)), engine.gpus_per_worker if has_gpus else 0.0,
                       cpus, self.progress)
        finally:
            ray.shutdown()
