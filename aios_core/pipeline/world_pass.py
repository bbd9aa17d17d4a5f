"""The world stage inside `aios run` and `aios ground`: frames for the camera's rotation are
decoded again only when the camera mode needs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from aios_core.io.results_file import RunResults
from aios_core.pipeline.foot_pass import foot_pass
from aios_core.pipeline.meshes import MeshMaker
from aios_core.video import MediaReader
from aios_core.world.body_points import SkeletonPoints
from aios_core.world.stage import WorldOptions, WorldReport, add_world_frame


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
    foot_lock: bool = True,
) -> tuple[RunResults, WorldReport]:
    """Run the world stage, then the foot stage (contact labels; foot-locked motion unless
    ``foot_lock`` is False); ``input_path`` (or None) supplies frames and focal metadata."""
    options.check()
    needs_frames = options.camera != "static" and input_path is not None
    frames = processed_frames(Path(input_path), results) if needs_frames else None
    points = SkeletonPoints(meshes.body_model)
    grounded, report = add_world_frame(results, points, options, frames, input_path)
    return foot_pass(grounded, meshes.body_model, foot_lock), report
