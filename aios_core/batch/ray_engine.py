"""The Ray engine: the same clips on a Ray cluster, Ray doing the distribution and recovery.

One long-lived actor per worker (``--gpus-per-worker`` GPUs, ``--cpus-per-worker`` CPUs,
spread over the nodes) holds the network; each clip is one actor task, at most two in flight
per actor so its GPU stays busy while the other clip decodes or writes. The driver only keeps
every actor fed, one new clip whenever one of its clips finishes, and writes the manifest.
Ray restarts an actor whose process or node died (``max_restarts``) and re-runs the clips it
held (``max_task_retries``, unbounded: a dead node's address keeps refusing until Ray notices
the death, and each refusal would use up a bounded count); a re-run resumes the clip's own
inference checkpoint. A clip whose worker died under it ``MAX_ATTEMPTS`` times (a clip that
crashes its decoder, say) is recorded as failed instead: each start is counted in a file under
``DIR/.aios_batch_attempts``, which every node sees. Decode,
tracking, writing and rendering run inside the actor, next to its GPU, so per clip only the
job and its record (under 1 kB each) cross the object store, never frames.

Inputs, DIR and the checkpoint must be at the same paths on every node (a shared file system).
"""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from collections import deque
from pathlib import Path

from aios_core.batch.clip_processor import CLIPS_AT_ONCE, ClipProcessor, one_line
from aios_core.batch.embedded import WorkerStartError
from aios_core.batch.jobs import BatchSettings, ClipJob
from aios_core.batch.manifest import FAILED, ClipRecord
from aios_core.batch.progress import BatchProgress
from aios_core.errors import AiosError
from aios_core.io.atomic import atomic_write_bytes

MAX_ATTEMPTS = 3  # starts of a clip whose worker keeps dying, before it is recorded as failed
ATTEMPTS_DIR = ".aios_batch_attempts"
_POLL_S = 0.2
_STOP_GRACE_S = 30.0


class RayClusterError(AiosError):
    """The Ray cluster cannot be reached or cannot host the workers asked for."""


class ClipActor:
    """A Ray actor holding one worker's network (the class is wrapped by ray.remote)."""

    def __init__(self, settings: BatchSettings, out_dir: str, name: str, device: str) -> None:
        self.processor = ClipProcessor(settings, Path(out_dir), name, device)
        self.attempts_dir = Path(out_dir) / ATTEMPTS_DIR

    def ready(self) -> str:
        return self.processor.name

    def process(self, job: ClipJob) -> ClipRecord:
        counter = self.attempts_dir / hashlib.sha1(job.key.encode()).hexdigest()
        earlier = int(counter.read_text()) if counter.is_file() else 0
        if earlier >= MAX_ATTEMPTS:
            counter.unlink(missing_ok=True)
            return ClipRecord(job.key, FAILED, worker=self.processor.name,
                              error=f"its worker died under it {earlier} times")
        atomic_write_bytes(counter, lambda stream: stream.write(str(earlier + 1).encode()))
        try:
            return self.processor.process(job)
        finally:  # finished, failed or stopped on request: its worker did not die
            counter.unlink(missing_ok=True)

    def stop(self) -> None:
        """Clips in progress save their checkpoints at their next batch and end."""
        self.processor.predictor.stop()


def check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """For a host:port address, fail within ``timeout_s`` when nothing listens there (Ray's
    own client retries for minutes)."""
    host, _, port = address.rpartition(":")
    if address == "auto" or address.startswith("ray://") or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)),
                                 timeout=timeout_s).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise RayClusterError(f"cannot connect to the Ray cluster at {address}: nothing "
                              f"answers there ({reason}); start it with `ray start --head`, "
                              "or check the address") from None


