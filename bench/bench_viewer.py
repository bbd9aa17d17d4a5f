"""How fast `aios view` opens a long clip, how fast it poses frames, and how much memory it
holds, against posing every frame up front (the eager baseline, extrapolated from the measured
posing rate, since it would not fit in memory).

A generated clip (default: 10 minutes at 25 fps, 3 people in every frame) and a synthetic
SMPL-X of the real model's size (tests/synthetic_smplx.py; the real one is licence-gated).

    PYTHONPATH=. python3 bench/bench_viewer.py --minutes 10 --people 3
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aios_core.results.results_file import save_results
from aios_core.viewer.server import RunningViewer, ViewerOptions, body_meshes
from tests.synthetic_smplx import write_synthetic_smplx
from tests.viewer_results import FPS, walking_people


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--scrub", type=int, default=200, help="random timeline jumps")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frames = int(args.minutes * 60 * FPS)
    paths = {t: ((-1.0 + t, -0.5, 5.0), (1.0 - t, -0.5, 4.0)) for t in range(args.people)}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        results_path = save_results(walking_people(frames, paths), folder / "long.aios.npz")
        smplx_dir = write_synthetic_smplx(folder / "smplx")
        rss_before = rss_mb()

        started = time.perf_counter()
        meshes = body_meshes(smplx_dir)
        body_model_s = time.perf_counter() - started
        viewer = RunningViewer(ViewerOptions(results_path, port=free_port()), meshes)
        chunked = viewer._meshes
        chunked.frame(0)  # the first frame's chunk, posed by the viewer's draw thread
        open_s = time.perf_counter() - started
        rss_open = rss_mb()

        chunk_times = []
        for chunk in range(1, 6):  # chunks not yet cached: the posing rate
            begun = time.perf_counter()
            chunked.frame(frames // 2 + chunk * chunked.chunk_frames)
            chunk_times.append(time.perf_counter() - begun)
        rows_per_chunk = chunked.chunk_frames * args.people
        pose_rows_per_s = rows_per_chunk / float(np.median(chunk_times))

        rng = np.random.default_rng(0)
        jumps = []
        for position in rng.integers(0, frames, args.scrub):
            begun = time.perf_counter()
            chunked.frame(int(position))
            jumps.append(time.perf_counter() - begun)
        rss_scrubbed = rss_mb()
        cached_mb = chunked.cached_bytes / 2**20
        viewer.close()

    rows = frames * args.people
    vertex_bytes = len(meshes.body_model.v_template) * 3 * 4
    report = {
        "clip": f"{args.minutes:g} min at {FPS:g} fps, {args.people} people: {rows} rows",
        "torch_threads": args.threads,
        "open_s": round(open_s, 2),
        "of_which_body_model_s": round(body_model_s, 2),
        "rss_mb": {"before": round(rss_before), "open": round(rss_open),
                   "after_scrub": round(rss_scrubbed), "mesh_cache": round(cached_mb)},
        "chunk_s_median": round(float(np.median(chunk_times)), 3),
        "pose_rows_per_s": round(pose_rows_per_s),
        "playback_needs_rows_per_s": round(FPS * args.people),
        "scrub_jump_s": {"median": round(float(np.median(jumps)), 3),
                         "p90": round(float(np.percentile(jumps, 90)), 3)},
        "eager_baseline": {"pose_all_s": round(rows / pose_rows_per_s, 1),
                           "vertices_mb": round(rows * vertex_bytes / 2**20)},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
