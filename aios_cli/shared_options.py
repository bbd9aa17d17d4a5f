"""The options `aios run` and `aios batch` share, declared once so that the two stay in step:
what runs the network (checkpoint, SMPL-X, device, precision, batch size, threshold) and what
each clip gets (frame range, people, smoothing, overlay extras, and the world options: camera and
feet, which `aios ground` shares too)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from aios_core.choices import CAMERA_CHOICES, DEFAULT_SMOOTH_STRENGTH, DEVICE_CHOICES
from aios_core.precision import PRECISIONS

_NETWORK_OPTIONS = (
    click.option("--checkpoint", type=click.Path(path_type=Path), help="AiOS checkpoint file."),
    click.option("--smplx-dir", type=click.Path(path_type=Path),
                 help="SMPL-X folder for drawing meshes and exports (default: the model in the "
                      "checkpoint; exports need the folder)."),
    click.option("--device", default="auto", type=click.Choice(DEVICE_CHOICES),
                 show_default=True),
    click.option("--precision", default="fp32", type=click.Choice(PRECISIONS),
                 show_default=True),
    click.option("--threshold", type=click.FloatRange(0.0, 1.0),
                 help="Minimum detection score (default 0.3, as the official demo)."),
)

# The world stage's camera and the feet: `aios run`, `aios batch` and `aios ground` alike.
_WORLD_OPTIONS = (
    click.option("--fov", "fov_deg", type=float,
                 help="The camera's horizontal field of view in degrees (default: from the "
                      "file's metadata, else the network's assumption)."),
    click.option("--focal-px", type=float,
                 help="The camera's focal length in pixels (instead of --fov)."),
    # Checked by the world stage (one line, as every usage error), not by click.
    click.option("--camera", "camera_mode", default="auto", show_default=True,
                 help=f"{' | '.join(CAMERA_CHOICES)}: rotating turns on the spot, moving walks "
                      "(rotation and translation from the background, focal and metric scale "
                      "found); auto decides and says which."),
    click.option("--no-foot-lock", "no_foot_lock", is_flag=True,
                 help="Keep the raw motion: label foot contacts but do not plant the feet."),
)

_CLIP_OPTIONS = (
    click.option("--num-people", type=click.IntRange(min=1), help="Keep at most N people a frame."),
    click.option("--start", default=0, type=click.IntRange(min=0), help="First frame index."),
    click.option("--end", type=click.IntRange(min=1), help="Stop before this frame index."),
    click.option("--max-frames", type=click.IntRange(min=1),
                 help="Process at most N frames (of each clip)."),
    click.option("--smooth/--no-smooth", default=True, show_default=True,
                 help="Temporal smoothing per tracked person."),
    click.option("--smooth-strength", default=DEFAULT_SMOOTH_STRENGTH, show_default=True,
                 type=click.FloatRange(0.0, 1.0)),
    click.option("--side-view", is_flag=True, help="Add a side view next to the overlay."),
    click.option("--floor", "render_floor", is_flag=True,
                 help="Draw the fitted floor grid in the overlay."),
    *_WORLD_OPTIONS,
)


def _apply(options: tuple) -> Callable:
    def decorate(command: Callable) -> Callable:
        for option in reversed(options):  # click lists options in decoration order, reversed
            command = option(command)
        return command
    return decorate


def network_options(batch_size_help: str, batch_size_default: int | None) -> Callable:
    """The options that build the network; the batch size's default is the command's own."""
    batch_size = click.option("--batch-size", default=batch_size_default,
                              show_default=batch_size_default is not None,
                              type=click.IntRange(min=1), help=batch_size_help)
    return _apply((*_NETWORK_OPTIONS, batch_size))


world_options = _apply(_WORLD_OPTIONS)
clip_options = _apply(_CLIP_OPTIONS)
