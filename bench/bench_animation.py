"""Foot contact and foot locking on the world synthetic benchmark (people walking with truly
planted feet, tests/synthetic_world.py), before vs after locking, measured against the truth.

    python3 bench/bench_animation.py [--frames 300] [--people 3] [--out FILE.json]

Scenarios: a static and a rotating camera at the default estimation noise, and one at twice
that noise. The world block is the truth seen through a world stage that got camera and floor
right plus per-detection noise (tests/world_results.py), so the numbers isolate the foot stage.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aios_core.animation import metrics  # noqa: E402
from aios_core.animation.leg_chain import leg_rotations, pose_legs  # noqa: E402
from aios_core.animation.results_stage import add_foot_stage, track_legs, track_rig  # noqa: E402
from aios_core.body import SmplxModel  # noqa: E402
from aios_core.export.rest_shape import RestShape  # noqa: E402
from tests.world_results import world_case, world_smplx_dir  # noqa: E402

SCENARIOS = {
    "static": dict(rotating=False),
    "rotating": dict(rotating=True),
    "rotating_2x_noise": dict(rotating=True, transl_sigma_m=0.016, pose_sigma_rad=0.03,
                              orient_sigma_rad=0.02),
}


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
    args = parser.parse_args()
    report = {"frames": args.frames, "people": args.people, "scenarios": {}}
    with tempfile.TemporaryDirectory() as folder:
        smplx_dir = world_smplx_dir(Path(folder))
        shape = RestShape(SmplxModel(smplx_dir))
        for name, noise in SCENARIOS.items():
            case = world_case(smplx_dir, frames=args.frames, num_people=args.people,
                              seed=args.seed, **noise)
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
