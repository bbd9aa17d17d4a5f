"""`aios run`: video, image or image folder in; results file (and overlay video) out."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from aios_cli.errors import reported_errors


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "results_path", type=click.Path(path_type=Path),
              help="Results file (default: <input>.aios.npz next to the input).")
@click.option("--render", "render_path", type=click.Path(path_type=Path),
              help="Write an overlay video (.mp4/.mkv/.mov) of the meshes.")
@click.option("--side-view", is_flag=True, help="Add a side view next to the overlay.")
@click.option("--checkpoint", type=click.Path(path_type=Path), help="AiOS checkpoint file.")
@click.option("--smplx-dir", type=click.Path(path_type=Path),
              help="SMPL-X folder for drawing meshes (default: the model in the checkpoint).")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]),
              show_default=True)
@click.option("--precision", default="fp32", type=click.Choice(["fp32", "bf16", "fp16"]),
              show_default=True)
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--threshold", type=click.FloatRange(0.0, 1.0),
              help="Minimum detection score (default 0.3, as the official demo).")
@click.option("--num-people", type=click.IntRange(min=1), help="Keep at most N people a frame.")
@click.option("--start", default=0, type=click.IntRange(min=0), help="First frame index.")
@click.option("--end", type=click.IntRange(min=1), help="Stop before this frame index.")
@click.option("--max-frames", type=click.IntRange(min=1), help="Process at most N frames.")
@click.option("--smooth/--no-smooth", default=True, show_default=True,
              help="Temporal smoothing per tracked person.")
@click.option("--smooth-strength", default=0.5, show_default=True,
              type=click.FloatRange(0.0, 1.0))
@click.option("--resume", is_flag=True, help="Continue an interrupted run of the same input.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("--fov", "fov_deg", type=float,
              help="The camera's horizontal field of view in degrees (default: from the file's "
                   "metadata, else the network's assumption).")
@click.option("--focal-px", type=float, help="The camera's focal length in pixels (instead of "
                                               "--fov).")
@click.option("--camera", "camera_mode", default="auto", show_default=True,
              help="static | rotating (estimated from the background) | auto (decides, says "
                   "which).")
@click.option("--floor", "render_floor", is_flag=True,
              help="Draw the fitted floor grid in the --render overlay.")
@click.option("--no-foot-lock", "no_foot_lock", is_flag=True,
              help="Keep the raw motion: label foot contacts but do not plant the feet.")
def run(input_path: Path, results_path, render_path, side_view, checkpoint, smplx_dir, device,
        precision, batch_size, threshold, num_people, start, end, max_frames, smooth,
        smooth_strength, resume, quiet, fov_deg, focal_px, camera_mode, render_floor,
        no_foot_lock) -> None:
    """Estimate SMPL-X meshes for every person in INPUT (video, image or image folder)."""
    from aios_core.assets import AssetNotFoundError
    from aios_core.io.results_file import ResultsFileError
    from aios_core.model.checkpoint import CheckpointFormatError, CheckpointMismatchError
    from aios_core.pipeline.model_predictor import NetworkPredictor, choose_device, load_network
    from aios_core.pipeline.run import (
        RunOptions,
        RunOutputError,
        check_run_inputs,
        run_pipeline,
    )
    from aios_core.rendering.gl_backend import RendererUnavailableError
    from aios_core.rendering.gl_context import import_pyrender
    from aios_core.video import VideoInputError, VideoOutputError
    from aios_core.world.stage import WorldOptions

    console = Console(stderr=True, quiet=quiet)
    options = RunOptions(
        input_path=input_path, results_path=results_path, render_path=render_path,
        batch_size=batch_size, num_people=num_people, start_frame=start, end_frame=end,
        max_frames=max_frames, smooth_strength=smooth_strength if smooth else 0.0,
        side_view=side_view, resume=resume,
        world=WorldOptions(fov_deg=fov_deg, focal_px=focal_px, camera=camera_mode),
        render_floor=render_floor, foot_lock=not no_foot_lock,
    )
    usage_errors = (AssetNotFoundError, CheckpointFormatError, CheckpointMismatchError,
                    VideoInputError, VideoOutputError, RunOutputError, ResultsFileError,
                    RendererUnavailableError, ValueError)
    with reported_errors("run", usage_errors,
                         "finished frames are saved, rerun with --resume"):
        check_run_inputs(options)
        if render_path is not None:
            import_pyrender()  # no working GL: say so now, not after a long inference
        torch_device = choose_device(device)
        model, meshes = load_network(checkpoint, torch_device, smplx_dir)
        predictor = NetworkPredictor(model, threshold, precision)
        with _progress(console) as progress:
            infer = progress.add_task("inference", total=max_frames)
            draw = progress.add_task("render", total=None, visible=render_path is not None)
            summary = run_pipeline(
                options, predictor, meshes,
                on_frames=lambda n: progress.advance(infer, n),
                on_render_frame=lambda: progress.advance(draw, 1),
            )
    _print_summary(console, summary)
    for warning in summary.warnings:
        click.echo(f"aios run: warning: {warning}", err=True)
    if summary.decode_error:
        click.echo(f"aios run: warning: the input stopped decoding early ({summary.decode_error}); "
                   f"results cover the {summary.frames} frames that decoded", err=True)


class FramesPerSecondColumn(ProgressColumn):
    def render(self, task) -> Text:
        return Text(f"{task.speed:.2f} fps" if task.speed else "-- fps")


def _progress(console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} frames"),
        FramesPerSecondColumn(), TimeRemainingColumn(), console=console,
    )


def _print_summary(console, summary) -> None:
    table = Table(title="aios run")
    table.add_column("item")
    table.add_column("value")
    table.add_row("frames", str(summary.frames))
    table.add_row("people detected", str(summary.detections))
    table.add_row("tracks", str(summary.tracks))
    for stage, seconds in summary.seconds.items():
        rate = f" ({summary.frames / seconds:.2f} fps)" if seconds > 0 else ""
        table.add_row(f"{stage} time", f"{seconds:.1f} s{rate}")
    if summary.world_note:
        table.add_row("world", summary.world_note)
    table.add_row("results", str(summary.results_path))
    if summary.render_path:
        table.add_row("overlay video", str(summary.render_path))
    console.print(table)
