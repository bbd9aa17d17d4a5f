"""`aios view`: an interactive 3D viewer of a run's results in the browser (viser)."""

from aios_core.viewer.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    RunningViewer,
    ViewerOptions,
    body_meshes,
    serve_viewer,
)

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "RunningViewer", "ViewerOptions", "body_meshes",
           "serve_viewer"]
