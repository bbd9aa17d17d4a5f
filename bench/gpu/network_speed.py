"""Network speed on one GPU at 800x1333: precision x batch size (x torch.compile), median ms per
image, peak memory, the matrix-rate floor, and a profile of the top kernels.

    python3 bench/gpu/network_speed.py --json speed.json          # on the GPU machine
    python3 bench/gpu/network_speed.py --json speed.json --dry-run  # CPU, tiny network

Precisions: fp32 (TF32 off), tf32 (TF32 matrix products and convolutions), bf16 (autocast).
Random weights of the released architecture (the arithmetic is that of the trained weights).
A configuration that runs out of memory is recorded as such and ends its precision's sweep.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from bench_model import matrix_rate_tflops, network_flops, synchronise  # noqa: E402
from tiny_network import TINY, build_tiny_network  # noqa: E402

from aios_core.device import choose_device  # noqa: E402
from aios_core.inference.postprocess import postprocess  # noqa: E402
from aios_core.inference.preprocess import prepare_batch  # noqa: E402
from aios_core.model.config import AiOSConfig  # noqa: E402

SIDE_LIMITS = {800: 1333, 96: 160}  # the official test size; the dry run's tiny one


def set_precision(precision: str) -> contextlib.AbstractContextManager:
    """TF32 switches for this precision, and its autocast context."""
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    if precision == "bf16":
        return torch.autocast("cuda" if torch.cuda.is_available() else "cpu",
                              dtype=torch.bfloat16)
    return contextlib.nullcontext()


def time_config(model, images, device, precision: str, warmup: int, repeats: int,
                short_side_px: int = 800) -> dict:
    batch = prepare_batch(images, device, short_side_px, SIDE_LIMITS[short_side_px])

    def once() -> None:
        with torch.inference_mode(), set_precision(precision):
            outputs = model(batch.images, batch.padding_mask)
            postprocess(outputs, batch, threshold=0.0)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(warmup):
        once()
    times = []
    for _ in range(repeats):
        synchronise(device)
        start = time.perf_counter()
        once()
        synchronise(device)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"precision": precision, "batch": len(images), "median_ms_per_image":
            1e3 * median / len(images), "images_per_s": len(images) / median,
            "median_ms_per_batch": 1e3 * median, "repeats": repeats,
            "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30
            if device.type == "cuda" else None}


def profile_top_kernels(model, images, device, precision: str, short_side_px: int,
                        rows: int = 15) -> str:
    from torch.profiler import ProfilerActivity, profile

    batch = prepare_batch(images, device, short_side_px, SIDE_LIMITS[short_side_px])
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(3):
            with torch.inference_mode(), set_precision(precision):
                postprocess(model(batch.images, batch.padding_mask), batch, threshold=0.0)
        synchronise(device)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    try:
        return prof.key_averages().table(sort_by=key, row_limit=rows)
    except (AttributeError, KeyError, RuntimeError):
        return prof.key_averages().table(sort_by="self_device_time_total", row_limit=rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--profile", type=Path, help="write the kernel profile table here")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny network, one run")
    parser.add_argument("--budget-s", type=float, default=200.0,
                        help="stop starting configurations after this long")
    args = parser.parse_args()
    started = time.perf_counter()
    dry = args.dry_run
    device = torch.device("cpu") if dry else choose_device("cuda")
    model = build_tiny_network(0, TINY if dry else AiOSConfig()).to(device)
    batches = [1, 2] if dry else [1, 8, 16, 32, 64]
    precisions = ["fp32", "bf16"] if dry else ["fp32", "tf32", "bf16"]
    warmup, repeats = (0, 1) if dry else (3, 20)
    short_side = 96 if dry else 800
    rng = np.random.default_rng(0)
    source_hw = (96, 160) if dry else (800, 1333)  # the network input is exactly this size
    images = [rng.integers(0, 256, (*source_hw, 3), dtype=np.uint8)
              for _ in range(max(batches))]
    record: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda"
                    else "cpu (dry run)", "torch": torch.__version__, "runs": [],
                    "network_input_hw": [short_side, SIDE_LIMITS[short_side]],
                    "weights": "random, tiny test network" if dry
                    else "random, released architecture"}

    def save() -> None:
        args.json.write_text(json.dumps(record, indent=2))

    for precision in precisions:
        for batch in batches:
            if time.perf_counter() - started > args.budget_s:
                record["runs"].append({"precision": precision, "batch": batch,
                                       "skipped": "time budget"})
                continue
            try:
                row = time_config(model, images[:batch], device, precision, warmup, repeats,
                                  short_side)
            except torch.OutOfMemoryError:
                torch.cuda.empty_cache()
                record["runs"].append({"precision": precision, "batch": batch,
                                       "out_of_memory": True})
                break
            record["runs"].append(row)
            print(f"{precision:>5} batch {batch:>3}: {row['median_ms_per_image']:8.2f} ms/img "
                  f"{row['images_per_s']:8.1f} img/s  peak {row['peak_memory_gib']} GiB",
                  flush=True)
            save()

    # torch.compile of the whole network (graph breaks at the host syncs of the two-stage
    # top-k), default and with CUDA graphs of the captured parts; bf16, batch 16.
    compile_batch = 2 if dry else 16
    for mode in ([] if dry else ["default", "reduce-overhead"]):
        if time.perf_counter() - started > args.budget_s - 60:
            record["runs"].append({"precision": "bf16", "batch": compile_batch,
                                   "compile": mode, "skipped": "time budget"})
            continue
        try:
            compiled = torch.compile(model, mode=None if mode == "default" else mode)
            t0 = time.perf_counter()
            row = time_config(compiled, images[:compile_batch], device, "bf16", 3, 20)
            row.update(compile=mode, compile_and_time_s=time.perf_counter() - t0)
        except Exception as error:  # a compiler failure is a result, not a crash
            row = {"precision": "bf16", "batch": compile_batch, "compile": mode,
                   "error": f"{type(error).__name__}: {str(error)[:300]}"}
        record["runs"].append(row)
        save()

    # The floor at the official size (661.6 GFLOP/image for the released network); the dry
    # run's tiny network and images skip the count.
    flops = {"total_gflop": float("nan")} if dry else network_flops(model, images[0], device)
    record["flops_per_image"] = flops
    rate = matrix_rate_tflops(device, "bf16", size=256 if dry else 8192)
    record["bf16_matrix_tflops"] = rate
    floor_ms = flops["total_gflop"] / 1e3 / rate * 1e3
    record["bf16_floor_ms_per_image"] = floor_ms
    for row in record["runs"]:
        if row.get("precision") == "bf16" and "median_ms_per_image" in row:
            row["times_bf16_floor"] = row["median_ms_per_image"] / floor_ms
    table = profile_top_kernels(model, images[:compile_batch], device, "bf16", short_side)
    record["profile_top_kernels"] = table.splitlines()[:25]
    if args.profile:
        args.profile.write_text(table)
    save()
    print(f"GFLOP/image {flops['total_gflop']:.1f}; bf16 matrix rate {rate:.1f} TFLOP/s; "
          f"floor {floor_ms:.3f} ms/img")


if __name__ == "__main__":
    main()
