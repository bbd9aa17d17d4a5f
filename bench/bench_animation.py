"""Foot contact and foot locking on synthetic walks with truly planted feet
(tests/synthetic_world.py), before vs after the feet, measured against the truth.

    python3 bench/bench_animation.py [--frames 300] [--people 3] [--out FILE.json]

Scenarios ``oracle_*``: the world block is the truth seen through a world stage that got camera
and floor right plus per-detection noise (tests/world_results.py): none (``oracle_clean``), the
default, and twice that; only the feet run, so the numbers isolate them.
Scenarios ``chain_*``: the whole chain as `aios run` / `aios ground` run it
(``aios_core.pipeline.grounding``): tests/synthetic_world.py's ``observe`` (what the network
would output: camera-frame jitter, depth error, missed detections) -> world stage -> smoothing in
the world frame -> contacts -> foot locking, on a static and a panning camera, with the focal
length given (``--focal-px``) and found (no option: what the world stage finds or assumes). The
truth is aligned to the estimated world frame by the rigid floor motion (yaw + shift) that best
maps the true pelvis path onto the estimate.
Per scenario, ``raw`` (before the feet) and ``locked`` (after), over every track (means
weighted by track length; frames the track misses are left out of every difference):

* skate_wham_mm: WHAM's foot sliding: mean 3-D displacement of the heel/toe points between
  frames where the true point moves < 1 cm, mm/frame (what WHAM, TRAM, GVHMR report);
* skate_mm: ours: mean horizontal motion of points labelled in contact by the truth, mm/frame;
* contact_f1, boundary_mean_frames, boundary_within_1: the contact labels against the truth
  (start and end of each true run against the predicted run overlapping it);
* peak_accel_ratio: the largest over pelvis + leg joints of (peak acceleration / the truth's);
* jitter_ratio: mean jerk of pelvis + leg joints / the truth's;
* penetration_cm: mean depth of the foot points below the floor;
* lag_frames: the shift (-3..3 frames) that best aligns the ankles' velocity with the truth's;
* joint_error_mm: pelvis + leg joints against the truth;
* cpu_s_per_video_min: process CPU seconds of the feet per minute of video per person.
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
from aios_core.body.meshes import MeshMaker  # noqa: E402
from aios_core.export.rest_shape import RestShape  # noqa: E402
from aios_core.feet import metrics  # noqa: E402
from aios_core.feet.leg_chain import leg_rotations, pose_legs  # noqa: E402
from aios_core.feet.stage import add_foot_stage, track_legs, track_rig  # noqa: E402
from aios_core.pipeline.grounding import GroundingOptions, ground_people  # noqa: E402
from aios_core.world.stage import WorldOptions  # noqa: E402
from tests.synthetic_world import (  # noqa: E402
    ObservationNoise,
    load_world_body_model,
    make_world,
    observe,
    render_frames,
)
from tests.world_results import WorldCase, world_case, world_smplx_dir  # noqa: E402

ORACLE_SCENARIOS = {
    "oracle_clean": dict(rotating=False, transl_sigma_m=0.0, pose_sigma_rad=0.0,
                         orient_sigma_rad=0.0, miss_probability=0.0),
    "oracle": dict(rotating=False),
    "oracle_2x_noise": dict(rotating=False, transl_sigma_m=0.016, pose_sigma_rad=0.03,
                            orient_sigma_rad=0.02),
}
# name -> (panning camera, focal length given)
CHAIN_SCENARIOS = {
    "chain_static_focal_given": (False, True), "chain_static_focal_found": (False, False),
    "chain_panning_focal_given": (True, True), "chain_panning_focal_found": (True, False),
}


def chain_case(smplx_dir: Path, frames: int, people: int, panning: bool, focal_given: bool,
               seed: int) -> WorldCase:
    """observe -> the grounding chain (world, smoothing, feet); the truth per detection,
    aligned to the estimated world."""
    model = load_world_body_model(smplx_dir)
    world = make_world(model, frames=frames, num_people=people, rotating=panning, seed=seed)
    observation = observe(world, ObservationNoise(seed=seed))
    video = render_frames(world, seed) if panning else None
    options = GroundingOptions(WorldOptions(
        focal_px=world.camera.focal_px if focal_given else None,
        camera="rotating" if panning else "static"))
    results, _ = ground_people(observation.results, MeshMaker(model), options, None,
                               frames=None if video is None else iter(video))
    if results.world is None:
        raise SystemExit("the world stage found no floor on the synthetic scene")
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


def truth_legs(case, shape, results, rows) -> tuple[np.ndarray, np.ndarray]:
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


def track_scores(joints, points, true_joints, true_points, labels, truth_contact, frames,
                 contact_height_m, fps) -> dict[str, float]:
    """The metrics of one track's (T, 9, 3) joints and (T, 4, 3) foot points (module doc)."""
    steps = np.diff(frames) == 1  # (T-1,) consecutive frame pairs
    both = np.zeros(truth_contact.shape, bool)
    both[1:] = truth_contact[1:] & truth_contact[:-1] & steps[:, None]
    skate_cm, share = metrics.foot_skate_cm(points, both)
    boundary = metrics.contact_boundary_frames(labels, truth_contact)
    boundary = boundary[np.isfinite(boundary)]
    true_peak = metrics.peak_acceleration_m_s2(true_joints, fps, steps)
    true_jitter = consecutive_jitter(true_joints, frames, fps)
    return {
        "skate_wham_mm": metrics.wham_foot_skate_mm(points, true_points, steps),
        "skate_mm": skate_cm * 10.0, "skate_share": share,
        "contact_f1": metrics.contact_f1(labels, truth_contact),
        "boundary_mean_frames": float(boundary.mean()) if len(boundary) else 0.0,
        "boundary_within_1": float((boundary <= 1).mean()) if len(boundary) else 1.0,
        "peak_accel_ratio": float(np.max(metrics.peak_acceleration_m_s2(joints, fps, steps)
                                         / np.maximum(true_peak, 1e-9))),
        "jitter_ratio": consecutive_jitter(joints, frames, fps) / max(true_jitter, 1e-9),
        "penetration_cm": metrics.penetration_cm(points, contact_height_m),
        "lag_frames": lag_frames(joints, true_joints),
        "joint_error_mm": metrics.joint_error_mm(joints, true_joints),
    }


