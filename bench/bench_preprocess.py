"""What preparing one frame for the network costs on the CPU: the official OpenCV calls (the CPU
path) against the torch re-implementation (the GPU path, run here on the CPU), per frame size.

    python3 bench/bench_preprocess.py --sizes 720x1280,1080x1920 --repeats 21

Each figure is the median of ``--repeats`` calls after a warm-up, in a process that keeps freed
memory (as `aios run` does), with torch's and OpenCV's default threads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from aios_core.cpu_allocator import reuse_freed_memory
from aios_core.doctor import cpu_description
from aios_core.inference.preprocess import prepare_batch, resized_size, torch_network_input


def median_ms(step, repeats: int) -> float:
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="360x640,720x1280,1080x1920", help="HxW,HxW,...")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    reuse_freed_memory()
    rows = []
    for size in args.sizes.split(","):
        height, width = (int(n) for n in size.split("x"))
        image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        pixels = torch.from_numpy(image).permute(2, 0, 1)[None]
        out_hw = resized_size(height, width)
        rows.append({
            "input_hw": [height, width],
            "network_hw": list(out_hw),
            "opencv_path_ms": median_ms(partial(prepare_batch, [image], "cpu"), args.repeats),
            "torch_path_ms": median_ms(partial(torch_network_input, pixels.float(), *out_hw),
                                       args.repeats),
        })
        print(f"{height}x{width} -> {out_hw[0]}x{out_hw[1]}: OpenCV path "
              f"{rows[-1]['opencv_path_ms']:.1f} ms, torch path {rows[-1]['torch_path_ms']:.1f} ms")
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"cpu": cpu_description(), "threads": torch.get_num_threads(), "rows": rows}
    (args.out / "preprocess.json").write_text(json.dumps(report, indent=2))
    print(f"CPU: {report['cpu']}")


if __name__ == "__main__":
    main()
