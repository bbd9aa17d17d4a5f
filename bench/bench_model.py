"""Images per second of AiOS inference, per stage and end to end, plus the arithmetic floor.

Random weights with the released architecture (no checkpoint needed: the arithmetic and so the
time are those of the trained weights, except for how many people pass the score threshold,
which only changes the cheap final gather). For each precision and batch size: the median of
``--repeats`` timed runs after ``--warmup`` runs, device-synchronised, of
  preprocess (resize + normalise + pad on the device), backbone (ResNet-50 + input projections),
  encoder, decoder (the three stages and heads), smplx (the posed meshes of all queries),
  postprocess (selection, un-resizing, numpy), and end to end without the stage probes.
Then the FLOPs of one image (torch's FLOP counter for convolutions and matrix products, plus
the bilinear sampling of deformable attention counted by hand), the device's measured matrix
rate, and the floor they set; for batch 1 also the floor of the network's own matrix products
replayed at their shapes (``matrix_floor.py``). Prints a table, writes JSON under bench/results/.

    python3 bench/bench_model.py --batches 1 --precisions fp32           # CPU
    python3 bench/bench_model.py --batches 1,4,16 --precisions fp32,bf16  # GPU
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from matrix_floor import record_matrix_calls, shape_floor_s
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from aios_core import AiOS
from aios_core.inference.postprocess import postprocess
from aios_core.inference.preprocess import prepare_batch
from aios_core.model.deformable_attention import MultiScaleDeformableAttention
from aios_core.precision import autocast_dtype, precision_dtype

STAGES = ("preprocess", "backbone", "encoder", "decoder", "smplx", "postprocess")


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    dtype = autocast_dtype(precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


@contextlib.contextmanager
def stage_probes(model: AiOS, device: torch.device, seconds: dict[str, float]) -> Iterator[None]:
    """Add each probed module's synchronised forward time to ``seconds`` while active."""
    modules = {"backbone": [model.backbone, *model.input_proj],
               "encoder": [model.transformer.encoder], "decoder": [model.transformer.decoder],
               "smplx": [model.body_model]}
    handles = []
    for stage, stage_modules in modules.items():
        for module in stage_modules:
            started: list[float] = []

            def before(_module, _args, started=started):
                synchronise(device)
                started.append(time.perf_counter())

            def after(_module, _args, _output, started=started, stage=stage):
                synchronise(device)
                seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - started.pop()

            handles += [module.register_forward_pre_hook(before),
                        module.register_forward_hook(after)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def timed(function: Callable[[], object], device: torch.device) -> float:
    synchronise(device)
    start = time.perf_counter()
    function()
    synchronise(device)
    return time.perf_counter() - start


def end_to_end(model: AiOS, images: list[np.ndarray], device: torch.device, precision: str,
               probe_stages: bool = False) -> dict[str, float]:
    """preprocess -> forward -> postprocess -> seconds per stage; the network's stages only
    with ``probe_stages`` (their probes synchronise the device, so totals are timed without)."""
    seconds: dict[str, float] = {}
    holder: dict = {}
    seconds["preprocess"] = timed(lambda: holder.update(batch=prepare_batch(images, device)),
                                  device)
    batch = holder["batch"]
    probes = stage_probes(model, device, seconds) if probe_stages else contextlib.nullcontext()
    with torch.inference_mode(), autocast(device, precision), probes:
        outputs = model(batch.images, batch.padding_mask)
    seconds["postprocess"] = timed(lambda: postprocess(outputs, batch, threshold=0.0), device)
    return seconds


def measure(model: AiOS, images: list[np.ndarray], device: torch.device, precision: str,
            warmup: int, repeats: int) -> dict:
    for _ in range(warmup):
        end_to_end(model, images, device, precision)
    total = [timed(lambda: end_to_end(model, images, device, precision), device)
             for _ in range(repeats)]
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for _ in range(repeats):
        seconds = end_to_end(model, images, device, precision, probe_stages=True)
        for stage in STAGES:
            per_stage[stage].append(seconds.get(stage, 0.0))
    batch = len(images)
    median_s = statistics.median(total)
    return {
        "precision": precision, "batch": batch, "repeats_s": total,
        "median_s_per_batch": median_s, "images_per_s": batch / median_s,
        "stage_median_s_per_batch": {s: statistics.median(v) for s, v in per_stage.items()},
    }


def sampling_flops(model: AiOS, images: list[np.ndarray], device: torch.device) -> int:
    """FLOPs of deformable attention's bilinear sampling (not seen by torch's counter): per
    sample, 4 corners x head_dim multiply-adds plus the attention-weighted accumulation."""
    total = [0]

    def count(module: MultiScaleDeformableAttention, args, _output) -> None:
        query = args[0]  # (B, Lq, C)
        samples = query.shape[0] * query.shape[1] * module.num_heads * module.num_levels \
            * module.num_points
        total[0] += samples * module.head_dim * (4 * 2 + 2)

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, MultiScaleDeformableAttention)]
    try:
        end_to_end(model, images, device, "fp32")
    finally:
        for handle in handles:
            handle.remove()
    return total[0]