def connect(address: str) -> None:
    import ray

    check_reachable(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise RayClusterError(f"cannot connect to the Ray cluster at {address}: "
                              f"{one_line(error)}") from None


def default_workers(gpus_per_worker: float, cpus_per_worker: float) -> int:
    """One worker per ``gpus_per_worker`` GPUs of the cluster; on a CPU-only cluster, one per
    ``cpus_per_worker`` CPUs."""
    import ray

    resources = ray.cluster_resources()
    if gpus_per_worker > 0 and resources.get("GPU", 0) >= gpus_per_worker:
        return int(resources["GPU"] // gpus_per_worker)
    return max(int(resources.get("CPU", 1) // cpus_per_worker), 1)


def run_on_ray(jobs: list[ClipJob], settings: BatchSettings, out_dir: Path, workers: int,
               gpus_per_worker: float, cpus_per_worker: float, progress: BatchProgress) -> None:
    """Process ``jobs`` on the cluster ``connect`` joined; each finished clip to ``progress``."""
    import ray
    from ray.exceptions import RayActorError, RayError

    _check_resources(workers, gpus_per_worker, cpus_per_worker)
    actor_class = ray.remote(ClipActor).options(
        num_cpus=cpus_per_worker, num_gpus=gpus_per_worker, max_restarts=-1,
        max_task_retries=-1, max_concurrency=CLIPS_AT_ONCE + 1,  # + 1 for stop()
        scheduling_strategy="SPREAD",
    )
    device = "cuda" if gpus_per_worker > 0 else "cpu"
    names = [f"ray worker {index}" for index in range(workers)]
    actors = [actor_class.remote(settings, str(out_dir), name, device) for name in names]
    in_flight: dict = {}  # ObjectRef -> (actor index, job)
    waiting = deque(jobs)

    def submit(index: int) -> None:
        job = waiting.popleft()
        in_flight[actors[index].process.remote(job)] = (index, job)
        progress.clip_started(names[index], job.key)

    try:
        try:
            ray.get([actor.ready.remote() for actor in actors])
        except RayActorError as error:
            raise WorkerStartError(f"a Ray worker could not start: {_cause(error)}") from None
        for name in names:
            progress.current.setdefault(name, [])
        for index in range(workers):
            for _ in range(CLIPS_AT_ONCE):
                if waiting:
                    submit(index)
        while in_flight:
            finished, _ = ray.wait(list(in_flight), num_returns=1, timeout=_POLL_S)
            for ref in finished:
                index, job = in_flight.pop(ref)
                try:
                    record = ray.get(ref)
                except RayError as error:  # e.g. its actor could not be restarted
                    record = ClipRecord(job.key, FAILED, worker=names[index],
                                        error=f"its Ray worker failed: {_cause(error)}")
                progress.frames_done(record.frames)
                progress.clip_finished(record)
                if waiting:
                    submit(index)
    except BaseException:
        _stop(actors, list(in_flight))
        raise
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)


def _check_resources(workers: int, gpus_per_worker: float, cpus_per_worker: float) -> None:
    import ray

    resources = ray.cluster_resources()
    for kind, each in (("GPU", gpus_per_worker), ("CPU", cpus_per_worker)):
        if each and workers * each > resources.get(kind, 0):
            raise RayClusterError(
                f"{workers} workers x {each:g} {kind} need {workers * each:g} {kind}s, the "
                f"cluster has {resources.get(kind, 0):g}; lower --workers or "
                f"--{kind.lower()}s-per-worker"
            )


def _stop(actors: list, in_flight: list) -> None:
    """Let the clips in progress save their checkpoints, for a while."""
    import ray

    try:
        ray.get([actor.stop.remote() for actor in actors], timeout=_STOP_GRACE_S)
        deadline = time.monotonic() + _STOP_GRACE_S
        while in_flight and time.monotonic() < deadline:
            _, in_flight = ray.wait(in_flight, num_returns=len(in_flight), timeout=_POLL_S)
    except Exception:  # noqa: BLE001 - stopping is best effort; every write is atomic anyway
        pass


def _cause(error: BaseException) -> str:
    """The last informative line of a Ray error (its text carries a whole traceback)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