def evaluate(case, shape, results, fps: float) -> dict[str, dict[str, float]]:
    """Raw (before the feet) and locked motion of every track against the truth."""
    totals: dict[str, dict[str, list]] = {"raw": {}, "locked": {}}
    for track in results.track_ids():
        true_joints, true_points = None, None
        for name, use_lock in (("raw", False), ("locked", True)):
            rows, legs, points = track_legs(results, shape, track, use_lock)
            if true_joints is None:
                true_joints, true_points = truth_legs(case, shape, results, rows)
            transl = (results.feet.locked_transl_m if use_lock else results.world.transl_m)[rows]
            rig_pelvis = true_joints[:, 0] - case.truth_transl_m[rows]  # rest pelvis per row
            rig = track_rig(shape, np.median(results.detections["betas"][rows], axis=0))
            values = track_scores(
                _with_pelvis(rig_pelvis + transl, legs), points, true_joints, true_points,
                results.feet.contact[rows], case.truth_contact[rows],
                results.detections["frame_index"][rows], rig.contact_height_m, fps)
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
        names = [*ORACLE_SCENARIOS, *CHAIN_SCENARIOS]
        for name in names:
            if args.only and name not in args.only:
                continue
            start = time.process_time()
            if name in ORACLE_SCENARIOS:
                case = world_case(smplx_dir, frames=args.frames, num_people=args.people,
                                  seed=args.seed, **ORACLE_SCENARIOS[name])
                start = time.process_time()
                results = add_foot_stage(case.results, shape)
            else:
                case = chain_case(smplx_dir, args.frames, args.people, *CHAIN_SCENARIOS[name],
                                  args.seed)
                results = case.results
            cpu_s = time.process_time() - start
            scores = evaluate(case, shape, results, results.fps)
            video_min = args.frames / results.fps / 60.0
            scores["cpu_s_per_video_min"] = cpu_s / video_min / args.people
            report["scenarios"][name] = scores
            print(f"{name}: {json.dumps(scores, indent=1)}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
