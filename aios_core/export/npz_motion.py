"""``--format npz``: one SMPL-X motion file per track, in the AMASS SMPL-X layout.

Keys (T frames; float64 unless noted). The first block is what AMASS-style tools and the
SMPL-X Blender add-on ("Add Animation": format "AMASS" for a world-frame export, which is z up
with people on the floor z = 0; format "SMPL-X" for a y-up camera-frame export) read:

=====================  ==========  ========================================================
poses                  (T, 165)    axis-angle of the 55 SMPL-X joints, absolute hand poses
                                   (flat_hand_mean=True convention)
trans                  (T, 3)      SMPL-X translation, metres: posed pelvis = J_pelvis + trans
betas                  (16,)       shape, one per person (median over the track), the
                                   model's betas then zeros (AMASS files carry 16; the zeros
                                   leave the body unchanged)
gender                 () str      "neutral"
mocap_frame_rate       () float    frames per second of the rows
mocap_time_length      () float    T / mocap_frame_rate, seconds
surface_model_type     () str      "smplx"
num_betas              () int64    16
root_orient            (T, 3)      = poses[:, 0:3]       pose_body (T, 63) = poses[:, 3:66]
pose_jaw               (T, 3)      = poses[:, 66:69]     pose_eye  (T, 6)  = poses[:, 69:75]
pose_hand              (T, 90)     = poses[:, 75:165]    left hand then right hand
expression             (T, 10)     SMPL-X expression coefficients per frame
frame_index            (T,) int64  frame number on the export grid (the input frame unless
                                   --fps resampled)
timestamp_s            (T,)        seconds from the start of the input
interpolated           (T,) bool   no detection of this person at that frame: values filled in
track_id               () int64    the person's track in the results
coordinate_frame       () str      "world_z_up" (results with a world frame: z up, the floor
                                   at z = 0, as AMASS), "y_up" or "camera" (see
                                   aios_core.export.motion)
flat_hand_mean         () bool     True: hand poses are absolute
=====================  ==========  ========================================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aios_core.export.motion import Motion, TrackMotion
from aios_core.export.paths import atomic_output, per_track_paths

AMASS_NUM_BETAS = 16


def motion_arrays(track: TrackMotion, motion: Motion) -> dict[str, np.ndarray]:
    """The npz content of one track (see the module docstring)."""
    poses = track.poses.reshape(track.num_frames, -1).astype(np.float64)
    betas = np.zeros(max(AMASS_NUM_BETAS, len(track.betas)))
    betas[:len(track.betas)] = track.betas
    return {
        "poses": poses,
        "trans": track.trans_m.astype(np.float64),
        "betas": betas,
        "gender": np.str_("neutral"),
        "mocap_frame_rate": np.float64(motion.fps),
        "mocap_time_length": np.float64(track.num_frames / motion.fps),
        "surface_model_type": np.str_("smplx"),
        "num_betas": np.int64(len(betas)),
        "root_orient": poses[:, 0:3],
        "pose_body": poses[:, 3:66],
        "pose_jaw": poses[:, 66:69],
        "pose_eye": poses[:, 69:75],
        "pose_hand": poses[:, 75:165],
        "expression": track.expression.astype(np.float64),
        "frame_index": track.frame_index.astype(np.int64),
        "timestamp_s": track.timestamp_s.astype(np.float64),
        "interpolated": track.interpolated.astype(bool),
        "track_id": np.int64(track.track_id),
        "coordinate_frame": np.str_(motion.coordinate_frame),
        "flat_hand_mean": np.bool_(True),
    }


def write_motion_npz(motion: Motion, out: Path) -> list[Path]:
    """One npz per track (``out``, or ``<stem>_track<ID>.npz`` for several tracks)."""
    paths = per_track_paths(out, [t.track_id for t in motion.tracks], ".npz")
    for track in motion.tracks:
        with atomic_output(paths[track.track_id]) as temp, open(temp, "wb") as stream:
            np.savez(stream, **motion_arrays(track, motion))
    return list(paths.values())
