"""The foot stage of `aios run` / `aios ground` (after the world stage): contact labels for
every detection and, unless switched off, the foot-locked world motion of every track."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from aios_core.errors import AiosError
from aios_core.export.rest_shape import RestShape
from aios_core.feet.contact import ContactConfig, detect_contacts, path_noise_m
from aios_core.feet.leg_chain import leg_rotations, pose_legs
from aios_core.feet.lock import FootLockConfig, lock_feet
from aios_core.feet.rig import FootRig, foot_rig
from aios_core.results.foot_motion import FootMotion
from aios_core.results.results_file import RunResults


class NoWorldFrameError(AiosError):
    """Foot contact and locking work on the world frame, which these results lack."""


@dataclass(frozen=True)
class FootStageOptions:
    lock: bool = True  # False: contact labels only (`--no-foot-lock`)
    # Monocular depth jitter moves whole bodies: the locked body path is smoothed as much as
    # its own jitter asks (``contact.path_noise_m``; clean motion is left as it is).
    smooth_path: bool = True
    contact: ContactConfig = ContactConfig()
    foot_lock: FootLockConfig = FootLockConfig()


def track_rig(shape: RestShape, betas: np.ndarray) -> FootRig:
    """The FootRig of a person with these (10,) betas."""
    return foot_rig(shape.rest_joints(betas), shape.shaped_template(betas),
                    shape.skinning_weights)


def _track_rows(results: RunResults, track_id: int) -> np.ndarray:
    """Row indices of the track's best-scored detection per frame, in frame order."""
    rows = np.flatnonzero(results.detections["track_id"] == track_id)
    frames, scores = results.detections["frame_index"][rows], results.detections["score"][rows]
    rows = rows[np.lexsort((-scores, frames))]
    _, first = np.unique(results.detections["frame_index"][rows], return_index=True)
    return rows[first]


def track_legs(results: RunResults, shape: RestShape, track_id: int,
               locked: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One track's world leg joints and foot points, raw or foot-locked: (rows (T,), joints
    (T, 2, 4, 3) hip/knee/ankle/foot per side, points (T, 4, 3) in FOOT_POINTS order)."""
    det, world = results.detections, results.world
    rows = _track_rows(results, track_id)
    pose = results.feet.locked_body_pose[rows] if locked else det["body_pose"][rows]
    transl = results.feet.locked_transl_m[rows] if locked else world.transl_m[rows]
    rig = track_rig(shape, np.median(det["betas"][rows], axis=0))

    def tensor(values: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values, np.float64))

    with torch.no_grad():
        joints, points = pose_legs(rig, tensor(world.global_orient[rows]), tensor(transl),
                                   leg_rotations(tensor(pose)))
    return rows, joints.numpy(), points.numpy()


def add_foot_stage(results: RunResults, shape: RestShape,
                   options: FootStageOptions = FootStageOptions()) -> RunResults:
    """``results`` with a ``feet`` block (see ``aios_core.results.foot_motion``)."""
    world = results.world
    if world is None:
        raise NoWorldFrameError(f"foot contact needs a world frame, and the results of "
                                f"{results.source} have none: run `aios ground` first")
    det = results.detections
    contact = np.zeros((results.num_detections, 4), bool)
    body_pose = np.asarray(det["body_pose"], np.float64).copy()
    transl = np.asarray(world.transl_m, np.float64).copy()
    for track_id in results.track_ids():
        rows = _track_rows(results, track_id)
        rig = track_rig(shape, np.median(det["betas"][rows], axis=0))
        orient = np.asarray(world.global_orient[rows], np.float64)
        with torch.no_grad():
            _, points = pose_legs(rig, torch.as_tensor(orient), torch.as_tensor(transl[rows]),
                                  leg_rotations(torch.as_tensor(body_pose[rows])))
        times = det["timestamp_s"][rows]
        labels = detect_contacts(points.numpy(), times, rig.contact_height_m, rig.scale,
                                 options.contact)
        contact[rows] = labels
        if options.lock:
            noise_m = (path_noise_m(rig.rest_joints[0] + transl[rows], det["frame_index"][rows])
                       if options.smooth_path else 0.0)
            locked = lock_feet(rig, orient, transl[rows], body_pose[rows], labels,
                               options.foot_lock, path_noise_m=noise_m)
            body_pose[rows], transl[rows] = locked.body_pose, locked.transl_m
    feet = FootMotion(contact, body_pose, transl) if options.lock else FootMotion(contact)
    return replace(results, feet=feet)
