"""`aios run` end to end with `--render` on a generated clip: frames per second overall and per
stage (from the run's own summary JSON), and how busy the GPU was (nvidia-smi sampled at 10 Hz).

    python3 bench/gpu/end_to_end.py --json e2e.json                 # GPU: 1280x720, 300 frames
    python3 bench/gpu/end_to_end.py --json e2e.json --dry-run       # CPU: tiny network and clip

Random weights (released architecture; the tiny test network at a tiny input size in the dry
run) saved as a checkpoint that records its config; every frame draws 3 people (--threshold 0
--num-people 3), so the render load does not depend on what random weights happen to detect.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
from bench_run_stages import write_clip  # noqa: E402
from tiny_network import TINY_SMALL_INPUT, write_tiny_checkpoint  # noqa: E402

from aios_core.model.config import AiOSConfig  # noqa: E402


class GpuBusySampler:
    """Samples `nvidia-smi`'s utilisation.gpu every 100 ms in a thread (None: no nvidia-smi)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        command = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.is_set():
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=5)
                self.samples.append(float(done.stdout.split()[0]))
            except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                return
            self._stop.wait(0.1)

    def __enter__(self) -> GpuBusySampler:
        if shutil.which("nvidia-smi"):
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def busy_fraction(self) -> float | None:
        return sum(self.samples) / len(self.samples) / 100 if self.samples else None


def run_once(clip: Path, checkpoint: Path, folder: Path, batch: int | None, device: str,
             precision: str, max_frames: int | None) -> dict:
    """One `aios run --render` in a fresh process (batch None: the command's own choice);
    wall seconds, the monotonic time it ended at, and its summary's frames and stage seconds."""
    name = f"{precision}_b{batch or 'auto'}"
    out = folder / f"render_{name}.mp4"
    results = folder / f"results_{name}.npz"
    command = [sys.executable, "-m", "aios_cli", "run", str(clip), "--render", str(out),
               "--out", str(results), "--checkpoint", str(checkpoint), "--device", device,
               "--precision", precision, "--threshold", "0", "--num-people", "3", "--quiet"]
    if batch:
        command += ["--batch-size", str(batch)]
    if max_frames:
        command += ["--max-frames", str(max_frames)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    ended_at = time.monotonic()
    row: dict = {"batch": batch, "precision": precision, "rc": done.returncode,
                 "wall_s": ended_at - start, "ended_at": ended_at}
    if done.returncode != 0:
        row["stderr_tail"] = done.stderr[-2000:]
        return row
    summary = json.loads(results.with_suffix(".json").read_text())
    frames = summary["frames"]
    row.update(frames=frames, fps_overall=frames / row["wall_s"],
               stage_seconds=summary["seconds"],
               stage_fps={stage: frames / s for stage, s in summary["seconds"].items() if s > 0})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--batches", default=None, help="comma-separated (default 1,16)")
    args = parser.parse_args()
    dry = args.dry_run
    device = "cpu" if dry else "cuda"
    width, height, frames = (160, 96, 6) if dry else (1280, 720, 300)
    batches = [int(b) for b in (args.batches or ("1,2" if dry else "1,16")).split(",")]
    record: dict = {"clip": f"{width}x{height}, {frames} frames @30 fps, generated",
                    "device": device, "runs": []}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        clip = write_clip(folder / "clip.mp4", frames, width, height, 30)
        checkpoint = write_tiny_checkpoint(folder / "random.pth",
                                           TINY_SMALL_INPUT if dry else AiOSConfig())
        for batch in batches:
            # batch 1 on a third of the clip: its rate is what matters, not its length
            limit = None if batch == max(batches) or dry else frames // 3
            with GpuBusySampler() as sampler:
                row = run_once(clip, checkpoint, folder, batch, device,
                               "fp32" if dry else "bf16", limit)
            row["gpu_busy_fraction"] = sampler.busy_fraction()
            record["runs"].append(row)
            args.json.write_text(json.dumps(record, indent=2))
            print(json.dumps({k: v for k, v in row.items() if k != "stderr_tail"}), flush=True)
            if row["rc"] != 0:
                print(row["stderr_tail"], file=sys.stderr)
    if any(row["rc"] != 0 for row in record["runs"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
