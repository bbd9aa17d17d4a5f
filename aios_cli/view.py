"""`aios view`: serve an interactive 3D viewer of a results file in the browser."""

from __future__ import annotations

from pathlib import Path

import click

from aios_cli.errors import reported_errors

VIEW_HOST = "127.0.0.1"
VIEW_PORT = 8080


@click.command()
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
@click.option("--video", "video_path", type=click.Path(path_type=Path),
              help="The run's input (video, image or image folder), shown on the camera.")
@click.option("--host", default=VIEW_HOST, show_default=True,
              help="Address to serve on (0.0.0.0: every network interface).")
@click.option("--port", default=VIEW_PORT, show_default=True, type=click.IntRange(1, 65535),
              help="Port to serve on; the next free one when it is taken.")
@click.option("--smplx-dir", type=click.Path(path_type=Path),
              help="Folder holding SMPLX_NEUTRAL.npz (default: $AIOS_HOME layout).")
def view(results_path: Path, video_path, host, port, smplx_dir) -> None:
    """Look at RESULTS (the .npz written by `aios run`) in 3D, in the browser."""
    from aios_core.assets import AssetNotFoundError
    from aios_core.io.results_file import ResultsFileError, load_results
    from aios_core.video import VideoInputError
    from aios_core.viewer import ViewerOptions, body_meshes, serve_viewer

    usage_errors = (ResultsFileError, AssetNotFoundError, VideoInputError)
    with reported_errors("view", usage_errors, "the viewer stopped"):
        results = load_results(results_path)  # a bad file fails before the model loads
        meshes = body_meshes(smplx_dir)
        options = ViewerOptions(results_path, video_path, host, port)
        serve_viewer(options, meshes, lambda line: click.echo(f"aios view: {line}", err=True),
                     results)
