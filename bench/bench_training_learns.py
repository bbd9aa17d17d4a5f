"""Does `aios train` learn? A small AiOS fine-tuned from random weights on rendered people.

Renders a small data set with the SMPL-X stand-in (tests/synthetic_renders.py: random poses and
shapes on random backgrounds, ground truth known), scores held-out renders with the
random-weight network, trains for a fixed number of CPU steps through the real training loop
(``aios_core.training.loop.train``), and scores them again. Prints the loss curve, the step time
and the before/after table (recall at IoU 0.5, body keypoint error, PVE).

    python3 bench/bench_training_learns.py [--steps 40] [--train-images 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests")]

from training_learns import LEARNING_CONFIG, learning_experiment  # noqa: E402

from aios_core.model.config_record import architecture_summary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--train-images", type=int, default=8)
    parser.add_argument("--held-out-images", type=int, default=4)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()

    report = learning_experiment(steps=args.steps, train_images=args.train_images,
                                 held_out_images=args.held_out_images,
                                 size_hw=(args.height, args.width), lr=args.lr, seed=args.seed)
    print(f"network: {architecture_summary(LEARNING_CONFIG)}")
    print(f"data: {args.train_images} training / {args.held_out_images} held-out renders of "
          f"{args.height}x{args.width}, one person each; batch 2, lr {args.lr}, CPU")
    print("loss curve (weighted total, mean of each tenth of the run):")
    tenth = max(len(report.losses) // 10, 1)
    for start in range(0, len(report.losses), tenth):
        chunk = report.losses[start:start + tenth]
        print(f"  steps {start + 1:>4}-{start + len(chunk):<4} {statistics.fmean(chunk):10.1f}")
    steps_s = report.step_s[1:] or report.step_s  # the first step includes warm-up
    print(f"step time: median {statistics.median(steps_s):.2f} s "
          f"(min {min(steps_s):.2f}, max {max(steps_s):.2f}) over {len(steps_s)} steps")
    print(report.table())
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=1))


if __name__ == "__main__":
    main()
