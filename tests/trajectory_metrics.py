"""Scores of a world block against a synthetic scene's truth: the camera's path and the people.

Both frames are y up with the floor at y = 0, so the world's gauge is a turn about y and a
shift; these scores align with that (``yaw_alignment``) or, for the trajectory's shape only,
with a similarity (Umeyama: rotation, translation and scale).
"""

from __future__ import annotations

import numpy as np

from aios_core.results.results_file import RunResults
from tests.synthetic_world import Observation, SyntheticWorld, world_errors


def yaw_alignment(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation about y (3, 3) and shift (3,) taking (N, 3) ``source`` closest to ``target``."""
    a, b = source[:, [0, 2]] - source[:, [0, 2]].mean(0), target[:, [0, 2]] - \
        target[:, [0, 2]].mean(0)
    u, _, vt = np.linalg.svd(a.T @ b)
    turn = (u @ np.diag([1.0, np.sign(np.linalg.det(u @ vt))]) @ vt).T  # b ~ turn @ a
    rotation = np.eye(3)
    rotation[np.ix_([0, 2], [0, 2])] = turn
    shift = target.mean(0) - source.mean(0) @ rotation.T
    return rotation, shift


def similarity_alignment(source: np.ndarray, target: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, float]:
    """Umeyama: (R, t, s) minimising |target - (s R source + t)|^2 over (N, 3) points."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    a, b = source - mu_s, target - mu_t
    u, d, vt = np.linalg.svd(b.T @ a / len(a))
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ fix @ vt
    variance = (a ** 2).sum() / len(a)
    scale = float((d * np.diag(fix)).sum() / variance) if variance > 0 else 1.0
    return rotation, mu_t - scale * rotation @ mu_s, scale


def scene_scores(world: SyntheticWorld, observation: Observation, results: RunResults
                 ) -> dict[str, float]:
    """focal_pct, ate_yaw_cm, ate_sim3_cm, scale_pct (nan when the camera stands still),
    root_pct (world root error over each person's distance walked), root_cm, gravity_deg."""
    block = results.world
    camera = world.camera
    frames = results.frame_index_per_frame
    truth_path = camera.position_m[frames]
    estimate = block.camera_position_m.astype(np.float64)
    rotation, shift = yaw_alignment(estimate, truth_path)
    ate_yaw = np.linalg.norm(estimate @ rotation.T + shift - truth_path, axis=1).mean()
    travel = np.linalg.norm(truth_path - truth_path.mean(0), axis=1).max()
    if travel > 0.1:
        rot_s, shift_s, scale = similarity_alignment(estimate, truth_path)
        ate_sim3 = np.linalg.norm(scale * estimate @ rot_s.T + shift_s - truth_path, axis=1).mean()
        scale_pct = abs(1.0 / scale - 1.0) * 100
    else:
        ate_sim3, scale_pct = ate_yaw, float("nan")
    errors = world_errors(world, observation, results)
    # Root error per person relative to the distance walked, one alignment for the scene.
    truth_roots, estimate_roots, person = [], [], observation.person_of_detection
    for row, index in enumerate(person):
        frame = int(results.detections["frame_index"][row])
        truth_roots.append(world.people[index].joints_m[frame, 0])
        estimate_roots.append(block.transl_m[row] + world.people[index].rest_pelvis_m)
    truth_roots, estimate_roots = np.array(truth_roots), np.array(estimate_roots)
    rotation, shift = yaw_alignment(estimate_roots, truth_roots)
    error = np.linalg.norm(estimate_roots @ rotation.T + shift - truth_roots, axis=1)
    relative = []
    for index, walker in enumerate(world.people):
        mine = person == index
        if mine.any():
            walked = np.linalg.norm(np.diff(walker.joints_m[:, 0, [0, 2]], axis=0), axis=1).sum()
            relative.append(error[mine].mean() / walked)
    return {
        "focal_pct": float((results.focal_px_per_frame[0, 0] / camera.focal_px - 1) * 100),
        "ate_yaw_cm": float(ate_yaw * 100), "ate_sim3_cm": float(ate_sim3 * 100),
        "scale_pct": float(scale_pct), "root_pct": float(np.mean(relative) * 100),
        "root_cm": errors["root_cm"], "gravity_deg": errors["normal_deg"],
    }
