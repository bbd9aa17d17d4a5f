"""Accuracy of the world stage on synthetic truth (no timings): people walking with planted
feet (forward kinematics of the synthetic SMPL-X stand-in), a static and a rotating camera,
the network's output simulated with per-frame jitter, depth error, missed detections and its
wrong (4x too long) assumed focal length. See tests/synthetic_world.py.

Prints, per camera and focal length, the median over seeds of:
  ground-normal error (deg), floor-height error (cm), world root error (cm; after the best
  turn about the up axis and shift along the floor, height not aligned; "smoothed" = after the
  world-frame smoothing `aios run` applies), camera rotation error (deg, rotating camera).
Targets (true focal): normal < 2 deg, floor < 3 cm, rotation < 1 deg.

    python3 bench/bench_world.py --seeds 5 --frames 150 --people 4
    python3 bench/bench_world.py --picture assets/world_floor.png   # the README's picture
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is importable

from aios_core.body.meshes import MeshMaker  # noqa: E402
from aios_core.pipeline.world_pass import smooth_in_world  # noqa: E402
from aios_core.world.body_points import SkeletonPoints  # noqa: E402
from aios_core.world.stage import WorldOptions, add_world_frame  # noqa: E402
from tests.synthetic_world import (  # noqa: E402
    ObservationNoise,
    load_world_body_model,
    make_world,
    observe,
    render_frames,
    world_errors,
    write_world_smplx,
)


def write_picture(model, path: Path, frame: int = 45) -> None:
    """One frame of a grounded synthetic scene: meshes and the fitted floor grid."""
    import cv2

    from aios_core.rendering.floor_grid import FloorGrid, draw_floor_grid
    from aios_core.rendering.overlay import MeshOverlayRenderer

    world = make_world(model, frames=90, num_people=3, seed=1, image_size_wh=(480, 270))
    observation = observe(world, ObservationNoise(seed=1))
    grounded, _ = add_world_frame(observation.results, SkeletonPoints(model),
                                  WorldOptions(focal_px=world.camera.focal_px, camera="static"))
    meshes = MeshMaker(model)
    block = grounded.world
    rows = np.flatnonzero(grounded.detections["frame_index"] == frame)
    people = {key: value[rows] for key, value in grounded.detections.items()}
    width, height = world.camera.image_size_wh
    shade = np.linspace(70, 140, height, dtype=np.float32)[:, None, None]
    image = np.broadcast_to(shade, (height, width, 3)).astype(np.uint8)  # plain backdrop
    image = draw_floor_grid(image, FloorGrid.around(block.transl_m), block.camera_to_world_R[frame],
                            block.camera_position_m[frame], grounded.focal_px_per_frame[frame],
                            grounded.principal_point_px_per_frame[frame])
    with MeshOverlayRenderer() as renderer:
        image = renderer.render(image, meshes.vertices(people), meshes.faces, people["track_id"],
                                grounded.focal_px_per_frame[frame],
                                grounded.principal_point_px_per_frame[frame])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--picture", type=Path, help="only write the README's picture here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = load_world_body_model(write_world_smplx(Path(folder)))
    if args.picture:
        write_picture(model, args.picture)
        return
    points, meshes = SkeletonPoints(model), MeshMaker(model)
    table: dict[str, dict[str, float]] = {}
    for camera in ("static", "rotating"):
        rows: dict[str, list[dict[str, float]]] = {"true focal": [], "assumed focal": []}
        chosen = []
        for seed in range(args.seeds):
            world = make_world(model, frames=args.frames, num_people=args.people,
                               rotating=camera == "rotating", seed=seed)
            observation = observe(world, ObservationNoise(seed=seed))
            frames = list(render_frames(world, seed=seed))
            for label, options in (("true focal", WorldOptions(focal_px=world.camera.focal_px)),
                                   ("assumed focal", WorldOptions())):
                grounded, report = add_world_frame(observation.results, points, options, frames)
                chosen.append(report.camera_mode)
                if grounded.world is None:
                    print(f"{camera} seed {seed} {label}: {report.warnings}")
                    continue
                errors = world_errors(world, observation, grounded)
                smoothed = smooth_in_world(grounded, meshes, 0.5)
                errors["root_smoothed_cm"] = world_errors(world, observation, smoothed)["root_cm"]
                rows[label].append(errors)
        for label, values in rows.items():
            medians = {key: float(np.median([v[key] for v in values])) for key in values[0]}
            table[f"{camera}, {label}"] = medians
        print(f"{camera}: --camera auto chose {sorted(set(chosen))}")
    header = ("case", "normal deg", "floor cm", "root cm", "root smoothed cm", "rotation deg")
    print(" | ".join(header))
    for case, m in table.items():
        print(f"{case} | {m['normal_deg']:.2f} | {m['floor_cm']:.2f} | {m['root_cm']:.1f} | "
              f"{m['root_smoothed_cm']:.1f} | {m['rotation_deg']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
