"""Multi-scale deformable attention alone: the Triton kernel against the PyTorch fallback.

Shapes of the released model at the official test resolution (800x1333 -> feature levels
100x167, 50x84, 25x42, 13x21; 8 heads of 32 channels, 4 points): the encoder call (every token
is a query) and a decoder call (900 queries). For each batch size and dtype: median seconds of
forward, and of forward + backward, after warm-up, device-synchronised. On a machine without
CUDA only the fallback is timed. Prints a table, writes JSON under bench/results/.

    python3 bench/bench_deform_attn.py --batches 1,4,16 --dtypes fp32,bf16
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from aios_core.model.deformable_sampling import ms_deform_attn_pytorch
from aios_core.precision import precision_dtype
from cuda_ops.self_check import AttentionShape, random_inputs

LEVELS_800x1333 = ((100, 167), (50, 84), (25, 42), (13, 21))


def median_seconds(function: Callable[[], object], device: torch.device, warmup: int,
                   repeats: int) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forward_backward(kernel: Callable, inputs: tuple[torch.Tensor, ...]) -> Callable[[], None]:
    value, shapes, starts, locations, weights = inputs
    leaves = [t.detach().clone().requires_grad_() for t in (value, locations, weights)]

    def run() -> None:
        out = kernel(leaves[0], shapes, starts, leaves[1], leaves[2])
        out.backward(torch.ones_like(out))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1")
    parser.add_argument("--dtypes", default="fp32")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    device = torch.device(args.device)

    implementations: dict[str, Callable] = {"pytorch": ms_deform_attn_pytorch}
    if device.type == "cuda":
        from cuda_ops.triton_deform_attn import ms_deform_attn_triton

        implementations["triton"] = ms_deform_attn_triton

    tokens = sum(h * w for h, w in LEVELS_800x1333)
    rows = []
    for dtype_name in args.dtypes.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            for call, queries in (("encoder", tokens), ("decoder", 900)):
                shape = AttentionShape(batch=batch, queries=queries, heads=8, head_dim=32,
                                       level_hw=LEVELS_800x1333, points=4)
                inputs = random_inputs(shape, device, precision_dtype(dtype_name))
                row = {"call": call, "batch": batch, "dtype": dtype_name, "queries": queries}
                for name, kernel in implementations.items():
                    with torch.no_grad():
                        row[f"{name}_forward_s"] = median_seconds(
                            lambda kernel=kernel, inputs=inputs: kernel(*inputs), device,
                            args.warmup, args.repeats)
                    row[f"{name}_fwd_bwd_s"] = median_seconds(
                        forward_backward(kernel, inputs), device, args.warmup, args.repeats)
                if "triton" in implementations:
                    row["speedup_forward"] = row["pytorch_forward_s"] / row["triton_forward_s"]
                    row["speedup_fwd_bwd"] = row["pytorch_fwd_bwd_s"] / row["triton_fwd_bwd_s"]
                rows.append(row)
                print(json.dumps(row))

    print(f"\n{'call':>8} {'batch':>5} {'dtype':>5} " + " ".join(
        f"{n + ' fwd ms':>14} {n + ' f+b ms':>14}" for n in implementations))
    for row in rows:
        cells = " ".join(f"{row[f'{n}_forward_s'] * 1e3:>14.2f} "
                         f"{row[f'{n}_fwd_bwd_s'] * 1e3:>14.2f}" for n in implementations)
        print(f"{row['call']:>8} {row['batch']:>5} {row['dtype']:>5} {cells}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"deform_attn_{device.type}.json"
    path.write_text(json.dumps({"device": str(device), "torch": torch.__version__,
                                "runs": rows}, indent=2))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
