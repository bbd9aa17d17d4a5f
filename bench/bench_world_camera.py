"""The world stage on rendered rooms seen by a moving camera, with the focal length NOT given.

Scenes (tests/synthetic_scene.py): a tiled floor, walls and boxes rendered with pyrender,
walkers with exactly planted feet occluding them, camera paths static / pan / dolly /
handheld / orbit, true horizontal fields of view 45 and 70 deg (the network assumes ~15 deg);
the people are observed with tests/synthetic_world.py's noise model (depth 3 % per detection
and 3 % per person, 1.5 px, 1.5 deg, 10 % missed). Runs `add_world_frame` with
`--camera auto` and no focal length, and prints per case:

  focal %        focal length error
  ATE yaw cm     camera path error after a turn about the vertical and a shift (scale kept)
  ATE sim3 cm    after a similarity (shape only);  scale %: the similarity's scale error
  root %         world root error relative to the distance each person walked
  root cm        world root error, one turn + shift for the whole scene (height not aligned);
                 "smoothed": after the world-frame smoothing `aios run` applies (strength 0.5)
  gravity deg    floor normal error
  mode           what --camera auto chose
  cam s/frame    CPU seconds (process time) of the camera stage (tracking + motion), on the
                 frames upscaled to 1280x720

    python3 bench/bench_world_camera.py                      # 10 s at 10 fps, 3 people
    python3 bench/bench_world_camera.py --paths handheld --fovs 70 --cache rendered_scenes
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is importable

from aios_core.body.meshes import MeshMaker  # noqa: E402
from aios_core.pipeline.world_pass import smooth_in_world  # noqa: E402
from aios_core.world.body_points import SkeletonPoints  # noqa: E402
from aios_core.world.stage import WorldOptions, add_world_frame  # noqa: E402
from tests.synthetic_scene import CAMERA_PATHS, make_scene_world, render_scene  # noqa: E402
from tests.synthetic_world import (  # noqa: E402
    ObservationNoise,
    load_world_body_model,
    observe,
    write_world_smplx,
)
from tests.trajectory_metrics import scene_scores  # noqa: E402


def camera_stage_seconds_720p(frames: np.ndarray, results) -> float:
    """CPU seconds per frame of tracking and camera motion on the frames at 1280x720."""
    import cv2

    from aios_core.world.camera_trajectory import TrajectoryFailed, estimate_trajectory
    from aios_core.world.feature_tracks import track_background
    from aios_core.world.stage import _boxes_per_frame

    factor = 720 / frames.shape[1]
    large = [cv2.resize(f, None, fx=factor, fy=factor) for f in frames]
    boxes = [b * factor for b in _boxes_per_frame(results)]
    started = time.process_time()
    tracks = track_background(large, boxes)
    try:
        estimate_trajectory(tracks, np.array([640.0, 360.0]), None)
    except TrajectoryFailed:
        pass
    return (time.process_time() - started) / len(large)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", default=",".join(CAMERA_PATHS))
    parser.add_argument("--fovs", default="45,70")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, help="keep rendered frames here between runs")
    parser.add_argument("--no-timing", action="store_true", help="skip the 720p timing")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = load_world_body_model(write_world_smplx(Path(folder)))
    points, meshes = SkeletonPoints(model), MeshMaker(model)
    frame_count = int(round(args.seconds * args.fps))
    table = {}
    header = ("case", "focal %", "ATE yaw cm", "ATE sim3 cm", "scale %", "root %", "root cm",
              "root smoothed cm", "gravity deg", "mode", "cam s/frame 720p")
    print(" | ".join(header))
    for path in args.paths.split(","):
        for fov in (float(f) for f in args.fovs.split(",")):
            world = make_scene_world(model, path, frame_count, args.fps, args.people, fov,
                                     args.seed)
            cached = args.cache / f"{path}_{fov:g}_{frame_count}_{args.seed}.npy" \
                if args.cache else None
            if cached is not None and cached.exists():
                frames = np.load(cached)
            else:
                frames = render_scene(world, model, args.seed)
                if cached is not None:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    np.save(cached, frames)
            observation = observe(world, ObservationNoise(seed=args.seed))
            grounded, report = add_world_frame(observation.results, points, WorldOptions(),
                                               list(frames))
            case = f"{path} {fov:g}deg"
            if grounded.world is None:
                print(f"{case} | no world: {report.warnings}")
                continue
            scores = scene_scores(world, observation, grounded)
            smoothed = smooth_in_world(grounded, meshes, 0.5)
            scores["root_smoothed_cm"] = scene_scores(world, observation, smoothed)["root_cm"]
            scores["mode"] = report.camera_mode
            scores["seconds_720p"] = (float("nan") if args.no_timing else
                                      camera_stage_seconds_720p(frames, observation.results))
            table[case] = scores
            print(f"{case} | {scores['focal_pct']:+.1f} | {scores['ate_yaw_cm']:.1f} | "
                  f"{scores['ate_sim3_cm']:.1f} | {scores['scale_pct']:.1f} | "
                  f"{scores['root_pct']:.1f} | {scores['root_cm']:.1f} | "
                  f"{scores['root_smoothed_cm']:.1f} | "
                  f"{scores['gravity_deg']:.2f} | {scores['mode']} | "
                  f"{scores['seconds_720p']:.3f}", flush=True)
            for warning in report.warnings:
                print(f"    warning: {warning}")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
