"""`aios batch`: per-clip overhead over a plain `aios run`, throughput with 1 and 2 workers
(embedded and on a local Ray head), and the measured parts of a cluster scaling estimate.

    PYTHONPATH=. python3 bench/bench_batch.py --clips 6 --frames 6 --repeats 2

The network is the tests' tiny random network at a 64 px inference size, so inference is cheap
and the batch machinery (worker start-up, hand-over, manifest, tracking and writing) is what is
timed. Per-clip overhead is the steady-state interval between clip completions of an N-clip batch
(times the worker count; start-up, before the first completion, is left out) minus the time the
same clip takes in `run_pipeline` with the model already loaded — what `aios run` spends on a
clip once its process and model are up.
Plain and batch runs alternate, `--repeats` times; medians are reported. Also measured: worker
and Ray actor start-up, bytes a clip puts through Ray's object store, and (on a generated 720p
clip) decode and results-write time per frame, from which the scaling estimate is computed.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aios_core.batch.inputs import plan_clips  # noqa: E402
from aios_core.batch.jobs import BatchSettings, ClipJob  # noqa: E402
from aios_core.batch.manifest import DONE, ClipRecord  # noqa: E402
from aios_core.batch.runner import Batch, EngineOptions  # noqa: E402
from aios_core.inference.predictor import NetworkPredictor  # noqa: E402
from aios_core.model.network import AiOS  # noqa: E402
from aios_core.pipeline.run import RunOptions, run_pipeline  # noqa: E402
from aios_core.video import MediaReader  # noqa: E402
from bench.bench_run_stages import write_clip  # noqa: E402
from tests.batch_clips import private_ray_head, write_clip_tree  # noqa: E402
from tests.tiny_network import write_tiny_checkpoint  # noqa: E402


def plain_seconds_per_clip(clips: list[Path], checkpoint: Path, work: Path) -> float:
    """Median time of one clip through run_pipeline, model loaded once, one CPU thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        predictor = NetworkPredictor(AiOS.from_checkpoint(checkpoint), threshold=0.0)
        times = []
        for index, clip in enumerate(clips):
            started = time.perf_counter()
            run_pipeline(RunOptions(clip, results_path=work / f"plain{index}.aios.npz",
                                    batch_size=2, num_people=2), predictor)
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    finally:
        torch.set_num_threads(threads)


def batch_timings(inputs: list[Path], settings: BatchSettings, engine: EngineOptions,
                  work: Path) -> tuple[float, list[float]]:
    """Wall time of a batch and the time (from its start) at which each clip was recorded."""
    out = Path(tempfile.mkdtemp(dir=work, prefix="batch"))
    run = Batch(plan_clips(inputs), out, settings)
    commit, finished = run.progress.on_record, []

    def timed_commit(record: ClipRecord) -> None:
        commit(record)
        finished.append(time.perf_counter() - started)

    run.progress.on_record = timed_commit
    started = time.perf_counter()
    progress = run.run(engine)
    assert progress.done == len(inputs), progress.failures
    return time.perf_counter() - started, finished


def object_store_bytes_per_clip(job: ClipJob) -> int:
    """The job sent to an actor and the record it returns (pickled, as Ray sends them)."""
    record = ClipRecord(job.key, DONE, [f"{job.out_stem}.aios.npz", f"{job.out_stem}.aios.json"],
                        frames=300, seconds=12.5, worker="ray worker 12")
    return len(pickle.dumps(job)) + len(pickle.dumps(record))


def decode_and_write_per_frame(work: Path, frames: int) -> dict[str, float]:
    """On a generated 720p clip: decode s/frame (one PyAV stream), tracking + results write."""
    clip = write_clip(work / "hd.mp4", frames, 1280, 720, 25)
    started = time.perf_counter()
    count = sum(1 for _ in MediaReader(clip))
    decode = (time.perf_counter() - started) / count
    checkpoint = write_tiny_checkpoint(work / "tiny_hd.pth")
    predictor = NetworkPredictor(AiOS.from_checkpoint(checkpoint), threshold=0.0)
    summary = run_pipeline(RunOptions(clip, results_path=work / "hd.aios.npz", batch_size=4,
                                      num_people=3), predictor)
    return {"decode_s_per_frame_720p": decode,
            "track_and_write_s_per_frame": summary.seconds["tracking"] / summary.frames}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=6, help="clips in the N-clip batches")
    parser.add_argument("--frames", type=int, default=6, help="frames per clip")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aios_bench_batch"))
    clip_dir = write_clip_tree(work / "clips", {f"c{i}.mp4": args.frames
                                                for i in range(args.clips)})
    clips = sorted(clip_dir.glob("*.mp4"))
    checkpoint = write_tiny_checkpoint(work / "tiny.pth")
    settings = BatchSettings(checkpoint=str(checkpoint), device="cpu", threshold=0.0,
                             batch_size=2, num_people=2)
    engines = {"embedded, 1 worker": EngineOptions(workers=1, cpus_per_worker=1),
               "embedded, 2 workers": EngineOptions(workers=2, cpus_per_worker=1)}
    measured: dict[str, list[float]] = {"plain": []}
    head = None if args.no_ray else private_ray_head(num_cpus=2)
    if head is not None:
        address = head.__enter__()
        engines["ray, 1 worker"] = EngineOptions(ray_address=address, workers=1,
                                                 cpus_per_worker=1)
        engines["ray, 2 workers"] = EngineOptions(ray_address=address, workers=2,
                                                  cpus_per_worker=1)
    try:
        for _ in range(args.repeats):  # alternate plain and batch runs (the machine is shared)
            measured["plain"].append(plain_seconds_per_clip(clips, checkpoint, work))
            for name, engine in engines.items():
                wall, finished = batch_timings(clips, settings, engine, work)
                measured.setdefault(f"{name}: wall", []).append(wall)
                measured.setdefault(f"{name}: first clip", []).append(finished[0])
                # Steady state: the interval between clip completions once the workers are up.
                steady = (finished[-1] - finished[0]) / (len(finished) - 1)
                measured.setdefault(f"{name}: steady", []).append(steady)
    finally:
        if head is not None:
            head.__exit__(None, None, None)

    median = {name: statistics.median(values) for name, values in measured.items()}
    plain = median["plain"]
    report: dict = {"clips": args.clips, "frames_per_clip": args.frames, "repeats": args.repeats,
                    "plain_run_pipeline_s_per_clip": plain, "runs": measured, "engines": {}}
    for name, engine in engines.items():
        steady = median[f"{name}: steady"]
        workers = engine.workers or 1
        report["engines"][name] = {
            "wall_s": median[f"{name}: wall"],
            "start_up_s": median[f"{name}: first clip"] - plain,
            "steady_s_per_clip": steady,
            # One worker holds two clips at once, so its steady interval is per clip of
            # throughput; the overhead is what a clip costs beyond run_pipeline's time.
            "overhead_s_per_clip": steady * workers - plain,
            "ratio_to_plain": steady * workers / plain,
            "clips_per_s_steady": 1 / steady,
            "frames_per_s_steady": args.frames / steady,
        }
    report["object_store_bytes_per_clip"] = object_store_bytes_per_clip(plan_clips(clips)[0])
    report.update(decode_and_write_per_frame(work, frames=50))
    report["torch_threads"] = torch.get_num_threads()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_batch.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
