"""Synthetic results of people walking across the image, for the viewer tests and benchmark."""

from __future__ import annotations

import numpy as np

from aios_core.results.results_file import PER_DETECTION_SHAPES, RunResults

FPS = 25.0
IMAGE_SIZE_WH = (640, 360)
FOCAL_PX = 500.0
# People in an image come turned 180 degrees about x (the body model is y up, the camera y down).
UPRIGHT = np.array([np.pi, 0.0, 0.0])


def walking_people(num_frames: int, paths_m: dict[int, tuple[tuple, tuple]],
                   seed: int = 0) -> RunResults:
    """Each track walks in a straight line from its start to its end position (camera frame,
    metres) over ``num_frames`` frames; every person is seen in every frame."""
    rng = np.random.default_rng(seed)
    tracks = sorted(paths_m)
    frame = np.repeat(np.arange(num_frames), len(tracks))
    track = np.tile(np.array(tracks), num_frames)
    count = len(frame)
    det = {key: np.zeros((count, *tail)) for key, tail in PER_DETECTION_SHAPES.items()}
    det["frame_index"] = frame
    det["track_id"] = track
    det["timestamp_s"] = frame / FPS
    det["score"] = np.tile(np.linspace(0.9, 0.8, len(tracks)), num_frames)
    det["global_orient"][:] = UPRIGHT
    det["body_pose"] = rng.normal(scale=0.05, size=(count, 21, 3))
    progress = frame / max(num_frames - 1, 1)
    for track_id, (start, end) in paths_m.items():
        mine = track == track_id
        det["transl_m"][mine] = (np.asarray(start) + progress[mine, None]
                                 * (np.asarray(end) - np.asarray(start)))
    width, height = IMAGE_SIZE_WH
    centre = np.array([width / 2, height / 2])
    # Boxes and keypoints: the projection of the body-model origin, give or take.
    origin_px = det["transl_m"][:, :2] / det["transl_m"][:, 2:] * FOCAL_PX + centre
    for key in ("body_box_xyxy_px", "lhand_box_xyxy_px", "rhand_box_xyxy_px", "face_box_xyxy_px"):
        det[key] = np.concatenate([origin_px - 40, origin_px + 40], axis=1)
    for key in ("body_keypoints_px", "lhand_keypoints_px", "rhand_keypoints_px",
                "face_keypoints_px"):
        det[key] = origin_px[:, None] + rng.normal(scale=20, size=det[key].shape)
    return RunResults(
        source="walk.mp4", fps=FPS, num_frames=num_frames, image_size_wh=IMAGE_SIZE_WH,
        focal_px=np.array([FOCAL_PX, FOCAL_PX]), principal_point_px=centre,
        detections=det,
    )
