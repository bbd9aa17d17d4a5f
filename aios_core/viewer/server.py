"""Serve the viewer: load the results, start viser on the first free port, wait for Ctrl-C."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aios_core.errors import AiosError
from aios_core.io.results_file import RunResults, load_results
from aios_core.pipeline.meshes import MeshMaker
from aios_core.viewer.mesh_cache import ChunkedMeshes
from aios_core.viewer.timeline import Timeline
from aios_core.viewer.video_frames import VideoFrames

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


class ViewerUnavailableError(AiosError):
    """The optional viewer dependency (viser) is not installed."""


@dataclass(frozen=True)
class ViewerOptions:
    results_path: Path
    video_path: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT


def body_meshes(smplx_dir: str | os.PathLike | None) -> MeshMaker:
    """The SMPL-X model from ``smplx_dir`` (or the $AIOS_HOME layout) as a mesh maker; raises
    AssetNotFoundError when the model file is not there."""
    from aios_core.assets import resolve_smplx_dir
    from aios_core.model.embedded_body_model import EmbeddedSMPLX

    return MeshMaker(EmbeddedSMPLX.from_model_folder(resolve_smplx_dir(smplx_dir)))


class RunningViewer:
    """A started viewer; ``url`` is where to open it, ``close()`` stops it."""

    def __init__(self, options: ViewerOptions, meshes: MeshMaker,
                 results: RunResults | None = None):
        try:
            import viser
        except ImportError:
            raise ViewerUnavailableError(
                "the viewer needs viser: pip install 'aios[view]' (or run ./install.sh)"
            ) from None

        from aios_core.viewer.scene import ViewerScene

        results = load_results(options.results_path) if results is None else results
        video = None if options.video_path is None else VideoFrames(options.video_path)
        timeline = Timeline(results)
        self._meshes = ChunkedMeshes(results, timeline, meshes)
        # viser moves on to the next port when one is taken.
        self.server = viser.ViserServer(host=options.host, port=options.port, verbose=False)
        self.server.gui.set_panel_label(f"aios · {results.source}")
        self.port = self.server.get_port()
        self.requested_port = options.port
        self.url = f"http://{options.host}:{self.port}"
        self.scene = ViewerScene(self.server, results, timeline, self._meshes, video)
        self._video = video

    def close(self) -> None:
        self.scene.close()
        self._meshes.close()
        if self._video is not None:
            self._video.close()
        self.server.stop()


def serve_viewer(options: ViewerOptions, meshes: MeshMaker, say: Callable[[str], None],
                 results: RunResults | None = None) -> None:
    """Start the viewer, tell the user where it is with ``say``, serve until interrupted."""
    viewer = RunningViewer(options, meshes, results)
    try:
        if viewer.port != viewer.requested_port:
            say(f"port {viewer.requested_port} is busy; using port {viewer.port}")
        say(f"viewer at {viewer.url} (Ctrl-C to stop)")
        threading.Event().wait()  # until KeyboardInterrupt / termination signal
    finally:
        viewer.close()
