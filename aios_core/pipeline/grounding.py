"""The one chain after tracking that `aios run`, `aios ground` and `aios batch` share:
world stage -> smoothing in the world frame -> foot contacts -> foot locking.

Defined once so that one results file gives one motion whatever the command that grounds it.
Smoothing happens in the world frame, after the world stage (``world_pass.smooth_in_world``
says why), and the feet come last: contacts found on the smoothed motion, locking on top of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aios_core.body.meshes import MeshMaker
from aios_core.choices import DEFAULT_SMOOTH_STRENGTH
from aios_core.pipeline.foot_pass import foot_pass
from aios_core.pipeline.world_pass import smooth_in_world, world_pass
from aios_core.results.results_file import RunResults
from aios_core.world.stage import WorldOptions, WorldReport


@dataclass
class GroundingOptions:
    world: WorldOptions
    smooth_strength: float = DEFAULT_SMOOTH_STRENGTH  # 0: no smoothing
    foot_lock: bool = True  # False: contact labels only (`--no-foot-lock`)


def ground_people(
    results: RunResults, meshes: MeshMaker, options: GroundingOptions,
    input_path: Path | None, frames: Iterable[np.ndarray] | None = None,
) -> tuple[RunResults, WorldReport]:
    """Tracked, unsmoothed ``results`` -> the world frame, smoothed, with feet planted.

    ``input_path`` (or None) supplies frames for the camera's rotation and focal metadata;
    ``frames`` (the processed frames in order) replaces decoding it again when given."""
    results, report = world_pass(results, meshes, options.world, input_path, frames)
    results = smooth_in_world(results, meshes, options.smooth_strength)
    results = foot_pass(results, meshes.body_model, options.foot_lock)
    return results, report
