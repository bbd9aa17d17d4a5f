"""Seconds per image of AiOS inference (pre-processing + network + post-processing).

Random weights with the released architecture (no checkpoint needed: the arithmetic and so the
time are the same as with the trained weights, except for how many people pass the threshold,
which only affects the cheap final gather). Prints a table and writes JSON under bench/results/.

    python3 bench/bench_model.py --height 800 --width 1333 --batch 1 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from aios_core import AiOS
from aios_core.model.predict import predict_images


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--width", type=int, default=1333)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = AiOS().to(device).eval()
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
        for _ in range(args.batch)
    ]

    seconds = []
    for run in range(args.warmup + args.repeats):
        synchronise(device)
        start = time.perf_counter()
        predict_images(model, images, threshold=0.0)
        synchronise(device)
        if run >= args.warmup:
            seconds.append(time.perf_counter() - start)

    median_s = statistics.median(seconds)
    record = {
        "benchmark": "predict_images end to end (preprocess + forward + postprocess)",
        "image_hw": [args.height, args.width],
        "batch": args.batch,
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "repeats_s": seconds,
        "median_s_per_batch": median_s,
        "median_s_per_image": median_s / args.batch,
        "images_per_s": args.batch / median_s,
    }
    print(f"{'image':>12} {'batch':>5} {'device':>6} {'median s/img':>13} {'img/s':>8}")
    print(
        f"{args.height}x{args.width:<7} {args.batch:>5} {device.type:>6} "
        f"{median_s / args.batch:>13.3f} {args.batch / median_s:>8.3f}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"model_{device.type}_{args.height}x{args.width}_b{args.batch}.json"
    (args.out / name).write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
