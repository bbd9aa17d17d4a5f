"""Frames per second of the whole `aios run` command on the CPU, and how busy it keeps the cores.

Generates a clip (default 640x360, 8 frames of moving texture) and a checkpoint of the released
architecture with random weights and a random embedded body model (the arithmetic per frame is
that of the trained network), then runs the real command in a fresh process, as a user types it:

    aios run clip.mp4 --checkpoint ckpt.pth --device cpu --precision P --render overlay.mp4

and reports, per precision: wall seconds, frames per second (whole command, and its inference
stage alone, from the run's summary file), the stages' seconds, and cores busy = CPU seconds
of the process / wall seconds, over the whole command and sampled over its inference stage
(from /proc, every 0.2 s). The network resizes every frame to the official test size (a 640x360
frame becomes 750x1333), so inference dominates.

    python3 bench/bench_run_cpu.py --precisions fp32,bf16 --frames 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def write_checkpoint(path: Path) -> Path:
    """The released architecture, random weights and body model, with its config recorded."""
    import torch

    from aios_core.model.config import AiOSConfig
    from aios_core.model.config_record import MODEL_CONFIG_KEY, config_record
    from aios_core.model.embedded_body_model import random_body_model_buffers
    from aios_core.model.network import AiOS

    torch.manual_seed(0)
    config = AiOSConfig()
    model = AiOS(config)
    random_body_model_buffers(model.body_model, torch.Generator().manual_seed(0))
    torch.save({"model": model.state_dict(), MODEL_CONFIG_KEY: config_record(config)}, path)
    return path


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime + stime


def _sample_cpu(pid: int, samples: list[tuple[float, float]], done: threading.Event) -> None:
    while not done.is_set():
        cpu = _cpu_seconds(pid)
        if cpu is not None:
            samples.append((time.monotonic(), cpu))
        done.wait(0.2)


def run_once(folder: Path, clip: Path, checkpoint: Path, precision: str) -> dict:
    results = folder / f"{precision}.aios.npz"
    command = [sys.executable, "-m", "aios_cli", "run", str(clip), "--checkpoint",
               str(checkpoint), "--device", "cpu", "--precision", precision,
               "--render", str(folder / f"{precision}.mp4"), "--out", str(results), "--quiet"]
    samples: list[tuple[float, float]] = []
    done = threading.Event()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with open(folder / f"{precision}.stderr.txt", "w") as stderr:
        child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
        sampler = threading.Thread(target=_sample_cpu, args=(child.pid, samples, done),
                                   daemon=True)
        sampler.start()
        code = child.wait()
    wall_s = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"aios run failed ({code}):\n"
                         f"{(folder / f'{precision}.stderr.txt').read_text()[-3000:]}")
    summary = json.loads(results.with_suffix(".json").read_text())
    stages = summary["seconds"]
    frames = summary["frames"]
    # The stages run one after another, inference first and the others right after it, so
    # inference is the stretch of that length ending where the rest of them begins.
    end = started + wall_s - sum(v for k, v in stages.items() if k != "inference")
    window = [(t, c) for t, c in samples if end - stages["inference"] <= t <= end]
    busy_inference = ((window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
                      if len(window) > 2 else None)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"precision": precision, "frames": frames, "wall_s": wall_s,
            "fps": frames / wall_s, "inference_fps": frames / stages["inference"],
            "stages_s": stages, "cores_busy": cpu_s / wall_s,
            "cores_busy_inference": busy_inference}


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
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_run_stages import write_clip

        clip = write_clip(folder / "clip.mp4", args.frames, args.width, args.height, fps=25)
        checkpoint = write_checkpoint(folder / "random_full_size.pth")
        for _ in range(args.rounds):
            for precision in args.precisions.split(","):
                run = run_once(folder, clip, checkpoint, precision)
                runs.setdefault(precision, []).append(run)
                print(json.dumps(run), flush=True)

    print(f"\n`aios run` on {args.width}x{args.height}, {args.frames} frames, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"median of {args.rounds}")
    print(f"{'precision':>9} {'wall s':>7} {'fps':>6} {'infer fps':>9} {'cores busy':>10} "
          f"{'busy in inference':>17}")
    for precision, items in runs.items():
        def median(key: str, items: list[dict] = items) -> float:
            return statistics.median(r[key] for r in items if r[key] is not None)
        print(f"{precision:>9} {median('wall_s'):>7.1f} {median('fps'):>6.3f} "
              f"{median('inference_fps'):>9.3f} {median('cores_busy'):>10.2f} "
              f"{median('cores_busy_inference'):>17.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"run_cpu_{args.width}x{args.height}.json"
    path.write_text(json.dumps({"benchmark": "bench/bench_run_cpu.py", "runs": runs}, indent=2))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
