"""Serve the viewer: load the results, start viser on the first free port, wait for Ctrl-C."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aios_core.body.meshes import MeshMaker
from aios_core.errors import AiosError
from aios_core.results.results_file import RunResults, load_results
from aios_core.viewer.defaults import DEFAULT_HOST, DEFAULT_PORT
from aios_core.viewer.mesh_cache import ChunkedMeshes
from aios_core.viewer.timeline import Timeline
from aios_core.viewer.video_frames import VideoFrames


class ViewerUnavailableError(AiosError):
    """The optional viewer dependency (viser) is not installed."""


@dataclass(frozen=True)
class ViewerOptions:
    results_path: Path
    video_path: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT


class ViewerHostError(AiosError):
    """--host names an address this machine cannot serve on."""


def check_host(host: str) -> None:
    """Raise ViewerHostError unless ``host`` resolves to an address this machine can bind (any
    port: a taken one is replaced by the next free one). viser would otherwise stop in its own
    thread and leave the command waiting."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise ViewerHostError(f"--host {host}: cannot resolve it ({error.args[-1]})") from None
    family, _, _, _, address = infos[0]
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address[0], 0))
    except OSError as error:
        raise ViewerHostError(f"--host {host}: cannot serve on it "
                              f"({error.strerror or error})") from None


def require_viser() -> None:
    """Raise ViewerUnavailableError (with the install line) when viser is not installed."""
    if importlib.util.find_spec("viser") is None:
        raise ViewerUnavailableError(
            "the viewer needs viser: pip install 'aios[view]' (or run ./install.sh)"
        )


def body_meshes(smplx_dir: str | os.PathLike | None) -> MeshMaker:
    """The SMPL-X model from ``smplx_dir`` (or the $AIOS_HOME layout) as a mesh maker; raises
    AssetNotFoundError when the model file is not there."""
    from aios_core.assets import resolve_smplx_dir
    from aios_core.body.embedded_smplx import EmbeddedSMPLX

    return MeshMaker(EmbeddedSMPLX.from_model_folder(resolve_smplx_dir(smplx_dir)))


class RunningViewer:
    """A started viewer; ``url`` is where to open it, ``close()`` stops it."""

    def __init__(self, options: ViewerOptions, meshes: MeshMaker,
                 results: RunResults | None = None):
        require_viser()
        check_host(options.host)
        import viser

        from aios_core.viewer.scene import ViewerScene

        results = load_results(options.results_path) if results is None else results
        video = None if options.video_path is None else VideoFrames(options.video_path)
        timeline = Timeline(results)
        self._meshes = ChunkedMeshes(results, timeline, meshes)
        # viser moves on to the next port when one is taken.
        # viser prints its own address banner to stdout; aios says the URL once (announce).
        with contextlib.redirect_stdout(io.StringIO()):
            self.server = viser.ViserServer(host=options.host, port=options.port,
                                            verbose=False)
        self.server.gui.set_panel_label(f"aios · {results.source}")
        self.port = self.server.get_port()
        self.requested_port = options.port
        self.url = f"http://{options.host}:{self.port}"
        self.scene = ViewerScene(self.server, results, timeline, self._meshes, video)
        self._video = video

    def announce(self, say: Callable[[str], None]) -> None:
        """Tell the user the URL, and that the port moved if the asked one was taken."""
        if self.port != self.requested_port:
            say(f"port {self.requested_port} is busy; using port {self.port}")
        say(f"viewer at {self.url} (Ctrl-C to stop)")

    def close(self) -> None:
        self.scene.close()
        self._meshes.close()
        if self._video is not None:
            self._video.close()
        with contextlib.redirect_stdout(io.StringIO()):  # viser's "Server stopped"
            self.server.stop()


def serve_viewer(options: ViewerOptions, meshes: MeshMaker, say: Callable[[str], None],
                 results: RunResults | None = None) -> None:
    """Start the viewer, tell the user where it is with ``say``, serve until interrupted."""
    viewer = RunningViewer(options, meshes, results)
    try:
        viewer.announce(say)
        threading.Event().wait()  # until KeyboardInterrupt / termination signal
    finally:
        viewer.close()
