"""Foot contact and foot locking on the world synthetic benchmark (people walking with truly
planted feet, tests/synthetic_world.py), before vs after locking, measured against the truth.

    python3 bench/bench_animation.py [--frames 300] [--people 3] [--out FILE.json]

Scenarios ``oracle_*``: the world block is the truth seen through a world stage that got camera
and floor right plus per-detection noise (tests/world_results.py; the camera does not matter
there), at the default noise and at twice that, so the numbers isolate the foot stage.
Scenarios ``world_stage_*``: the whole chain, tests/synthetic_world.py's ``observe`` (what the
network would output: camera-frame jitter, depth error, missed detections) through the world
stage (aios_core.world.stage, true focal length given), `aios run`'s smoothing in the world
frame and then the foot stage; the truth is
aligned to the estimated world frame by the rigid floor motion (yaw + shift) that best maps the
true pelvis path onto the raw estimate.
Per scenario, over every track (means weighted by track length):

* skate_cm_per_frame: mean horizontal motion of truly planted heel/toe points between
  consecutive frames; skate_share: share of those steps over 1 cm;
* penetration_cm: mean depth of the foot points below the floor;
* contact_f1: the foot stage's labels against the truth;
* joint_error_mm: pelvis + leg joints against the truth; jitter_m_s3: their mean jerk;
* lag_frames: the shift (-3..3 frames) that best aligns the ankles' velocity with the truth's;
* cpu_s_per_video_min: process CPU seconds of the foot stage per minute of video per person.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aios_core.body import SmplxModel  # noqa: E402
from aios_core.export.rest_shape import RestShape  # noqa: E402
from aios_core.feet import metrics  # noqa: E402
from aios_core.feet.leg_chain import leg_rotations, pose_legs  # noqa: E402
from aios_core.feet.stage import add_foot_stage, track_legs, track_rig  # noqa: E402
from aios_core.pipeline.meshes import MeshMaker  # noqa: E402
from aios_core.pipeline.run import RunOptions  # noqa: E402
from aios_core.pipeline.world_pass import smooth_in_world  # noqa: E402
from aios_core.world.stage import WorldOptions, add_world_frame  # noqa: E402
from tests.synthetic_world import (  # noqa: E402
    ObservationNoise,
    body_joints,
    load_world_body_model,
    make_world,
    observe,
    render_frames,
)
from tests.world_results import WorldCase, world_case, world_smplx_dir  # noqa: E402

ORACLE_SCENARIOS = {
    "oracle": dict(rotating=False),
    "oracle_2x_noise": dict(rotating=False, transl_sigma_m=0.016, pose_sigma_rad=0.03,
                            orient_sigma_rad=0.02),
}
STAGE_SCENARIOS = {"world_stage_static": False, "world_stage_rotating": True}
RUN_SMOOTHING = RunOptions(input_path=Path("x")).smooth_strength  # `aios run`'s default


def world_stage_case(smplx_dir: Path, frames: int, people: int, rotating: bool,
                     seed: int) -> WorldCase:
    """observe -> world stage; the truth per detection, aligned to the estimated world."""
    model = load_world_body_model(smplx_dir)
    world = make_world(model, frames=frames, num_people=people, rotating=rotating, seed=seed)
    observation = observe(world, ObservationNoise(seed=seed))
    video = render_frames(world, seed) if rotating else None
    results, _ = add_world_frame(
        observation.results, lambda params: body_joints(model, params),
        WorldOptions(focal_px=world.camera.focal_px, camera="rotating" if rotating else "static"),
        frames=None if video is None else iter(video))
    if results.world is None:
        raise SystemExit("the world stage found no floor on the synthetic scene")
    # As `aios run`: tracks smoothed in the world frame before the foot stage.
    results = smooth_in_world(results, MeshMaker(model), RUN_SMOOTHING)
    det = results.detections
    people_rows = observation.person_of_detection
    truth = {key: np.stack([getattr(world.people[p], key)[k] for p, k in
                            zip(people_rows, det["frame_index"], strict=True)])
             for key in ("global_orient", "transl_m", "body_pose", "contact")}
    rest_pelvis = np.stack([world.people[p].rest_pelvis_m for p in people_rows])
    turn, shift = _floor_alignment(rest_pelvis + truth["transl_m"],
                                   rest_pelvis + results.world.transl_m)
    orient = (Rotation.from_matrix(turn) * Rotation.from_rotvec(truth["global_orient"]))
    transl = (rest_pelvis + truth["transl_m"]) @ turn.T + shift - rest_pelvis
    return WorldCase(results, truth["contact"], orient.as_rotvec(), truth["body_pose"], transl,
                     np.zeros((len(transl), 0, 3)))


def _floor_alignment(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation about y and shift with target ~ R @ source + t (least squares, Kabsch in x-z)."""
    a, b = source[:, [0, 2]], target[:, [0, 2]]
    a0, b0 = a - a.mean(0), b - b.mean(0)
    u, _, vt = np.linalg.svd(a0.T @ b0)
    r2 = (u @ vt).T
    if np.linalg.det(r2) < 0:
        vt[-1] *= -1
        r2 = (u @ vt).T
    turn = np.array([[r2[0, 0], 0.0, r2[0, 1]], [0.0, 1.0, 0.0], [r2[1, 0], 0.0, r2[1, 1]]])
    shift = target.mean(0) - source.mean(0) @ turn.T
    return turn, shift


