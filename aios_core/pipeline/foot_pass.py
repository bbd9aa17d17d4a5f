"""The foot stage inside `aios run` and `aios ground`, right after the world stage: contact
labels and (unless `--no-foot-lock`) foot-locked motion for every track."""

from __future__ import annotations

from dataclasses import replace

import torch

from aios_core.export.rest_shape import RestShape
from aios_core.feet.stage import FootStageOptions, add_foot_stage
from aios_core.results.results_file import RunResults


def foot_pass(results: RunResults, body_model: torch.nn.Module, lock: bool = True) -> RunResults:
    """``results`` with a fresh foot block; without a world frame (no floor found) none."""
    if results.world is None:
        return replace(results, feet=None)
    return add_foot_stage(results, RestShape(body_model), FootStageOptions(lock=lock))
