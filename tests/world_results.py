"""Results with a world block, made straight from tests/synthetic_world.py's truth.

The world block is the truth seen through a world stage that got the camera and floor right
(``WorldFrame`` from the true camera), plus per-detection estimation noise on the world root
translation, root orientation and body pose, and missed detections: what the foot stage and
the world exports get to work on, independent of how the world stage finds the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from aios_core.results.results_file import PER_DETECTION_SHAPES, RunResults
from aios_core.results.world_frame import WorldFrame
from tests.synthetic_world import load_world_body_model, make_world, write_world_smplx


@dataclass
class WorldCase:
    results: RunResults
    truth_contact: np.ndarray  # (D, 4) bool, per detection
    truth_global_orient: np.ndarray  # (D, 3) world
    truth_body_pose: np.ndarray  # (D, 21, 3)
    truth_transl_m: np.ndarray  # (D, 3) world
    truth_joints_m: np.ndarray  # (D, 144, 3) world


def world_smplx_dir(folder: Path) -> Path:
    """The synthetic SMPL-X with feet (see tests/synthetic_world.py), written once per folder."""
    if not (folder / "SMPLX_NEUTRAL.npz").is_file():
        write_world_smplx(folder)
    return folder


def world_case(smplx_dir: Path, frames: int = 90, num_people: int = 2, rotating: bool = True,
               seed: int = 0, transl_sigma_m: float = 0.008, pose_sigma_rad: float = 0.015,
               orient_sigma_rad: float = 0.01, miss_probability: float = 0.05) -> WorldCase:
    world = make_world(load_world_body_model(smplx_dir), frames=frames, num_people=num_people,
                       rotating=rotating, seed=seed)
    rng = np.random.default_rng(seed + 1)
    camera = world.camera
    rows: dict[str, list] = {key: [] for key in PER_DETECTION_SHAPES}
    extra: dict[str, list] = {k: [] for k in ("orient_w", "transl_w", "contact", "orient",
                                              "pose", "trans", "joints")}
    for k in range(frames):
        to_cam = camera.camera_to_scene_R[k].T
        for index, person in enumerate(world.people):
            if k and rng.random() < miss_probability:
                continue
            orient_w = (Rotation.from_rotvec(rng.normal(0, orient_sigma_rad, 3))
                        * Rotation.from_rotvec(person.global_orient[k]))
            transl_w = person.transl_m[k] + rng.normal(0, transl_sigma_m, 3)
            pose = person.body_pose[k] + rng.normal(0, pose_sigma_rad, (21, 3))
            pelvis_cam = to_cam @ (person.rest_pelvis_m + transl_w - camera.position_m[k])
            row = {
                "frame_index": k, "timestamp_s": k / world.fps, "track_id": 10 + index,
                "score": 0.9, "global_orient": (Rotation.from_matrix(to_cam) * orient_w)
                .as_rotvec(), "body_pose": pose, "betas": person.betas,
                "transl_m": pelvis_cam - person.rest_pelvis_m,
            }
            for key, tail in PER_DETECTION_SHAPES.items():
                rows[key].append(np.asarray(row.get(key, np.zeros(tail))))
            for key, value in (("orient_w", orient_w.as_rotvec()), ("transl_w", transl_w),
                               ("contact", person.contact[k]), ("orient", person.global_orient[k]),
                               ("pose", person.body_pose[k]),
                               ("trans", person.transl_m[k]), ("joints", person.joints_m[k])):
                extra[key].append(value)
    detections = {key: np.stack(values) for key, values in rows.items()}
    frames_wh = np.tile(camera.image_size_wh, (frames, 1))
    focal = np.full((frames, 2), camera.focal_px)
    results = RunResults(
        source="walkers.mp4", fps=world.fps, num_frames=frames,
        image_size_wh=tuple(camera.image_size_wh), focal_px=focal[0],
        principal_point_px=camera.principal_point_px, detections=detections,
        frame_index_per_frame=np.arange(frames), image_size_wh_per_frame=frames_wh,
        focal_px_per_frame=focal,
        principal_point_px_per_frame=np.tile(camera.principal_point_px, (frames, 1)),
        world=WorldFrame(camera.camera_to_scene_R, camera.position_m,
                         np.stack(extra["orient_w"]), np.stack(extra["transl_w"]),
                         "rotating" if rotating else "static", "user"),
    )
    return WorldCase(results, np.stack(extra["contact"]), np.stack(extra["orient"]),
                     np.stack(extra["pose"]),
                     np.stack(extra["trans"]), np.stack(extra["joints"]))
