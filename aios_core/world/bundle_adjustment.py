"""Bundle adjustment of keyframe poses, points and the focal length (Levenberg-Marquardt with
the points eliminated by the Schur complement, Huber-weighted).

Why not ``scipy.optimize.least_squares``: on these problems (a few thousand points, tens of
keyframes) its sparse trust-region steps (LSMR) stalled after 300 evaluations with the camera
still drifting half a degree on exact tracks; the Schur complement keeps the reduced system
small and dense (6 per keyframe + 1), so each step is exact and a few tens suffice.

Camera model: pinhole, square pixels, fixed principal point; poses world-to-camera,
``x_cam = R @ x + t``; a pose update is ``R <- exp(w) R, t <- t + dt``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.spatial.transform import Rotation

HUBER_PX = 1.0
MAX_ITERATIONS = 40


@dataclass
class BundleProblem:
    rotations: np.ndarray  # (K, 3, 3) world-to-camera
    translations: np.ndarray  # (K, 3)
    points: np.ndarray  # (P, 3)
    focal_px: float
    principal_px: np.ndarray  # (2,)
    obs_key: np.ndarray  # (N,) keyframe of each observation
    obs_point: np.ndarray  # (N,) point of each observation
    obs_px: np.ndarray  # (N, 2)


@dataclass
class BundleResult:
    rms_px: float  # reprojection error (Huber-capped at 3x the threshold)
    per_observation_px: np.ndarray  # (N,)
    focal_sigma: float  # relative one-sigma error of the focal length (0 if held)


def _residuals(problem: BundleProblem):
    rotated = np.einsum("nij,nj->ni", problem.rotations[problem.obs_key],
                        problem.points[problem.obs_point])
    cam = rotated + problem.translations[problem.obs_key]
    normalised = cam[:, :2] / cam[:, 2:3]
    projected = normalised * problem.focal_px + problem.principal_px
    return projected - problem.obs_px, cam, rotated, normalised


def _skew(v: np.ndarray) -> np.ndarray:
    out = np.zeros((*v.shape[:-1], 3, 3))
    out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
    out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
    out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
    return out


def adjust(problem: BundleProblem, refine_focal: bool, pixel_scale: float = 1.0) -> BundleResult:
    """Minimise the Huber-weighted reprojection error in place; keyframe 0 is held fixed and
    the distance of keyframe 1 from it keeps the scale. ``pixel_scale``: tracking pixels per
    frame pixel (the Huber threshold is set in tracking pixels)."""
    num_keys, num_points = len(problem.rotations), len(problem.points)
    pose_params = 6 * (num_keys - 1) + (1 if refine_focal else 0)
    gauge = np.linalg.norm(problem.rotations[1].T @ problem.translations[1])
    damping = 1e-3
    residual, cam, rotated, normalised = _residuals(problem)
    cost = _huber_cost(residual * pixel_scale)
    for _ in range(MAX_ITERATIONS):
        error = np.linalg.norm(residual, axis=1) * pixel_scale
        weight = np.where(error < HUBER_PX, 1.0, HUBER_PX / np.maximum(error, 1e-12))
        z = cam[:, 2]
        f = problem.focal_px
        d_proj = np.zeros((len(z), 2, 3))  # du / dx_cam
        d_proj[:, 0, 0] = d_proj[:, 1, 1] = f / z
        d_proj[:, :, 2] = -f * normalised / z[:, None]
        j_point = d_proj @ problem.rotations[problem.obs_key]  # (N, 2, 3)
        j_pose = np.concatenate([-d_proj @ _skew(rotated), d_proj], axis=2)  # (N, 2, 6)
        moving = problem.obs_key > 0
        rows = np.arange(len(z))
        blocks = [(j_pose[moving], rows[moving], (problem.obs_key[moving] - 1) * 6)]
        j_full = sparse.csr_matrix(_assemble(len(z), pose_params, blocks, j_pose.shape[2]))
        if refine_focal:
            focal_col = (normalised * f).reshape(-1, 1)  # d u / d log f
            columns = sparse.csr_matrix((focal_col.ravel(), (np.arange(2 * len(z)),
                                                             np.zeros(2 * len(z), int))),
                                        shape=(2 * len(z), 1))
            j_full = sparse.hstack([j_full[:, :pose_params - 1], columns]).tocsr()
        sqrt_w = np.repeat(np.sqrt(weight), 2)
        j_cam = sparse.diags(sqrt_w) @ j_full  # (2N, C)
        r = sqrt_w * residual.ravel()
        # Point blocks: V_p = sum J_p^T W J_p (3x3), W_cp = J_c^T W J_p.
        jp_w = j_point * np.sqrt(weight)[:, None, None]
        v_blocks = np.zeros((num_points, 3, 3))
        np.add.at(v_blocks, problem.obs_point, np.einsum("nki,nkj->nij", jp_w, jp_w))
        g_point = np.zeros((num_points, 3))
        np.add.at(g_point, problem.obs_point, np.einsum("nki,nk->ni", jp_w,
                                                        r.reshape(-1, 2)))
        point_columns = 3 * problem.obs_point[:, None, None] + np.arange(3)  # (N, 1, 3)
        j_point_sparse = sparse.csr_matrix((
            jp_w.ravel(), (np.repeat(np.arange(2 * len(z)), 3),
                           np.broadcast_to(point_columns, jp_w.shape).ravel())),
            shape=(2 * len(z), 3 * num_points))
        u = (j_cam.T @ j_cam).toarray()
        w = (j_cam.T @ j_point_sparse)  # (C, 3P)
        g_cam = j_cam.T @ r
        while True:
            v_damped = v_blocks + damping * np.einsum("pii->pi", v_blocks)[:, :, None] * np.eye(3)
            v_damped += 1e-9 * np.eye(3)
            v_inv = np.linalg.inv(v_damped)
            v_inv_sparse = sparse.block_diag(list(v_inv), format="csr")
            u_damped = u + damping * np.diag(np.diag(u)) + 1e-9 * np.eye(len(u))
            schur = u_damped - (w @ v_inv_sparse @ w.T).toarray()
            rhs = g_cam - w @ (v_inv_sparse @ g_point.ravel())
            d_cam = np.linalg.solve(schur, -rhs)
            d_point = -(v_inv_sparse @ (g_point.ravel() + w.T @ d_cam)).reshape(-1, 3)
            trial = _step(problem, d_cam, d_point, refine_focal, gauge)
            trial_residual = _residuals(trial)
            trial_cost = _huber_cost(trial_residual[0] * pixel_scale)
            if trial_cost < cost:
                _copy_into(problem, trial)
                improvement = (cost - trial_cost) / max(cost, 1e-12)
                residual, cam, rotated, normalised = trial_residual
                cost = trial_cost
                damping = max(damping / 3, 1e-7)
                break
            damping *= 4
            if damping > 1e6:
                improvement = 0.0
                break
        if improvement < 1e-6:
            break
    error = np.linalg.norm(residual, axis=1) * pixel_scale
    sigma = 0.0
    if refine_focal:
        # Schur complement of log f against everything else, undamped, at the solution.
        full = u - (w @ sparse.block_diag(list(np.linalg.inv(v_blocks + 1e-9 * np.eye(3))),
                                          format="csr") @ w.T).toarray()
        focal_info = full[-1, -1] - full[-1, :-1] @ np.linalg.lstsq(
            full[:-1, :-1], full[:-1, -1], rcond=None)[0]
        variance = 2 * cost / max(2 * len(error) - len(u) - 3 * num_points, 1)
        sigma = float(np.sqrt(variance / max(focal_info, 1e-12)))
    return BundleResult(float(np.sqrt(np.mean(np.minimum(error, 3 * HUBER_PX) ** 2))), error,
                        sigma)


def _assemble(num_obs: int, num_columns: int, blocks, width: int) -> sparse.coo_matrix:
    """(2N, C) sparse matrix from (n, 2, width) blocks at (observation rows, first columns)."""
    data, row_idx, col_idx = [], [], []
    for values, obs_rows, first_col in blocks:
        for axis in range(2):
            data.append(values[:, axis].ravel())
            row_idx.append(np.repeat(2 * obs_rows + axis, width))
            col_idx.append((first_col[:, None] + np.arange(width)).ravel())
    return sparse.coo_matrix((np.concatenate(data), (np.concatenate(row_idx),
                                                      np.concatenate(col_idx))),
                             shape=(2 * num_obs, num_columns))


def _step(problem: BundleProblem, d_cam: np.ndarray, d_point: np.ndarray, refine_focal: bool,
          gauge: float) -> BundleProblem:
    num_moving = len(problem.rotations) - 1
    d_pose = d_cam[:6 * num_moving].reshape(-1, 6)
    rotations = problem.rotations.copy()
    translations = problem.translations.copy()
    rotations[1:] = Rotation.from_rotvec(d_pose[:, :3]).as_matrix() @ rotations[1:]
    translations[1:] += d_pose[:, 3:]
    points = problem.points + d_point
    # Hold the scale: keyframe 1 stays at its distance from keyframe 0 (at the origin).
    factor = gauge / max(np.linalg.norm(rotations[1].T @ translations[1]), 1e-12)
    focal = problem.focal_px * (float(np.exp(d_cam[-1])) if refine_focal else 1.0)
    return BundleProblem(rotations, translations * factor, points * factor, focal,
                         problem.principal_px, problem.obs_key, problem.obs_point,
                         problem.obs_px)


def _copy_into(problem: BundleProblem, trial: BundleProblem) -> None:
    problem.rotations, problem.translations = trial.rotations, trial.translations
    problem.points, problem.focal_px = trial.points, trial.focal_px


def _huber_cost(residual_px: np.ndarray) -> float:
    error = np.linalg.norm(residual_px, axis=1)
    return float(np.sum(np.where(error < HUBER_PX, 0.5 * error ** 2,
                                 HUBER_PX * (error - 0.5 * HUBER_PX))))