def network_flops(model: AiOS, image: np.ndarray, device: torch.device) -> dict[str, float]:
    batch = prepare_batch([image], device)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(batch.images, batch.padding_mask)
    counted = counter.get_total_flops()
    sampled = sampling_flops(model, [image], device)
    return {"counted_gflop": counted / 1e9, "sampling_gflop": sampled / 1e9,
            "total_gflop": (counted + sampled) / 1e9}


def network_shape_floor_s(model: AiOS, image: np.ndarray, device: torch.device,
                          precision: str) -> float:
    """Seconds of one image's forward's own matrix products and convolutions, each replayed
    alone at its recorded shapes and dtypes (``matrix_floor.py``)."""
    batch = prepare_batch([image], device)

    def forward() -> None:
        with torch.inference_mode(), autocast(device, precision):
            model(batch.images, batch.padding_mask)

    return shape_floor_s(record_matrix_calls(forward), device)


def matrix_rate_tflops(device: torch.device, precision: str, size: int = 4096) -> float:
    """Best of 5 square matrix products of ``size`` in ``precision`` (TFLOP/s)."""
    dtype = precision_dtype(precision)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    torch.mm(a, b)
    best = min(timed(lambda: torch.mm(a, b), device) for _ in range(5))
    return 2 * size**3 / best / 1e12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--width", type=int, default=1333)
    parser.add_argument("--batches", default="1", help="comma-separated batch sizes")
    parser.add_argument("--precisions", default="fp32", help="comma-separated: fp32,bf16,fp16")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--no-flops", action="store_true", help="skip the FLOP count")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model: nn.Module = AiOS().to(device).eval()
    rng = np.random.default_rng(0)
    batches = [int(b) for b in args.batches.split(",")]
    images = [rng.integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
              for _ in range(max(batches))]

    rows = [measure(model, images[:batch], device, precision, args.warmup, args.repeats)
            for precision in args.precisions.split(",") for batch in batches]
    record = {
        "benchmark": "AiOS inference (bench/bench_model.py)", "image_hw": [args.height, args.width],
        "device": torch.cuda.get_device_name(device) if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "runs": rows,
    }
    header = f"{'prec':>5} {'batch':>5} {'img/s':>8} {'s/batch':>8} " + \
        " ".join(f"{s[:9]:>9}" for s in STAGES)
    print(f"{args.height}x{args.width} on {record['device']} (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads); stage columns: median s per batch")
    print(header)
    for row in rows:
        stages = " ".join(f"{row['stage_median_s_per_batch'][s]:>9.4f}" for s in STAGES)
        print(f"{row['precision']:>5} {row['batch']:>5} {row['images_per_s']:>8.3f} "
              f"{row['median_s_per_batch']:>8.3f} {stages}")

    if not args.no_flops:
        flops = network_flops(model, images[0], device)
        record["flops_per_image"] = flops
        record["floors"] = []
        for row in rows:
            rate = matrix_rate_tflops(device, row["precision"])
            floor_s = flops["total_gflop"] / 1e3 / rate
            per_image_s = row["median_s_per_batch"] / row["batch"]
            floor = {"precision": row["precision"], "batch": row["batch"],
                     "matrix_tflops": rate, "floor_s_per_image": floor_s,
                     "times_floor": per_image_s / floor_s}
            if row["batch"] == 1:  # the matrix products at the network's own shapes
                shape_floor_s = network_shape_floor_s(model, images[0], device, row["precision"])
                shape_floor_s += flops["sampling_gflop"] / 1e3 / rate
                floor.update(shape_floor_s_per_image=shape_floor_s,
                             times_shape_floor=per_image_s / shape_floor_s)
            record["floors"].append(floor)
        print(f"GFLOP per image: {flops['total_gflop']:.1f} (convolutions and matrix products "
              f"{flops['counted_gflop']:.1f}, deformable sampling {flops['sampling_gflop']:.2f})")
        for floor in record["floors"]:
            print(f"{floor['precision']:>5} batch {floor['batch']:>3}: matrix rate "
                  f"{floor['matrix_tflops']:.2f} TFLOP/s -> floor {floor['floor_s_per_image']:.4f}"
                  f" s/img; measured is {floor['times_floor']:.1f}x the floor")
            if "shape_floor_s_per_image" in floor:
                print(f"{'':>5} the matrix products at the network's shapes: "
                      f"{floor['shape_floor_s_per_image']:.4f} s/img; measured is "
                      f"{floor['times_shape_floor']:.2f}x that")

    args.out.mkdir(parents=True, exist_ok=True)
    name = f"model_{device.type}_{args.height}x{args.width}.json"
    (args.out / name).write_text(json.dumps(record, indent=2))
    print(f"written: {args.out / name}")


if __name__ == "__main__":
    main()
