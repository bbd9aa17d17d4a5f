"""The backbone (ResNet-50 + input projections) on the CPU: fp32, bf16 under plain autocast
(the path before the channels-last one) and bf16 channels-last, interleaved in one process.

A shared machine drifts by tens of percent within minutes; timing the three variants round
robin in one process, with the same network and image, keeps each comparison seconds apart.
Each variant's matrix work is also replayed at its own recorded shapes and layouts
(``matrix_floor.py``): the floor moves with the layout, so each variant is set against its own.

    python3 bench/bench_cpu_bf16_backbone.py --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]  # this checkout, not an installed aios_core
from matrix_floor import record_matrix_calls, shape_floor_s  # noqa: E402

import aios_core.model.backbone as backbone_module  # noqa: E402
from aios_core import AiOS  # noqa: E402
from aios_core.device import choose_device  # noqa: E402

VARIANTS = ("fp32", "bf16 autocast", "bf16 channels-last")


@contextlib.contextmanager
def _variant(name: str):
    """The precision context of a variant; 'bf16 autocast' switches the channels-last path off."""
    applies = backbone_module.channels_last_bf16_applies
    if name == "bf16 autocast":
        backbone_module.channels_last_bf16_applies = lambda images: False
    try:
        if name == "fp32":
            yield
        else:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                yield
    finally:
        backbone_module.channels_last_bf16_applies = applies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--width", type=int, default=1333)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    choose_device("cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = AiOS().eval()
    images = torch.randn(1, 3, args.height, args.width)
    mask = torch.zeros(1, args.height, args.width, dtype=torch.bool)

    def forward() -> None:
        features, _, _ = model.backbone(images, mask)
        for projection, feature in zip(model.input_proj, features, strict=False):
            projection(feature)
        model.input_proj[len(features)](features[-1])

    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    floors: dict[str, float] = {}
    with torch.inference_mode():
        for name in VARIANTS:
            with _variant(name):
                forward()  # warm-up (and the channels-last path's one weight conversion)
                floors[name] = shape_floor_s(record_matrix_calls(forward), torch.device("cpu"))
        for round_index in range(args.rounds):
            order = VARIANTS if round_index % 2 == 0 else VARIANTS[::-1]
            for name in order:
                with _variant(name):
                    start = time.perf_counter()
                    forward()
                    seconds[name].append(time.perf_counter() - start)

    summary = {}
    for name in VARIANTS:
        median = statistics.median(seconds[name])
        summary[name] = {"median_s": median, "min_s": min(seconds[name]),
                         "max_s": max(seconds[name]), "shape_floor_s": floors[name]}
        print(f"{name:20s} median {median:.3f} s (min {min(seconds[name]):.3f}, max "
              f"{max(seconds[name]):.3f}); own shape floor {floors[name]:.3f} s, "
              f"x{median / floors[name]:.2f}")
    ratios = [a / b for a, b in zip(seconds["bf16 autocast"], seconds["bf16 channels-last"],
                                    strict=True)]
    print(f"bf16 autocast / channels-last, per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"cpu": platform.processor() or platform.machine(), "threads":
              torch.get_num_threads(), "size_hw": [args.height, args.width],
              "seconds": seconds, "summary": summary}
    (args.out / "cpu_bf16_backbone.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