def truth_legs(case, shape, results, rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pelvis + 8 leg joints (T, 9, 3), foot points (T, 4, 3)) of the truth at ``rows``."""
    rig = track_rig(shape, np.median(results.detections["betas"][rows], axis=0))
    t = lambda v: torch.as_tensor(np.asarray(v, np.float64))  # noqa: E731
    joints, points = pose_legs(rig, t(case.truth_global_orient[rows]),
                               t(case.truth_transl_m[rows]),
                               leg_rotations(t(case.truth_body_pose[rows])))
    pelvis = rig.rest_joints[0] + case.truth_transl_m[rows]
    return _with_pelvis(pelvis, joints.numpy()), points.numpy()


def _with_pelvis(pelvis: np.ndarray, legs: np.ndarray) -> np.ndarray:
    return np.concatenate([pelvis[:, None], legs.reshape(len(legs), 8, 3)], axis=1)


def consecutive_jitter(joints: np.ndarray, frames: np.ndarray, fps: float) -> float:
    """Mean jerk over windows of four consecutive frames only (tracks have missed frames)."""
    jerk = np.diff(joints, n=3, axis=0) * fps ** 3
    whole = (frames[3:] - frames[:-3]) == 3
    return float(np.linalg.norm(jerk[whole], axis=-1).mean()) if whole.any() else 0.0


def lag_frames(joints: np.ndarray, truth: np.ndarray) -> int:
    """The shift that best aligns the ankles' horizontal velocity with the truth's."""
    ankles = [3, 7]  # in the (pelvis, left hip/knee/ankle/foot, right ...) layout
    ours = np.diff(joints[:, ankles][..., [0, 2]], axis=0).reshape(len(joints) - 1, -1)
    ref = np.diff(truth[:, ankles][..., [0, 2]], axis=0).reshape(len(truth) - 1, -1)
    scores = {s: float(np.sum(ours[max(s, 0):len(ours) + min(s, 0)]
                              * ref[max(-s, 0):len(ref) + min(-s, 0)])) for s in range(-3, 4)}
    return max(scores, key=scores.get)


def evaluate(case, shape, locked, fps: float) -> dict[str, dict[str, float]]:
    totals: dict[str, dict[str, list]] = {"raw": {}, "locked": {}}
    results = locked
    for track in results.track_ids():
        true_joints, true_points = None, None
        for name, use_lock in (("raw", False), ("locked", True)):
            rows, legs, points = track_legs(results, shape, track, use_lock)
            if true_joints is None:
                true_joints, true_points = truth_legs(case, shape, results, rows)
            transl = (results.feet.locked_transl_m if use_lock else results.world.transl_m)[rows]
            rig_pelvis = true_joints[:, 0] - case.truth_transl_m[rows]  # rest pelvis per row
            joints = _with_pelvis(rig_pelvis + transl, legs)
            frames = results.detections["frame_index"][rows]
            step = np.zeros((len(rows), 4), bool)
            step[1:] = (np.diff(frames) == 1)[:, None]
            truth_contact = case.truth_contact[rows] & (step | np.roll(step, -1, axis=0))
            skate, share = metrics.foot_skate_cm(points, truth_contact & step)
            rig = track_rig(shape, np.median(results.detections["betas"][rows], axis=0))
            values = {
                "skate_cm_per_frame": skate, "skate_share": share,
                "penetration_cm": metrics.penetration_cm(points, rig.contact_height_m),
                "contact_f1": metrics.contact_f1(results.feet.contact[rows],
                                                 case.truth_contact[rows]),
                "joint_error_mm": metrics.joint_error_mm(joints, true_joints),
                "jitter_m_s3": consecutive_jitter(joints, frames, fps),
                "lag_frames": lag_frames(joints, true_joints),
            }
            for key, value in values.items():
                totals[name].setdefault(key, []).append((value, len(rows)))
    return {name: {key: float(np.average([v for v, _ in pairs], weights=[w for _, w in pairs]))
                   for key, pairs in columns.items()} for name, columns in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/animation.json"))
    parser.add_argument("--only", nargs="*", help="scenario names to run (default: all)")
    args = parser.parse_args()
    report = {"frames": args.frames, "people": args.people, "scenarios": {}}
    with tempfile.TemporaryDirectory() as folder:
        smplx_dir = world_smplx_dir(Path(folder))
        shape = RestShape(SmplxModel(smplx_dir))
        cases = {name: (lambda noise=noise: world_case(
            smplx_dir, frames=args.frames, num_people=args.people, seed=args.seed, **noise))
            for name, noise in ORACLE_SCENARIOS.items()}
        cases.update({name: (lambda rotating=rotating: world_stage_case(
            smplx_dir, args.frames, args.people, rotating, args.seed))
            for name, rotating in STAGE_SCENARIOS.items()})
        for name, make_case in cases.items():
            if args.only and name not in args.only:
                continue
            case = make_case()
            start = time.process_time()
            locked = add_foot_stage(case.results, shape)
            cpu_s = time.process_time() - start
            scores = evaluate(case, shape, locked, case.results.fps)
            video_min = args.frames / case.results.fps / 60.0
            scores["cpu_s_per_video_min"] = cpu_s / video_min / args.people
            scores["skate_reduction"] = 1.0 - (scores["locked"]["skate_cm_per_frame"]
                                               / max(scores["raw"]["skate_cm_per_frame"], 1e-9))
            report["scenarios"][name] = scores
            print(f"{name}: {json.dumps(scores, indent=1)}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
