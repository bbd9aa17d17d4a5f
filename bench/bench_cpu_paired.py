"""This checkout against a baseline git ref on the CPU, runs alternating, per stage, with floors.

On a shared or loaded machine absolute times drift by tens of percent within minutes, so the
two trees are never timed far apart: each round runs the baseline and this checkout back to
back (which goes first alternates), each in a fresh process holding one network (one
full-size network needs ~2-3 GB, so two never run at once). Every process builds the released
architecture with seeded random weights, runs ``predict_images`` on one seeded 800x1333 image
once to warm up, then ``--repeats`` times (3) with stage probes and reports the fastest, as
the floors below are the best of several products (other tenants of a shared machine slow
single runs by up to a third):

  backbone (ResNet-50 + input projections), encoder, decoder, body model (SMPL-X posing),
  heads (the rest of the forward: two-stage selection and the final read-out), and pre/post
  (preprocessing and post-processing around the forward).

The baseline is checked out with ``git worktree add`` into a temporary folder and removed at
the end. After each round, a third process measures that round's floors: the way
``bench/bench_model.py`` does (the FLOPs of one image, from torch's FLOP counter plus the
deformable sampling, over the best rate of a 4096x4096 matrix product in that precision), and
the forward's own matrix products replayed at their shapes (``matrix_floor.py``). Prints the
table (medians over the rounds, baseline / this ratios, and each round's time over that
round's floors, medianed) and writes JSON under bench/results/.

    python3 bench/bench_cpu_paired.py --baseline-ref main --rounds 5 --precisions fp32,bf16
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("backbone", "encoder", "decoder", "heads", "body_model", "pre_post", "total")


def _seeded_network_and_image(args: argparse.Namespace):
    """The process prepared as the CLI prepares it for the CPU, the released architecture with
    seeded random weights, and the seeded test image."""
    import numpy as np
    import torch

    from aios_core import AiOS
    from aios_core.device import choose_device

    choose_device("cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    image = np.random.default_rng(0).integers(0, 256, (args.height, args.width, 3), np.uint8)
    return AiOS().eval(), image


def _worker(args: argparse.Namespace) -> None:
    """One warm-up and ``--repeats`` timed ``predict_images`` in whatever aios_core PYTHONPATH
    finds; prints the fastest with its stages."""
    import torch

    try:
        from aios_core.inference.predict import predict_images
    except ImportError:  # a baseline tree from before the inference package
        from aios_core.inference.predict import predict_images

    model, image = _seeded_network_and_image(args)
    dtype = {"fp32": None, "bf16": torch.bfloat16}[args.precision]
    precision = (torch.autocast("cpu", dtype=dtype) if dtype is not None
                 else contextlib.nullcontext())
    probed = {"backbone": [model.backbone, *model.input_proj],
              "encoder": [model.transformer.encoder], "decoder": [model.transformer.decoder],
              "body_model": [model.body_model], "forward": [model]}
    seconds: dict[str, float] = {}
    for stage, modules in probed.items():
        for module in modules:
            started: list[float] = []
            module.register_forward_pre_hook(
                lambda _m, _a, started=started: started.append(time.perf_counter()))
            module.register_forward_hook(
                lambda _m, _a, _o, started=started, stage=stage: seconds.__setitem__(
                    stage, seconds.get(stage, 0.0) + time.perf_counter() - started.pop()))
    fastest: dict[str, float] = {}
    with precision:
        predict_images(model, [image], args.threshold)
        for _ in range(args.repeats):
            seconds.clear()
            start = time.perf_counter()
            results = predict_images(model, [image], args.threshold)
            total = time.perf_counter() - start
            if fastest and fastest["total"] <= total:
                continue
            inner = sum(seconds.get(s, 0.0) for s in ("backbone", "encoder", "decoder",
                                                       "body_model"))
            fastest = {**seconds, "heads": seconds["forward"] - inner,
                       "pre_post": total - seconds["forward"], "total": total,
                       "people": len(results[0])}
            del fastest["forward"]
    print(json.dumps(fastest))


def _run_worker(tree: Path, args: argparse.Namespace, mode: list[str]) -> dict:
    """This script in ``mode`` in a fresh process importing aios_core from ``tree``; the JSON
    line it prints last."""
    command = [sys.executable, str(Path(__file__).resolve()), *mode, "--height",
               str(args.height), "--width", str(args.width), "--threshold", str(args.threshold),
               "--repeats", str(args.repeats)]
    command += ["--threads", str(args.threads)] if args.threads else []
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark worker in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _floors_worker(args: argparse.Namespace) -> None:
    """This round's floors: the matrix rate of each precision, the forward's matrix products at
    their own shapes, and (with ``--count-flops``) the FLOPs of one image."""
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_model import matrix_rate_tflops, network_flops, network_shape_floor_s

    model, image = _seeded_network_and_image(args)
    cpu = torch.device("cpu")
    record: dict = {"matrix_tflops": {}, "shape_floor_s": {}}
    if args.count_flops:
        record["flops_per_image"] = network_flops(model, image, cpu)
    for precision in args.precisions.split(","):
        record["matrix_tflops"][precision] = matrix_rate_tflops(cpu, precision)
        record["shape_floor_s"][precision] = network_shape_floor_s(model, image, cpu, precision)
    print(json.dumps(record))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="main", help="git ref to compare against")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--width", type=int, default=1333)
    parser.add_argument("--threshold", type=float, default=0.0,
                        help="score threshold; 0 returns (and poses) the top num_select people")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per process; the fastest counts, as for the floors")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    parser.add_argument("--floors", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count-flops", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    if args.floors:
        _floors_worker(args)
        return

    precisions = args.precisions.split(",")
    runs, floors = _collect(args, precisions)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    base_commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short",
                                  args.baseline_ref], capture_output=True, text=True,
                                 check=False).stdout.strip()
    import torch

    print(f"\n{args.height}x{args.width}, batch 1, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"baseline {args.baseline_ref} ({base_commit}) vs this ({commit}); median of "
          f"{args.rounds} alternating rounds, seconds")
    summary = {precision: _summarise(runs[precision], floors, precision)
               for precision in precisions}
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"benchmark": "bench/bench_cpu_paired.py", "image_hw": [args.height, args.width],
              "baseline_ref": args.baseline_ref, "baseline_commit": base_commit,
              "commit": commit, "threshold": args.threshold, "cpu": platform.processor(),
              "cpus": os.cpu_count(), "torch": torch.__version__, "floors": floors,
              "summary": summary, "runs": runs}
    path = args.out / f"cpu_paired_{args.height}x{args.width}.json"
    path.write_text(json.dumps(record, indent=2))
    print(f"written: {path}")


def _collect(args: argparse.Namespace, precisions: list[str]) -> tuple[dict, list[dict]]:
    """Each round: both trees per precision (which goes first alternates), then the floors."""
    scratch = Path(tempfile.mkdtemp(prefix="aios-baseline-"))
    baseline = scratch / "tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(baseline),
                    args.baseline_ref], check=True, capture_output=True)
    runs: dict[str, dict[str, list[dict]]] = {p: {"baseline": [], "this": []} for p in precisions}
    floors: list[dict] = []
    try:
        for round_index in range(args.rounds):
            for precision in precisions:
                order = [("baseline", baseline), ("this", REPO)]
                for name, tree in order if round_index % 2 == 0 else order[::-1]:
                    runs[precision][name].append(
                        _run_worker(tree, args, ["--worker", "--precision", precision]))
                    args.out.mkdir(parents=True, exist_ok=True)  # runs so far survive a stop
                    (args.out / "cpu_paired_partial.json").write_text(json.dumps(runs, indent=2))
                    print(f"round {round_index + 1} {precision} {name}: "
                          f"{runs[precision][name][-1]['total']:.2f} s", flush=True)
            floors_mode = ["--floors", "--precisions", args.precisions]
            floors_mode += ["--count-flops"] if round_index == 0 else []
            floors.append(_run_worker(REPO, args, floors_mode))
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)],
                       check=False, capture_output=True)
    return runs, floors


def _summarise(runs: dict[str, list[dict]], floors: list[dict], precision: str) -> dict:
    """Print and return one precision's table; ratios to the floors are taken round by round
    (each round's total over the floors measured in that round), then their median."""
    flops = floors[0]["flops_per_image"]
    rates = [f["matrix_tflops"][precision] for f in floors]
    # The square-product floor: every FLOP at the best 4096x4096 rate. The shape floor: the
    # forward's matrix products at their own shapes, plus the sampling at that rate.
    rate_floors = [flops["total_gflop"] / 1e3 / rate for rate in rates]
    shape_floors = [f["shape_floor_s"][precision] + flops["sampling_gflop"] / 1e3 / rate
                    for f, rate in zip(floors, rates, strict=True)]
    print(f"\n{precision}: {flops['total_gflop']:.0f} GFLOP; floor at the 4096x4096 rate "
          f"{statistics.median(rate_floors):.3f} s ({statistics.median(rates):.2f} TFLOP/s); "
          f"floor of the matrix products at the network's shapes "
          f"{statistics.median(shape_floors):.3f} s")
    print(f"{'stage':>11} {'baseline':>9} {'this':>9} {'speed-up':>9}")
    summary: dict = {}
    for stage in STAGES:
        before = statistics.median(r[stage] for r in runs["baseline"])
        after = statistics.median(r[stage] for r in runs["this"])
        summary[stage] = {"baseline_s": before, "this_s": after}
        print(f"{stage:>11} {before:>9.3f} {after:>9.3f} {before / after:>8.2f}x")
    total = summary["total"]
    # Paired ratio: each round's baseline over the same round's run of this checkout.
    total["paired_speedup"] = statistics.median(
        b["total"] / t["total"] for b, t in zip(runs["baseline"], runs["this"], strict=True))
    for name in ("baseline", "this"):
        totals = [r["total"] for r in runs[name]]
        total[f"{name}_times_rate_floor"] = statistics.median(
            t / f for t, f in zip(totals, rate_floors, strict=True))
        total[f"{name}_times_shape_floor"] = statistics.median(
            t / f for t, f in zip(totals, shape_floors, strict=True))
    total["rate_floor_s"] = statistics.median(rate_floors)
    total["shape_floor_s"] = statistics.median(shape_floors)
    print(f"{'':>11} paired speed-up {total['paired_speedup']:.2f}x; times the 4096x4096 floor: "
          f"baseline {total['baseline_times_rate_floor']:.2f}x, this "
          f"{total['this_times_rate_floor']:.2f}x; times the shape floor: baseline "
          f"{total['baseline_times_shape_floor']:.2f}x, this "
          f"{total['this_times_shape_floor']:.2f}x; people returned {runs['this'][-1]['people']}")
    return summary


if __name__ == "__main__":
    main()
