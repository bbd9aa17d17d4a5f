"""Track ids and temporal smoothing over a whole run's detections (offline, deterministic)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from aios_core.person import COEFFICIENT_FIELDS, KEYPOINT_FIELDS, ROTATION_FIELDS, fields_of_kind
from aios_core.results.results_file import RunResults
from aios_core.tracking import MultiPersonSmoother, PersonTracker, SmoothingConfig, TrackerConfig


def smoothing_config(strength: float) -> SmoothingConfig:
    """The tracking package's smoother, keyed by the results-file field names."""
    return SmoothingConfig(
        strength=strength,
        rotation_keys=ROTATION_FIELDS,
        translation_keys=fields_of_kind("translation"),
        keypoint_keys=KEYPOINT_FIELDS,
        vector_keys=COEFFICIENT_FIELDS,
    )


def assign_tracks(results: RunResults, first_frame: int, tracker: TrackerConfig) -> np.ndarray:
    """Track id per detection, replaying the tracker frame by frame (empty frames included,
    so that misses age tracks exactly as they would live)."""
    frames = results.detections["frame_index"]
    track_ids = np.full(len(frames), -1, dtype=np.int64)
    person_tracker = PersonTracker(tracker)
    order = np.argsort(frames, kind="stable")
    frame_range = np.arange(first_frame, first_frame + results.num_frames + 1)
    starts = np.searchsorted(frames[order], frame_range)
    boxes = results.detections["body_box_xyxy_px"]
    keypoints = results.detections["body_keypoints_px"]
    scores = results.detections["score"]
    for begin, end in zip(starts[:-1], starts[1:], strict=True):
        rows = order[begin:end]
        track_ids[rows] = person_tracker.update(boxes[rows], keypoints[rows], scores[rows])
    return track_ids


def smooth_tracks(detections: dict[str, np.ndarray], smoothing_strength: float) -> None:
    """Smooth the parameters of tracked rows (track id >= 0) in place, per track, in time."""
    config = smoothing_config(smoothing_strength)
    if not config.enabled:
        return
    smoother = MultiPersonSmoother(config)
    keys = (*config.rotation_keys, *config.translation_keys, *config.keypoint_keys,
            *config.vector_keys)
    for row in np.argsort(detections["frame_index"], kind="stable"):
        track = int(detections["track_id"][row])
        if track < 0:
            continue
        time_s = float(detections["timestamp_s"][row])
        smoothed = smoother(track, {key: detections[key][row] for key in keys}, time_s)
        for key, value in smoothed.items():
            detections[key][row] = value


def track_and_smooth(
    results: RunResults, first_frame: int, tracker: TrackerConfig, smoothing_strength: float
) -> RunResults:
    """A copy with track ids filled in and, when strength > 0, parameters smoothed per track."""
    detections = {key: value.copy() for key, value in results.detections.items()}
    detections["track_id"] = assign_tracks(results, first_frame, tracker)
    smooth_tracks(detections, smoothing_strength)
    kept = detections["track_id"] >= 0
    world = None if results.world is None else results.world.select(kept)
    return replace(
        results, detections={key: value[kept] for key, value in detections.items()}, world=world
    )
