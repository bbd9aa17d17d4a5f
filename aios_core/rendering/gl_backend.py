"""Pick an OpenGL platform that can render offscreen on this machine (EGL first, then OSMesa)."""

from __future__ import annotations

import os
import subprocess
import sys

from aios_core.errors import AiosError

PLATFORMS = ("egl", "osmesa")

# Rendering a 1-triangle scene is the only reliable test: a platform can import fine and still
# fail when the context is created, and a broken GL driver may abort the whole process, so the
# probe runs in a child interpreter.
_PROBE = """
import numpy as np, pyrender, trimesh
scene = pyrender.Scene()
tri = trimesh.Trimesh(vertices=[[0, 0, -2], [1, 0, -2], [0, 1, -2]], faces=[[0, 1, 2]])
scene.add(pyrender.Mesh.from_trimesh(tri))
scene.add(pyrender.PerspectiveCamera(yfov=1.0))
renderer = pyrender.OffscreenRenderer(16, 16)
_, depth = renderer.render(scene)
renderer.delete()
assert depth.max() > 0, "empty depth buffer"
"""

GL_HELP = (
    "No offscreen OpenGL back-end works. On Debian/Ubuntu install Mesa's EGL "
    "(apt-get install libegl1 libegl-mesa0 libgl1), or re-run ./install.sh; on a GPU machine "
    "make sure the NVIDIA driver's EGL library is installed. You can force a platform with "
    "PYOPENGL_PLATFORM=egl|osmesa."
)


class RendererUnavailableError(AiosError, RuntimeError):
    """No OpenGL platform can render offscreen here."""


def probe_platform(platform: str, timeout_s: float = 60.0) -> str | None:
    """Try one platform; returns None if it renders, else a one-line reason."""
    env = dict(os.environ, PYOPENGL_PLATFORM=platform)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:.0f} s"
    if proc.returncode == 0:
        return None
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {proc.returncode}"


def find_working_platform() -> tuple[str | None, dict[str, str | None]]:
    """The first platform that renders (honouring PYOPENGL_PLATFORM if set) and all reasons."""
    preferred = os.environ.get("PYOPENGL_PLATFORM")
    order = (preferred,) if preferred else PLATFORMS
    reasons: dict[str, str | None] = {}
    for platform in order:
        reasons[platform] = probe_platform(platform)
        if reasons[platform] is None:
            return platform, reasons
    return None, reasons
