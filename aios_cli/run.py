"""`aios run`: video, image or image folder in; results file (and overlay video) out."""

from __future__ import annotations

from pathlib import Path

import click

from aios_cli.errors import reported_errors
from aios_cli.shared_options import clip_options, network_options

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
@network_options("Frames inferred together (default: as many as the free memory holds, about "
                 "1 GB each, at most 8).", None)
@clip_options
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run with the same settings (refused with other "
                   "ones); a run finished with the same settings is left as it is.")
@click.option("--overwrite", is_flag=True,
              help="Replace a summary or progress file beside --out that `aios run` did not "
                   "write.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("--view", is_flag=True,
              help="Then open the results in the 3D viewer (`aios view`) until Ctrl-C.")
def run(input_path: Path, results_path, render_path, checkpoint, smplx_dir, device, precision,
        threshold, batch_size, num_people, start, end, max_frames, smooth, smooth_strength,
        side_view, fov_deg, focal_px, camera_mode, render_floor, no_foot_lock, resume, overwrite,
        quiet, view) -> None:
    """Estimate SMPL-X meshes for every person in INPUT (video, image or image folder)."""
    from rich.console import Console

    from aios_cli.progress import progress_bar
    from aios_core.assets import AssetNotFoundError, resolve_checkpoint
    from aios_core.device import choose_device
    from aios_core.inference.predictor import NetworkPredictor, load_network
    from aios_core.model.checkpoint import CheckpointFormatError, CheckpointMismatchError
    from aios_core.pipeline.batch_size import default_batch_size
    from aios_core.pipeline.run import (
        RunOptions,
        RunOutputError,
        check_resume,
        check_run_inputs,
        expected_frame_count,
        finished_run,
        interrupted_run_advice,
        partial_path,
        run_pipeline,
    )
    from aios_core.rendering.gl_backend import RendererUnavailableError
    from aios_core.rendering.gl_context import import_pyrender
    from aios_core.results.results_file import ResultsFileError
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
        threshold=threshold, precision=precision, overwrite=overwrite,
    )
    usage_errors = (AssetNotFoundError, CheckpointFormatError, CheckpointMismatchError,
                    VideoInputError, VideoOutputError, RunOutputError, ResultsFileError,
                    RendererUnavailableError)
    with reported_errors("run", usage_errors, lambda: interrupted_run_advice(options)):
        check_run_inputs(options)
        try:  # recorded for --resume
            options.checkpoint = resolve_checkpoint(checkpoint)
        except AssetNotFoundError:
            options.checkpoint = None  # said when the network loads, after the other checks
        check_resume(options)
        finished = finished_run(options)
        if finished is not None:
            click.echo(f"aios run: nothing to do: {finished.results_path} already holds this run "
                       "with these settings (drop --resume to redo it)", err=True)
            if view:
                from aios_cli.view import view_results

                view_results(finished.results_path, input_path, smplx_dir)
            return
        if resume and not partial_path(options.resolved_results_path()).is_file():
            click.echo("aios run: --resume: no interrupted run to continue; starting from the "
                       "first frame", err=True)
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
        predictor = NetworkPredictor(model, options.threshold, options.precision)
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
