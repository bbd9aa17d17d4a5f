"""Peak memory of `aios run` per batch size, at the official input resolution (800x1333).

Each batch size runs in a fresh process (peak RSS is per process): the released architecture
with random weights (``AiOSConfig()``; memory does not depend on the weights' values) runs the
real pipeline (decode, prefetch, inference, tracking, results file) over a folder of
``batch`` generated 1333x800 images, so that the network sees exactly 800x1333. A line is fitted
through the peaks (base + per-image); the bigger batches are extrapolated from it.

    nice python3 bench/bench_run_memory.py --batches 1,2            # CPU
    python3 bench/bench_run_memory.py --batches 1,2,4,8 --device cuda
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT = 1333, 800


def _child(batch: int, device_name: str) -> dict:
    """Run one batch through the pipeline in this process; report the peaks."""
    import cv2
    import numpy as np
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from aios_core.body.embedded_smplx import random_body_model_buffers
    from aios_core.inference.predictor import NetworkPredictor
    from aios_core.model.config import AiOSConfig
    from aios_core.model.network import AiOS
    from aios_core.pipeline.run import RunOptions, run_pipeline

    device = torch.device(device_name)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        frames = Path(folder) / "frames"
        frames.mkdir()
        for i in range(batch):
            cv2.imwrite(str(frames / f"{i}.png"), rng.integers(0, 256, (HEIGHT, WIDTH, 3),
                                                               dtype=np.uint8))
        model = AiOS(AiOSConfig())
        random_body_model_buffers(model.body_model, torch.Generator().manual_seed(0))
        model = model.to(device).eval()
        rss_model_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        started = time.perf_counter()
        options = RunOptions(frames, results_path=Path(folder) / "r.npz", batch_size=batch)
        run_pipeline(options, NetworkPredictor(model, threshold=0.3))
        seconds = time.perf_counter() - started
    report = {
        "batch": batch,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_model_mib": rss_model_mib,
        "seconds": seconds,
    }
    if device.type == "cuda":
        report["peak_gpu_allocated_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
        report["peak_gpu_reserved_mib"] = torch.cuda.max_memory_reserved(device) / 2**20
    return report


def _fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares line peak = base + per_image * batch."""
    n = len(points)
    mean_b = sum(b for b, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    spread = sum((b - mean_b) ** 2 for b, _ in points)
    per_image = sum((b - mean_b) * (m - mean_m) for b, m in points) / spread if spread else 0.0
    return mean_m - per_image * mean_b, per_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,2", help="comma-separated batch sizes")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--extrapolate", default="4,8,16", help="batch sizes to predict")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(_child(args.child, args.device)))
        return

    runs = []
    for batch in (int(b) for b in args.batches.split(",")):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(batch), "--device", args.device],
            capture_output=True, text=True, check=True,
        )
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]))
    fits = {"rss": _fit([(r["batch"], r["peak_rss_mib"]) for r in runs])}
    if "peak_gpu_reserved_mib" in runs[0]:
        fits["gpu_reserved"] = _fit([(r["batch"], r["peak_gpu_reserved_mib"]) for r in runs])
    summary = {
        "input_hw": [HEIGHT, WIDTH], "device": args.device, "machine": platform.processor()
        or platform.machine(), "runs": runs,
        "fits_mib": {name: {"base": base, "per_image": per} for name, (base, per) in fits.items()},
        "extrapolated_mib": {
            name: {b: base + per * int(b) for b in args.extrapolate.split(",")}
            for name, (base, per) in fits.items()
        },
    }
    print(json.dumps(summary["fits_mib"]), json.dumps(summary["extrapolated_mib"]))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"run_memory_{args.device}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
