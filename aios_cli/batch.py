"""`aios batch`: many clips through the `aios run` pipeline, here or on a Ray cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aios_cli.errors import reported_errors
from aios_cli.shared_options import clip_options, network_options
from aios_core.choices import EXPORT_FORMATS

EXIT_SOME_FAILED = 3


def _export_formats(_context, _parameter, value: str | None) -> tuple[str, ...]:
    formats = tuple(f.strip() for f in (value or "").split(",") if f.strip())
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        raise click.BadParameter(f"unknown format {unknown[0]!r}; choose from "
                                 f"{','.join(EXPORT_FORMATS)}")
    return formats


@click.command()
@click.argument("inputs", metavar="INPUTS...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Output folder; mirrors the input tree and holds batch_manifest.jsonl.")
@click.option("--ray", "ray_address", metavar="ADDRESS|auto",
              help="Run on this Ray cluster (host:port, or auto: RAY_ADDRESS / the local one).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Workers, each holding the model (default: one per GPU, else one).")
@click.option("--gpus-per-worker", default=1.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True), help="Ray: GPUs each worker holds.")
@click.option("--cpus-per-worker", type=click.IntRange(min=1),
              help="CPU threads per worker (default: the cores shared out; Ray: 1).")
@click.option("--render", is_flag=True, help="Also write each clip's overlay video.")
@click.option("--export", "exports", callback=_export_formats, metavar="FORMATS",
              help="Also export each clip, e.g. glb,bvh (needs --smplx-dir for most formats).")
@network_options("Frames inferred together.", 8)
@clip_options
@click.option("--quiet", is_flag=True, help="No live display or table (for logs).")
def batch(inputs, out_dir, ray_address, workers, gpus_per_worker, cpus_per_worker, render,
          exports, checkpoint, smplx_dir, device, precision, threshold, batch_size, num_people,
          start, end, max_frames, smooth, smooth_strength, side_view, fov_deg, focal_px,
          camera_mode, render_floor, no_foot_lock, quiet) -> None:
    """Process every clip in INPUTS (videos, folders, .txt/.jsonl manifests) into --out DIR.

    Rerunning the same command skips finished clips and resumes unfinished ones. Exit status:
    0 all done, 3 some clips failed (listed), 2 bad usage, 130 interrupted."""
    from rich.console import Console

    from aios_core.assets import AssetNotFoundError, resolve_checkpoint, resolve_smplx_dir
    from aios_core.batch.inputs import plan_clips
    from aios_core.batch.jobs import BatchSettings
    from aios_core.batch.runner import Batch, EngineOptions
    from aios_core.io.output_paths import check_writable_folder

    console = Console(stderr=True, quiet=quiet)
    settings = BatchSettings(
        checkpoint=None if checkpoint is None else str(checkpoint),
        smplx_dir=None if smplx_dir is None else str(smplx_dir), device=device,
        precision=precision, threshold=threshold, batch_size=batch_size, num_people=num_people,
        start_frame=start, end_frame=end, max_frames=max_frames,
        smooth_strength=smooth_strength if smooth else 0.0, render=render,
        side_view=side_view, exports=exports, fov_deg=fov_deg, focal_px=focal_px,
        camera=camera_mode, render_floor=render_floor, foot_lock=not no_foot_lock,
    )
    engine = EngineOptions(ray_address, workers, gpus_per_worker, cpus_per_worker)
    from aios_core.rendering.gl_backend import RendererUnavailableError

    with reported_errors("batch", (AssetNotFoundError, RendererUnavailableError),
                         "finished clips are recorded; rerun the same command to resume"):
        settings.world_options().check()
        check_writable_folder(out_dir, "--out")
        jobs = plan_clips(inputs, out_dir)
        if "fbx" in exports:
            from aios_core.export.fbx import blender_command

            blender_command()  # no Blender: say so now, not after every clip is inferred
        if ray_address is not None:
            from aios_core.batch.ray_engine import check_reachable

            check_reachable(ray_address)
        # Fail before any worker starts: missing files, no working GL for --render.
        settings = _with_resolved_assets(settings, resolve_checkpoint, resolve_smplx_dir)
        if render:
            from aios_core.rendering.gl_context import import_pyrender

            import_pyrender()
        run = Batch(jobs, out_dir, settings)
        if quiet:
            progress = run.run(engine)
        else:
            from aios_cli.batch_display import live_display

            with live_display(console, run.progress):
                progress = run.run(engine)
    if not quiet:
        from aios_cli.batch_display import print_summary

        print_summary(console, progress, out_dir)
    for record in progress.failures if quiet else ():  # else the table lists them
        click.echo(f"aios batch: failed: {record.input}: {record.error}", err=True)
    if progress.failures:
        sys.exit(EXIT_SOME_FAILED)


def _with_resolved_assets(settings, resolve_checkpoint, resolve_smplx_dir):
    """Absolute asset paths, so every worker (any folder, any node) finds the same files."""
    from dataclasses import replace

    smplx = settings.smplx_dir
    if smplx is not None or settings.exports:
        smplx = str(resolve_smplx_dir(smplx).resolve())
    return replace(settings, checkpoint=str(resolve_checkpoint(settings.checkpoint).resolve()),
                   smplx_dir=smplx)
