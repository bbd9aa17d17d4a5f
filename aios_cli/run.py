"""`aios run`: video, image or image folder in; results file (and overlay video) out."""

from __future__ import annotations

from pathlib import Path

import click

from aios_cli.errors import reported_errors
from aios_core.precision import PRECISIONS

# The containers aios_core.video.writer.CONTAINER_BY_SUFFIX writes (a test keeps them equal);
# spelled out here so that `aios --help` need not import PyAV.
RENDER_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi")


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "results_path", type=click.Path(path_type=Path),
              help="Results file (default: <input>.aios.npz next to the input).")
@click.option("--render", "render_path", type=click.Path(path_type=Path),
              help="Write an overlay video of the meshes: "
                   f"{', '.join(RENDER_SUFFIXES)}.")
@click.option("--side-view", is_flag=True, help="Add a side view next to the overlay.")
@click.option("--checkpoint", type=click.Path(path_type=Path), help="AiOS checkpoint file.")
@click.option("--smplx-dir", type=click.Path(path_type=Path),
              help="SMPL-X folder for drawing meshes (default: the model in the checkpoint).")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]),
              show_default=True)
@click.option("--precision", default="fp32", type=click.Choice(PRECISIONS),
              show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Frames inferred together (default: as many as the free memory holds, "
                   "about 1 GB each, at most 8).")
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
              help="static | rotating | moving (rotation and translation from the "
                   "background; focal and metric scale found) | auto (decides, says which).")
@click.option("--floor", "render_floor", is_flag=True,
              help="Draw the fitted floor grid in the --render overlay.")
@click.option("--no-foot-lock", "no_foot_lock", is_flag=True,
              help="Keep the raw motion: label foot contacts but do not plant the feet.")
@click.option("--view", is_flag=True,
              help="Then open the results in the 3D viewer (`aios view`) until Ctrl-C.")
def run(input_path: Path, results_path, render_path, side_view, checkpoint, smplx_dir, device,
        precision, batch_size, threshold, num_people, start, end, max_frames, smooth,
        smooth_strength, resume, quiet, fov_deg, focal_px, camera_mode, render_floor,
        no_foot_lock, view) -> None:
    """Estimate SMPL-X meshes for every person in INPUT (video, image or image folder)."""
    from rich.console import Console

    from aios_cli.progress import progress_bar
    from aios_core.assets import AssetNotFoundError
    from aios_core.device import choose_device
    from aios_core.io.results_file import ResultsFileError
    from aios_core.model.checkpoint import CheckpointFormatError, CheckpointMismatchError
    from aios_core.pipeline.batch_size import default_batch_size
    from aios_core.pipeline.model_predictor import NetworkPredictor, load_network
    from aios_core.pipeline.run import (
        RunOptions,
        RunOutputError,
        check_run_inputs,
        expected_frame_count,
        interrupted_run_advice,
        run_pipeline,
    )
    from aios_core.rendering.gl_backend import RendererUnavailableError
    from aios_core.rendering.gl_context import import_pyrender
    from aios_core.video import VideoInputError, VideoOutputError
    from aios_core.world.stage import WorldOptions

    console = Console(stderr=True, quiet=quiet)
    options = RunOptions(
        input_path=input_path, results_path=results_path, render_path=render_path,
        # Without --batch-size the batch is chosen below, once the device is known.
        batch_size=batch_size or 1, num_people=num_people, start_frame=start, end_frame=end,
        max_frames=max_frames, smooth_strength=smooth_strength if smooth else 0.0,
        side_view=side_view, resume=resume,
        world=WorldOptions(fov_deg=fov_deg, focal_px=focal_px, camera=camera_mode),
        render_floor=render_floor, foot_lock=not no_foot_lock,
    )
    usage_errors = (AssetNotFoundError, CheckpointFormatError, CheckpointMismatchError,
                    VideoInputError, VideoOutputError, RunOutputError, ResultsFileError,
                    RendererUnavailableError)
    with reported_errors("run", usage_errors, lambda: interrupted_run_advice(options)):
        check_run_inputs(options)
        if view:
            from aios_core.viewer.server import require_viser

            require_viser()  # before the inference, not after it
        if render_path is not None:
            import_pyrender()  # no working GL: say so now, not after a long inference
        torch_device = choose_device(device)
        batch_note = "--batch-size"
        if batch_size is None:
            options.batch_size, free_bytes = default_batch_size(torch_device)
            batch_note = ("default" if free_bytes is None else
                          f"for {free_bytes / 2**30:.1f} GiB free {torch_device.type} memory")
        model, meshes = load_network(checkpoint, torch_device, smplx_dir)
        predictor = NetworkPredictor(model, threshold, precision)
        frames = expected_frame_count(options)
        with progress_bar(console, "frames") as progress:
            infer = progress.add_task(f"inference (batch {options.batch_size})", total=frames)
            draw = progress.add_task("render", total=frames, visible=render_path is not None,
                                     start=False)
            summary = run_pipeline(
                options, predictor, meshes,
                on_frames=lambda n: progress.advance(infer, n),
                on_render_frame=lambda: _advance_started(progress, draw),
            )
    _print_summary(console, summary, f"{options.batch_size} ({batch_note})")
    for warning in summary.warnings:
        click.echo(f"aios run: warning: {warning}", err=True)
    if summary.decode_error:
        click.echo(f"aios run: warning: the input stopped decoding early ({summary.decode_error}); "
                   f"results cover the {summary.frames} frames that decoded", err=True)
    if view:
        from aios_cli.view import view_after_run

        view_after_run(summary.results_path, input_path, meshes)


def _advance_started(progress, task) -> None:
    """Advance ``task`` by one, starting its clock at its first frame (rendering waits for
    inference and tracking)."""
    if not any(t.id == task and t.started for t in progress.tasks):
        progress.start_task(task)
        progress.advance(task, 0)  # the first sample: the rate counts from here
    progress.advance(task, 1)


def _print_summary(console, summary, batch: str) -> None:
    from rich.table import Table

    table = Table(title="aios run")
    table.add_column("item")
    table.add_column("value")
    table.add_row("frames", str(summary.frames))
    table.add_row("batch size", batch)
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
