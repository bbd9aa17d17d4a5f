"""`aios ground`: the world stage alone on an existing results file."""

from __future__ import annotations

from pathlib import Path

import click

from aios_cli.errors import reported_errors


@click.command()
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path),
              help="Write here (default: update RESULTS in place).")
@click.option("--input", "input_path", type=click.Path(path_type=Path),
              help="The video or image folder RESULTS came from (default: the source named in "
                   "RESULTS, next to it); needed to see the camera move.")
@click.option("--fov", "fov_deg", type=float, help="Horizontal field of view in degrees.")
@click.option("--focal-px", type=float, help="Focal length in pixels (instead of --fov).")
@click.option("--camera", "camera_mode", default="auto", show_default=True,
              help="static | rotating | moving (walks: rotation and translation, focal and "
                   "scale found) | auto (decides, says which).")
@click.option("--smplx-dir", type=click.Path(path_type=Path),
              help="Folder holding SMPLX_NEUTRAL.npz (default: $AIOS_HOME layout).")
@click.option("--no-foot-lock", "no_foot_lock", is_flag=True,
              help="Keep the raw motion: label foot contacts but do not plant the feet.")
def ground(results_path: Path, out_path, input_path, fov_deg, focal_px, camera_mode,
           smplx_dir, no_foot_lock) -> None:
    """Fit the floor and put every person of RESULTS into a gravity-aligned world frame."""
    from aios_core.assets import AssetNotFoundError, resolve_smplx_dir
    from aios_core.io.results_file import ResultsFileError, load_results, save_results
    from aios_core.model.embedded_body_model import EmbeddedSMPLX
    from aios_core.pipeline.foot_pass import foot_pass
    from aios_core.pipeline.meshes import MeshMaker
    from aios_core.pipeline.world_pass import world_pass
    from aios_core.video import VideoInputError
    from aios_core.world.stage import WorldOptions

    options = WorldOptions(fov_deg=fov_deg, focal_px=focal_px, camera=camera_mode)
    with reported_errors("ground", (ResultsFileError, AssetNotFoundError, VideoInputError),
                         "nothing was written"):
        options.check()
        results = load_results(results_path)
        if input_path is None:
            beside = results_path.parent / results.source
            input_path = beside if beside.exists() else None
        elif not input_path.exists():
            raise VideoInputError(f"input not found: {input_path}")
        meshes = MeshMaker(EmbeddedSMPLX.from_model_folder(resolve_smplx_dir(smplx_dir)))
        grounded, report = world_pass(results, meshes, options, input_path)
        grounded = foot_pass(grounded, meshes.body_model, lock=not no_foot_lock)
        written = save_results(grounded, out_path or results_path)
    click.echo(f"camera: {report.camera_note}")
    click.echo(f"focal length: {report.focal.describe()}")
    if report.floor is not None:
        click.echo(f"floor: camera {report.floor.height_m:.2f} m above it, "
                   f"{report.floor.inliers} footprints")
    for warning in report.warnings:
        click.echo(f"aios ground: warning: {warning}", err=True)
    click.echo(str(written))
