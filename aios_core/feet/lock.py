"""Foot locking: one person's motion changed just enough that feet in contact stay put.

A small optimisation over the whole track (torch, L-BFGS, CPU): the unknowns are a per-frame
root translation offset (T, 3) and per-frame changes of the eight leg joints' local rotations
(hips, knees, ankles, feet; T x 8 x 3, applied after the estimated rotation). Terms:

* contact: every foot point labelled in contact sits at its run's anchor, the median of its
  estimated positions over the run, lifted to its flat-foot height if lower; the weight rises
  over the first ``ease_frames`` frames of a run and falls over its last (eased transitions);
* floor: no foot point below its flat-foot height, at any frame;
* data: the changes stay small (root offset in metres, rotations in radians);
* smoothness: the changes' second differences over time are small, so the correction fades in
  and out around contact boundaries instead of popping, and adds no jitter;
* a jittery root path (``path_noise_m``, measured by ``contact.path_noise_m``): the data term
  weighs the root offset by that noise, and the locked path itself must move like a body
  (second differences near ``path_accel_m``), so depth jitter is smoothed away without lag.

Outside contact the motion keeps the estimate up to that faded correction. Only leg rotations
and the root translation change; the rest of the body follows the root unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from aios_core.body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from aios_core.feet.contact import contact_runs
from aios_core.feet.leg_chain import CHAIN_POSE_ROWS, leg_rotations, pose_legs
from aios_core.feet.rig import FootRig


@dataclass(frozen=True)
class FootLockConfig:
    contact_weight: float = 1e4  # per m^2 of distance to the anchor
    floor_weight: float = 1e4  # per m^2 below the floor
    root_weight: float = 100.0  # per m^2 of root offset (legs absorb most of the change)
    rotation_weight: float = 0.1  # per rad^2 of leg rotation change
    smooth_weight: float = 3.0  # per unit^2 of the leg rotation changes' second difference
    root_smooth_weight: float = 3.0  # per m^2 of the root offset's second difference
    # A jittery root path (``path_noise_m`` > 0) is also smoothed: its data term weighs
    # 1 / noise^2 instead of root_weight, and the locked path's second differences weigh
    # 1 / path_accel_m^2 (the per-frame second difference a walking pelvis has).
    path_accel_m: float = 0.015
    # Contact pulls with full weight only this many frames inside a run: a landing or a lift
    # labelled a frame early or late then moves the body little, and no joint pops there.
    ease_frames: int = 2
    iterations: int = 100


@dataclass(frozen=True)
class LockedMotion:
    body_pose: np.ndarray  # (T, 21, 3) axis-angle; only the leg rows differ from the input
    transl_m: np.ndarray  # (T, 3)


def contact_anchors(points_m: np.ndarray, labels: np.ndarray,
                    contact_height_m: np.ndarray) -> np.ndarray:
    """(T, P, 3) estimated points, (T, P) labels -> (T, P, 3) anchor per contact sample (NaN
    elsewhere): the run's median position, never below the point's flat-foot height."""
    anchors = np.full(points_m.shape, np.nan)
    for p in range(points_m.shape[1]):
        for start, end in contact_runs(labels[:, p]):
            anchor = np.median(points_m[start:end, p], axis=0)
            anchor[1] = max(anchor[1], contact_height_m[p])
            anchors[start:end, p] = anchor
    return anchors


def eased_weights(labels: np.ndarray, ease_frames: int) -> np.ndarray:
    """(T, P) labels -> (T, P) contact weights: 1 inside runs, rising linearly over the first
    and falling over the last ``ease_frames`` frames of each run, 0 outside."""
    weights = np.zeros(labels.shape)
    for p in range(labels.shape[1]):
        for start, end in contact_runs(labels[:, p]):
            inside = np.arange(start, end)
            edge = np.minimum(inside - start, end - 1 - inside)  # 0 at the ends
            weights[start:end, p] = np.minimum(1.0, (edge + 1) / (ease_frames + 1))
    return weights


def _second_difference(values: torch.Tensor) -> torch.Tensor:
    return values[2:] - 2.0 * values[1:-1] + values[:-2]


def lock_feet(rig: FootRig, global_orient: np.ndarray, transl_m: np.ndarray,
              body_pose: np.ndarray, labels: np.ndarray,
              config: FootLockConfig = FootLockConfig(),
              path_noise_m: float = 0.0) -> LockedMotion:
    """One track's world-frame SMPL-X motion ((T, 3), (T, 3), (T, 21, 3)) and its (T, 4)
    contact labels -> the foot-locked body pose and translation. ``path_noise_m``: the root
    path's jitter (0: clean, keep the path but for the contacts' pull)."""
    body_pose = np.asarray(body_pose, np.float64)
    transl_m = np.asarray(transl_m, np.float64)
    if len(transl_m) < 3 or not labels.any():
        return LockedMotion(body_pose.copy(), transl_m.copy())
    dtype = torch.float64
    orient = torch.as_tensor(np.asarray(global_orient, np.float64), dtype=dtype)
    transl = torch.as_tensor(transl_m, dtype=dtype)
    local = leg_rotations(torch.as_tensor(body_pose, dtype=dtype))
    with torch.no_grad():
        points = pose_legs(rig, orient, transl, local)[1].numpy()
    anchors = torch.as_tensor(contact_anchors(points, labels, rig.contact_height_m))
    in_contact = torch.as_tensor(labels, dtype=torch.bool)
    anchors = torch.where(in_contact[..., None], anchors, torch.zeros((), dtype=dtype))
    floor = torch.as_tensor(rig.contact_height_m, dtype=dtype)
    frames = len(transl_m)
    shift = torch.zeros(frames, 3, dtype=dtype, requires_grad=True)
    turn = torch.zeros(frames, 2, 4, 3, dtype=dtype, requires_grad=True)
    weight = torch.as_tensor(eased_weights(labels, config.ease_frames))[..., None]

    def loss() -> torch.Tensor:
        _, now = pose_legs(rig, orient, transl + shift, local @ axis_angle_to_matrix(turn))
        total = config.contact_weight * (weight * (now - anchors) ** 2).sum()
        total = total + config.floor_weight * torch.relu(floor - now[..., 1]).pow(2).sum()
        if path_noise_m > 0:
            total = total + shift.pow(2).sum() / path_noise_m ** 2
            total = total + _second_difference(transl + shift).pow(2).sum() / (
                config.path_accel_m ** 2)
        else:
            total = total + config.root_weight * shift.pow(2).sum()
        total = total + config.rotation_weight * turn.pow(2).sum()
        total = total + config.root_smooth_weight * _second_difference(shift).pow(2).sum()
        total = total + config.smooth_weight * _second_difference(turn).pow(2).sum()
        return total / frames

    optimiser = torch.optim.LBFGS([shift, turn], lr=1.0, max_iter=config.iterations,
                                  history_size=20, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-10, tolerance_change=1e-14)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        value = loss()
        value.backward()
        return value

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: more threads only contend
    try:
        optimiser.step(closure)
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        locked_pose = body_pose.copy()
        locked_pose[:, CHAIN_POSE_ROWS] = matrix_to_axis_angle(
            local @ axis_angle_to_matrix(turn)).numpy()
        return LockedMotion(locked_pose, (transl + shift).numpy())
