"""The world stage inside `aios run` and `aios ground`: frames for the camera's rotation are
decoded again only when the camera mode needs them.

With a world frame, temporal smoothing happens there (``smooth_in_world``): a turning camera
moves every person in the camera frame, and a smoother's lag there would put each body where
the camera looked a moment earlier.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from aios_core.body.meshes import MeshMaker
from aios_core.pipeline.tracking_pass import smooth_tracks
from aios_core.results.results_file import RunResults
from aios_core.video import MediaReader
from aios_core.world.body_points import SkeletonPoints
from aios_core.world.stage import WorldOptions, WorldReport, add_world_frame
from aios_core.world.world_axes import bodies_in_camera


def processed_frames(input_path: Path, results: RunResults) -> Iterator[np.ndarray]:
    """The frames of ``input_path`` that ``results`` holds, in order (RGB)."""
    wanted = set(int(f) for f in results.frame_index_per_frame)
    first = int(results.frame_index_per_frame[0])
    last = int(results.frame_index_per_frame[-1])
    reader = MediaReader(input_path, start_frame=first, end_frame=last + 1)
    for frame in reader:
        if frame.index in wanted:
            yield frame.rgb


def world_pass(
    results: RunResults, meshes: MeshMaker, options: WorldOptions, input_path: Path | None,
    frames: Iterable[np.ndarray] | None = None,
) -> tuple[RunResults, WorldReport]:
    """Run the world stage; ``input_path`` (or None) supplies frames and focal metadata,
    ``frames`` (the processed frames in order), when given, the frames instead."""
    options.check()
    needs_frames = options.camera != "static" and input_path is not None and frames is None
    if needs_frames:
        frames = processed_frames(Path(input_path), results)
    points = SkeletonPoints(meshes.body_model)
    return add_world_frame(results, points, options, frames, input_path)


def smooth_in_world(results: RunResults, meshes: MeshMaker, smoothing_strength: float
                    ) -> RunResults:
    """Smooth tracked people in the world frame (or, without one, the camera frame); the
    camera-frame parameters are then derived from the smoothed world ones."""
    detections = {key: value.copy() for key, value in results.detections.items()}
    if results.world is None:
        smooth_tracks(detections, smoothing_strength)
        return replace(results, detections=detections)
    world = results.world
    detections["global_orient"] = world.global_orient.copy()
    detections["transl_m"] = world.transl_m.copy()
    smooth_tracks(detections, smoothing_strength)
    rows = np.searchsorted(results.frame_index_per_frame, detections["frame_index"])
    rest_pelvis = SkeletonPoints(meshes.body_model).rest_pelvis(detections)
    orient_cam, transl_cam = bodies_in_camera(
        detections["global_orient"], detections["transl_m"], rest_pelvis,
        world.camera_to_world_R[rows], world.camera_position_m[rows],
    )
    smoothed_world = replace(world, global_orient=detections["global_orient"],
                             transl_m=detections["transl_m"])
    detections["global_orient"], detections["transl_m"] = orient_cam, transl_cam
    return replace(results, detections=detections, world=smoothed_world)
