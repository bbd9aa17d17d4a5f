"""Frames per second of the whole `aios run` command on the CPU, and how busy it keeps the cores.

The CPU counterpart of ``bench/gpu/end_to_end.py``, with its pieces: a generated clip (default
640x360, 8 frames), a checkpoint of the released architecture with random weights, and the real
command in a fresh process, every frame drawing 3 people:

    aios run clip.mp4 --checkpoint ckpt.pth --device cpu --precision P --render overlay.mp4 \\
        --threshold 0 --num-people 3

Reported per precision: wall seconds, frames per second (whole command, and its inference stage
alone, from the run's summary file), the stages' seconds, and cores busy: the machine's busy
CPU time (/proc/stat, sampled every 0.2 s) per wall second, over the whole command and over its
inference stage. Run it on an otherwise idle machine. The network resizes every frame to the
official test size (a 640x360 frame becomes 750x1333), so inference dominates.

    python3 bench/bench_run_cpu.py --precisions fp32,bf16 --frames 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "bench" / "gpu"))
sys.path.insert(0, str(REPO / "tests"))
from bench_run_stages import write_clip  # noqa: E402
from end_to_end import run_once  # noqa: E402
from tiny_network import write_tiny_checkpoint  # noqa: E402

from aios_core.model.config import AiOSConfig  # noqa: E402

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class CpuBusySampler:
    """(monotonic time, busy CPU-seconds of the whole machine so far) every 0.2 s in a thread."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _busy_s() -> float:
        # First line of /proc/stat: user nice system idle iowait irq softirq steal ... (ticks).
        user, nice, system, _idle, _iowait, irq, softirq = (
            int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8])
        return (user + nice + system + irq + softirq) / TICKS_PER_S

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self._busy_s()))
            self._stop.wait(0.2)

    def __enter__(self) -> CpuBusySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def cores_busy(self, start: float, end: float) -> float | None:
        """Average busy cores between two monotonic times (None: fewer than 3 samples there)."""
        window = [(t, busy) for t, busy in self.samples if start <= t <= end]
        if len(window) < 3:
            return None
        return (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])


def measure(folder: Path, clip: Path, checkpoint: Path, precision: str) -> dict:
    with CpuBusySampler() as sampler:
        row = run_once(clip, checkpoint, folder, None, "cpu", precision, None)
    if row["rc"] != 0:
        raise SystemExit(f"aios run failed ({row['rc']}):\n{row['stderr_tail']}")
    stages = row["stage_seconds"]
    # The stages run one after another, inference first, so inference is the stretch of its
    # length that ends where the rest of them begins.
    inference_end = row["ended_at"] - sum(s for k, s in stages.items() if k != "inference")
    return {"precision": precision, "frames": row["frames"], "wall_s": row["wall_s"],
            "fps": row["fps_overall"], "inference_fps": row["stage_fps"]["inference"],
            "stages_s": stages,
            "cores_busy": sampler.cores_busy(row["ended_at"] - row["wall_s"], row["ended_at"]),
            "cores_busy_inference": sampler.cores_busy(inference_end - stages["inference"],
                                                       inference_end)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="aios-bench-run-") as scratch:
        folder = Path(scratch)
        clip = write_clip(folder / "clip.mp4", args.frames, args.width, args.height, fps=25)
        checkpoint = write_tiny_checkpoint(folder / "random_full_size.pth", AiOSConfig())
        for _ in range(args.rounds):
            for precision in args.precisions.split(","):
                run = measure(folder, clip, checkpoint, precision)
                runs.setdefault(precision, []).append(run)
                print(json.dumps(run), flush=True)

    print(f"\n`aios run` on {args.width}x{args.height}, {args.frames} frames, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"median of {args.rounds}")
    print(f"{'precision':>9} {'wall s':>7} {'fps':>6} {'infer fps':>9} {'cores busy':>10} "
          f"{'busy in inference':>17}")

    def median(items: list[dict], key: str) -> float:
        values = [r[key] for r in items if r[key] is not None]
        return statistics.median(values) if values else float("nan")

    for precision, items in runs.items():
        print(f"{precision:>9} {median(items, 'wall_s'):>7.1f} {median(items, 'fps'):>6.3f} "
              f"{median(items, 'inference_fps'):>9.3f} {median(items, 'cores_busy'):>10.2f} "
              f"{median(items, 'cores_busy_inference'):>17.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"run_cpu_{args.width}x{args.height}.json"
    path.write_text(json.dumps({"benchmark": "bench/bench_run_cpu.py", "runs": runs}, indent=2))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
