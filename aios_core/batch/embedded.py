"""The embedded engine: worker processes on this machine, no cluster software.

Each worker process (started with ``spawn``, so no CUDA or thread state is inherited) loads the
network once, then takes clips from one shared queue, two at a time (see clip_processor). Only
this (driver) process writes the manifest. Workers ignore SIGINT: on Ctrl-C or SIGTERM the
driver sends each worker SIGTERM, the clips in progress save their checkpoints at the next
batch boundary, and the workers exit. A worker that dies (out of memory, a crash in a codec)
has its clips recorded as failed and is replaced.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
import time
from pathlib import Path

from aios_core.batch.clip_processor import CLIPS_AT_ONCE, ClipProcessor, Stopping, one_line
from aios_core.batch.jobs import BatchSettings, ClipJob
from aios_core.batch.manifest import FAILED, ClipRecord
from aios_core.batch.progress import BatchProgress
from aios_core.errors import AiosError, termination_signals_as_interrupts

_POLL_S = 0.2
_STOP_GRACE_S = 60.0  # how long a stopping worker may take to save its checkpoints


class WorkerStartError(AiosError):
    """A worker could not load the network (bad checkpoint, device); the batch cannot run."""


def _uses_cuda(device: str) -> bool:
    import torch

    return device == "cuda" or (device == "auto" and torch.cuda.is_available())


def default_workers(device: str) -> int:
    """One worker per GPU when CUDA is used, else one (it uses every CPU core)."""
    import torch

    return max(torch.cuda.device_count(), 1) if _uses_cuda(device) else 1


def worker_devices(device: str, workers: int) -> list[str]:
    """The torch device of each worker: GPUs round robin when CUDA is used, else the CPU."""
    import torch

    if not _uses_cuda(device):
        return [device if device != "auto" else "cpu"] * workers
    count = max(torch.cuda.device_count(), 1)
    return [f"cuda:{index % count}" for index in range(workers)]


def run_embedded(jobs: list[ClipJob], settings: BatchSettings, out_dir: Path, workers: int,
                 progress: BatchProgress) -> None:
    """Process ``jobs`` with ``workers`` processes; each finished clip goes to ``progress``."""
    context = multiprocessing.get_context("spawn")
    job_queue, events = context.Queue(), context.Queue()
    for job in jobs:
        job_queue.put(job)
    devices = worker_devices(settings.device, workers)
    pool = _WorkerPool(context, settings, out_dir, job_queue, events)
    for index, device in enumerate(devices):
        pool.start(f"worker {index}", device)
    pending = {job.key for job in jobs}
    replacements_left = workers
    last_check_s = time.monotonic()
    try:
        while pending:
            try:
                _handle(events.get(timeout=_POLL_S), pool, pending, progress)
            except queue.Empty:
                pass
            if time.monotonic() - last_check_s > _POLL_S:  # also while events keep coming
                last_check_s = time.monotonic()
                for name, exit_code, clips in pool.reap_dead():
                    progress.worker_gone(name)
                    for clip in clips & pending:
                        pending.discard(clip)
                        progress.clip_finished(ClipRecord(
                            clip, FAILED, error=f"its worker process died (exit code {exit_code})",
                            worker=name))
                    if pending and replacements_left:
                        replacements_left -= 1
                        pool.start(f"{name}'", pool.devices[name])
                if pending and not pool.alive():
                    _drain(events, pool, pending, progress)  # sent just before the last exit
                if pending and not pool.alive():
                    raise WorkerStartError("every worker process died; see the manifest errors")
    except BaseException:
        pool.stop()
        raise
    finally:
        pool.close()


def _drain(events, pool: _WorkerPool, pending: set[str], progress: BatchProgress) -> None:
    while True:
        try:
            _handle(events.get(timeout=_POLL_S), pool, pending, progress)
        except queue.Empty:
            return


def _handle(event: tuple, pool: _WorkerPool, pending: set[str], progress: BatchProgress) -> None:
    kind, name, payload = event
    if kind == "fatal":
        raise WorkerStartError(f"{name} could not start: {payload}")
    if kind == "ready":
        progress.current.setdefault(name, [])
    elif kind == "start":
        pool.in_progress[name].add(payload)
        progress.clip_started(name, payload)
    elif kind == "frames":
        progress.frames_done(payload)
    elif kind == "done":
        pool.in_progress[name].discard(payload.input)
        pending.discard(payload.input)
        progress.clip_finished(payload)


class _WorkerPool:
    def __init__(self, context, settings, out_dir, job_queue, events) -> None:
        self.context, self.settings, self.out_dir = context, settings, out_dir
        self.job_queue, self.events = job_queue, events
        self.processes: dict[str, multiprocessing.Process] = {}
        self.in_progress: dict[str, set[str]] = {}
        self.devices: dict[str, str] = {}  # the device of each worker and of its replacement

    def start(self, name: str, device: str) -> None:
        for _ in range(CLIPS_AT_ONCE):
            self.job_queue.put(None)  # one end marker per clip thread of this worker
        process = self.context.Process(
            target=_worker_main, name=f"aios batch {name}", daemon=True,
            args=(name, device, self.settings, self.out_dir, self.job_queue, self.events),
        )
        process.start()
        self.processes[name] = process
        self.in_progress[name] = set()
        self.devices[f"{name}'"] = self.devices[name] = device

    def alive(self) -> bool:
        return any(process.is_alive() for process in self.processes.values())

    def reap_dead(self) -> list[tuple[str, int | None, set[str]]]:
        """Workers that exited with an error, with the clips they held."""
        dead = [(name, process.exitcode) for name, process in self.processes.items()
                if not process.is_alive() and process.exitcode]
        for name, _ in dead:
            del self.processes[name]
        return [(name, code, self.in_progress.pop(name)) for name, code in dead]

    def stop(self) -> None:
        """Ask every worker to stop (SIGTERM); wait for their checkpoints, then kill."""
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        for process in self.processes.values():
            process.join(_STOP_GRACE_S)
            if process.is_alive():
                process.kill()

    def close(self) -> None:
        for process in self.processes.values():
            process.join(_STOP_GRACE_S)
        for channel in (self.job_queue, self.events):
            channel.cancel_join_thread()  # unread end markers must not block our exit
            channel.close()


def _worker_main(name: str, device: str, settings: BatchSettings, out_dir: Path,
                 job_queue, events) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when a worker stops
    with termination_signals_as_interrupts():
        try:
            processor = ClipProcessor(settings, out_dir, name, device)
        except KeyboardInterrupt:
            return
        except Exception as error:  # noqa: BLE001 - reported to the driver as one line
            events.put(("fatal", name, one_line(error)))
            return
        events.put(("ready", name, None))
        threads = [threading.Thread(target=_clip_loop, args=(processor, job_queue, events),
                                    daemon=True) for _ in range(CLIPS_AT_ONCE)]
        for thread in threads:
            thread.start()
        try:
            _wait_for(threads)
        except KeyboardInterrupt:
            processor.predictor.stop()
            _wait_for(threads)


def _wait_for(threads: list[threading.Thread]) -> None:
    # Sleeping, not Thread.join: a signal that interrupts join() can leave CPython (< 3.13)
    # believing the thread has ended, and the process would exit under a running clip.
    while any(thread.is_alive() for thread in threads):
        time.sleep(_POLL_S)


def _clip_loop(processor: ClipProcessor, job_queue, events) -> None:
    while True:
        job = job_queue.get()
        if job is None:
            return
        events.put(("start", processor.name, job.key))
        try:
            record = processor.process(job, lambda n: events.put(("frames", processor.name, n)))
        except Stopping:
            return  # its checkpoint is saved; the next run resumes it
        events.put(("done", processor.name, record))
