"""`aios view`: serve an interactive 3D viewer of a results file in the browser."""

from __future__ import annotations

from pathlib import Path

import click

from aios_cli.errors import reported_errors
from aios_core.viewer.defaults import DEFAULT_HOST, DEFAULT_PORT


@click.command()
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
@click.option("--video", "video_path", type=click.Path(path_type=Path),
              help="The run's input (video, image or image folder), shown on the camera.")
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Address to serve on (0.0.0.0: every network interface).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535),
              help="Port to serve on; the next free one when it is taken.")
@click.option("--smplx-dir", type=click.Path(path_type=Path),
              help="Folder holding SMPLX_NEUTRAL.npz (default: $AIOS_HOME layout).")
def view(results_path: Path, video_path, host, port, smplx_dir) -> None:
    """Look at RESULTS (the .npz written by `aios run`) in 3D, in the browser."""
    view_results(results_path, video_path, smplx_dir, host, port)


def view_results(results_path: Path, video_path: Path | None, smplx_dir: Path | None,
                 host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the viewer on a results file with the user's SMPL-X model until Ctrl-C."""
    from aios_core.results.results_file import load_results
    from aios_core.viewer.server import ViewerOptions, body_meshes, check_host, serve_viewer

    with reported_errors("view", _usage_errors(), "the viewer stopped"):
        results = load_results(results_path)  # a bad file fails before the model loads
        check_host(host)
        serve_viewer(ViewerOptions(results_path, video_path, host, port), body_meshes(smplx_dir),
                     _say, results)


def _usage_errors() -> tuple[type[Exception], ...]:
    from aios_core.assets import AssetNotFoundError
    from aios_core.results.results_file import ResultsFileError
    from aios_core.video import VideoInputError

    return (ResultsFileError, AssetNotFoundError, VideoInputError)


def _say(line: str) -> None:
    click.echo(f"aios view: {line}", err=True)


def view_after_run(results_path: Path, input_path: Path, meshes) -> None:
    """`aios run --view`: serve the viewer on the run's results with the body model the run
    used (``meshes``, a MeshMaker) until Ctrl-C."""
    from aios_core.viewer.server import ViewerOptions, serve_viewer

    with reported_errors("view", _usage_errors(), "the viewer stopped"):
        options = ViewerOptions(results_path, input_path, DEFAULT_HOST, DEFAULT_PORT)
        serve_viewer(options, meshes, _say)
