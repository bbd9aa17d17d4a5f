"""``--format json``: every exported person at every frame, for web and scripting users.

One file; its layout is ``MOTION_JSON_SCHEMA`` (JSON Schema 2020-12). In short::

    {"format": "aios-motion", "version": 1, "source": ..., "fps": ..., "coordinate_frame": ...,
     "body_model": {"type": "smplx", "gender": "neutral", "flat_hand_mean": true, ...},
     "camera": {"image_size_wh": [w, h], "focal_px": [fx, fy], "principal_point_px": [cx, cy],
                "path": [...]},       # world exports: the camera's pose per frame
     "tracks": [{"track_id": 3, "betas": [10 numbers], "num_frames": ..., ...}],
     "frames": [{"frame_index": 0, "timestamp_s": 0.0,
                 "people": [{"track_id": 3, "global_orient": [x, y, z], "body_pose": [21 x 3],
                             "left_hand_pose": [15 x 3], ..., "trans": [x, y, z], ...}]}]}

Values are those of the npz export (``aios_core.export.motion``), rounded to 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aios_core.body.keypoints import SMPLX_JOINT_NAMES
from aios_core.export.motion import Motion, TrackMotion
from aios_core.export.paths import atomic_output, with_default_suffix

FORMAT_NAME = "aios-motion"
FORMAT_VERSION = 1
_DECIMALS = 6


def _numbers(count: int, kind: str = "number") -> dict:
    return {"type": "array", "items": {"type": kind}, "minItems": count, "maxItems": count}


def _vectors(count: int) -> dict:
    return {"type": "array", "items": _numbers(3), "minItems": count, "maxItems": count}


_PERSON_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["track_id", "interpolated", "score", "global_orient", "body_pose", "jaw_pose",
                 "leye_pose", "reye_pose", "left_hand_pose", "right_hand_pose", "trans",
                 "expression"],
    "properties": {
        "track_id": {"type": "integer", "minimum": 0},
        "interpolated": {"type": "boolean",
                         "description": "no detection at this frame: values filled in"},
        "score": {"type": ["number", "null"], "description": "null where interpolated"},
        "global_orient": {**_numbers(3), "description": "axis-angle, radians"},
        "body_pose": {**_vectors(21), "description": "axis-angle per body joint"},
        "jaw_pose": _numbers(3),
        "leye_pose": _numbers(3),
        "reye_pose": _numbers(3),
        "left_hand_pose": {**_vectors(15), "description": "absolute (flat_hand_mean=True)"},
        "right_hand_pose": {**_vectors(15), "description": "absolute (flat_hand_mean=True)"},
        "trans": {**_numbers(3), "description": "metres; posed pelvis = J_pelvis + trans"},
        "expression": _numbers(10),
    },
}

MOTION_JSON_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "aios motion export",
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "version", "source", "fps", "coordinate_frame", "body_model",
                 "camera", "tracks", "frames"],
    "properties": {
        "format": {"enum": [FORMAT_NAME]},
        "version": {"enum": [FORMAT_VERSION]},
        "source": {"type": "string"},
        "fps": {"type": "number", "exclusiveMinimum": 0},
        "coordinate_frame": {
            "enum": ["y_up", "camera", "world", "world_z_up"],
            "description": "y_up: x right, y up, z towards the viewer, camera at the origin "
                           "looking down -z; camera: OpenCV (x right, y down, z forward); "
                           "world: the floor at y = 0, y up, the camera moving "
                           "(aios_core.results.world_frame); world_z_up: the world turned z up",
        },
        "body_model": {
            "type": "object",
            "required": ["type", "gender", "num_betas", "num_expression", "flat_hand_mean",
                         "joint_names"],
            "properties": {
                "type": {"enum": ["smplx"]},
                "gender": {"enum": ["neutral"]},
                "num_betas": {"enum": [10]},
                "num_expression": {"enum": [10]},
                "flat_hand_mean": {"enum": [True]},
                "joint_names": _numbers(len(SMPLX_JOINT_NAMES), kind="string"),
            },
        },
        "camera": {
            "type": "object",
            "required": ["image_size_wh", "focal_px", "principal_point_px"],
            "properties": {
                "image_size_wh": _numbers(2, kind="integer"),
                "focal_px": _numbers(2),
                "principal_point_px": _numbers(2),
                "path": {
                    "description": "world exports only: the camera per processed frame, "
                                   "x_world = R @ x_cam (OpenCV axes) + position_m",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["timestamp_s", "camera_to_world_R", "position_m"],
                        "properties": {"timestamp_s": {"type": "number"},
                                       "camera_to_world_R": _numbers(9),
                                       "position_m": _numbers(3)},
                    },
                },
            },
        },
        "tracks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["track_id", "betas", "num_frames", "first_frame_index",
                             "last_frame_index"],
                "properties": {
                    "track_id": {"type": "integer", "minimum": 0},
                    "betas": _numbers(10),
                    "num_frames": {"type": "integer", "minimum": 1},
                    "first_frame_index": {"type": "integer"},
                    "last_frame_index": {"type": "integer"},
                },
            },
        },
        "frames": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["frame_index", "timestamp_s", "people"],
                "properties": {
                    "frame_index": {"type": "integer"},
                    "timestamp_s": {"type": "number"},
                    "people": {"type": "array", "items": _PERSON_SCHEMA},
                },
            },
        },
    },
}


def _rounded(values: np.ndarray) -> list:
    return np.round(np.asarray(values, dtype=np.float64), _DECIMALS).tolist()


def _person(track: TrackMotion, k: int) -> dict:
    pose = track.poses[k]
    score = float(track.score[k])
    return {
        "track_id": track.track_id,
        "interpolated": bool(track.interpolated[k]),
        "score": None if np.isnan(score) else round(score, _DECIMALS),
        "global_orient": _rounded(pose[0]),
        "body_pose": _rounded(pose[1:22]),
        "jaw_pose": _rounded(pose[22]),
        "leye_pose": _rounded(pose[23]),
        "reye_pose": _rounded(pose[24]),
        "left_hand_pose": _rounded(pose[25:40]),
        "right_hand_pose": _rounded(pose[40:55]),
        "trans": _rounded(track.trans_m[k]),
        "expression": _rounded(track.expression[k]),
    }


def motion_document(motion: Motion) -> dict:
    """The JSON document (plain Python values) of ``motion``."""
    frames: dict[int, dict] = {}
    for track in motion.tracks:
        for k, frame in enumerate(track.frame_index.tolist()):
            entry = frames.setdefault(frame, {
                "frame_index": frame,
                "timestamp_s": round(float(track.timestamp_s[k]), _DECIMALS),
                "people": [],
            })
            entry["people"].append(_person(track, k))
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "source": motion.source,
        "fps": motion.fps,
        "coordinate_frame": motion.coordinate_frame,
        "body_model": {"type": "smplx", "gender": "neutral", "num_betas": 10,
                       "num_expression": 10, "flat_hand_mean": True,
                       "joint_names": list(SMPLX_JOINT_NAMES)},
        "camera": {"image_size_wh": [int(v) for v in motion.image_size_wh],
                   "focal_px": _rounded(motion.focal_px),
                   "principal_point_px": _rounded(motion.principal_point_px),
                   **({} if motion.camera is None else {"path": _camera_path(motion)})},
        "tracks": [{"track_id": t.track_id, "betas": _rounded(t.betas),
                    "num_frames": t.num_frames, "first_frame_index": int(t.frame_index[0]),
                    "last_frame_index": int(t.frame_index[-1])} for t in motion.tracks],
        "frames": [frames[f] for f in sorted(frames)],
    }


def _camera_path(motion: Motion) -> list[dict]:
    camera = motion.camera
    return [{"timestamp_s": round(float(time_s), _DECIMALS),
             "camera_to_world_R": _rounded(rotation.reshape(-1)), "position_m": _rounded(p)}
            for time_s, rotation, p in zip(camera.timestamp_s, camera.camera_to_world_R,
                                           camera.position_m, strict=True)]


def write_motion_json(motion: Motion, out: Path) -> list[Path]:
    """All tracks in one JSON file."""
    path = with_default_suffix(out, ".json")
    with atomic_output(path) as temp:
        temp.write_text(json.dumps(motion_document(motion), separators=(",", ":")))
    return [path]
