"""`aios ground`: the world stage alone on an existing results file."""

from __future__ import annotations

from pathlib import Path

import click

from aios_cli.errors import reported_errors
from aios_cli.shared_options import world_options


@click.command()
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path),
              help="Write here (default: update RESULTS in place; the network's own output in "
                   "it is kept, so grounding again starts from it).")
@click.option("--input", "input_path", type=click.Path(path_type=Path),
              help="The video or image folder RESULTS came from (default: the source named in "
                   "RESULTS, next to it); needed to see the camera move.")
@click.option("--smplx-dir", type=click.Path(path_type=Path),
              help="Folder holding SMPLX_NEUTRAL.npz (default: $AIOS_HOME layout).")
@world_options
def ground(results_path: Path, out_path, input_path, smplx_dir, fov_deg, focal_px, camera_mode,
           no_foot_lock) -> None:
    """Fit the floor and put every person of RESULTS into a gravity-aligned world frame."""
    from aios_core.assets import AssetNotFoundError, resolve_smplx_dir
    from aios_core.body.embedded_smplx import EmbeddedSMPLX
    from aios_core.body.meshes import MeshMaker
    from aios_core.io.output_paths import OutputPathError, check_writable_file
    from aios_core.pipeline.grounding import GroundingOptions, ground_people
    from aios_core.results.results_file import ResultsFileError, load_results, save_results
    from aios_core.video import VideoInputError
    from aios_core.world.stage import WorldOptions

    options = WorldOptions(fov_deg=fov_deg, focal_px=focal_px, camera=camera_mode)
    with reported_errors("ground", (ResultsFileError, AssetNotFoundError, VideoInputError,
                                    OutputPathError), "nothing was written"):
        options.check()
        check_writable_file(out_path or results_path, "--out" if out_path else "RESULTS",
                            create_folders=out_path is not None)
        stored = load_results(results_path)
        # Grounding is a function of the network's output and the options, never of an earlier
        # grounding: start from the network block when the file has one.
        results = stored.network_output()
        if stored.world is not None and stored.network is None:
            click.echo("aios ground: warning: RESULTS was grounded by an older aios that did not "
                       "keep the network's output; grounding again starts from its grounded "
                       "values", err=True)
        if input_path is None:
            beside = results_path.parent / results.source
            input_path = beside if beside.exists() else None
        elif not input_path.exists():
            raise VideoInputError(f"input not found: {input_path}")
        meshes = MeshMaker(EmbeddedSMPLX.from_model_folder(resolve_smplx_dir(smplx_dir)))
        grounding = GroundingOptions(options, foot_lock=not no_foot_lock)
        grounded, report = ground_people(results, meshes, grounding, input_path)
        written = save_results(grounded.with_network_block(results), out_path or results_path)
    click.echo(f"camera: {report.camera_note}")
    click.echo(f"focal length: {report.focal.describe()}")
    if report.floor is not None:
        click.echo(f"floor: camera {report.floor.height_m:.2f} m above it, "
                   f"{report.floor.inliers} footprints")
    for warning in report.warnings:
        click.echo(f"aios ground: warning: {warning}", err=True)
    click.echo(str(written))
