"""pyrender import with the right GL platform, and one offscreen GL context shared per process.

Why one shared context: pyrender's ``OffscreenRenderer.delete()`` on EGL calls
``eglTerminate`` on the device's display, which every context on that device shares, so closing
one renderer breaks any other still alive. Every :class:`OffscreenContext` therefore borrows the
same ``OffscreenRenderer``; the last one to close deletes it. pyrender resizes its framebuffers
when the viewport size changes, so frames of any size can share it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from types import ModuleType

import numpy as np

from aios_core.rendering.gl_backend import GL_HELP, RendererUnavailableError, find_working_platform

_lock = threading.Lock()
_shared_renderer = None  # pyrender.OffscreenRenderer, created on the first render
_open_handles = 0


def import_pyrender() -> ModuleType:
    """pyrender, imported after choosing a working PYOPENGL_PLATFORM if none is set.

    pyrender (through PyOpenGL) binds its platform when first imported, so the choice has to be
    made before that; every pyrender import in this package goes through here.
    """
    _load_triton_before_gl()
    if "PYOPENGL_PLATFORM" not in os.environ:
        platform, reasons = find_working_platform()
        if platform is None:
            tried = "; ".join(f"{name}: {why}" for name, why in reasons.items())
            raise RendererUnavailableError(f"{GL_HELP} (tried {tried})")
        os.environ["PYOPENGL_PLATFORM"] = platform
    import pyrender

    return pyrender


def _load_triton_before_gl() -> None:
    """Load Triton now if it is installed (CUDA builds of torch bring it).

    Mesa's software GL (llvmpipe) and Triton each carry their own LLVM: importing Triton after a
    Mesa context exists kills the process with a segfault, importing it first is fine. torch
    imports Triton lazily (our GPU kernel, ``torch.compile``, optimiser steps), often after the
    renderer has started, so it is loaded here, before any GL context.
    """
    if importlib.util.find_spec("triton") is None:
        return
    with contextlib.suppress(Exception):  # a broken Triton only loses the GPU kernel
        import triton  # noqa: F401


class OffscreenContext:
    """A handle on the process-wide offscreen renderer; ``close()`` releases it."""

    def __init__(self) -> None:
        global _open_handles
        self._pyrender = import_pyrender()
        with _lock:
            _open_handles += 1
        self._open = True

    def render(self, scene, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Colour (H, W, 3) uint8 and depth (H, W) float32 (0 where empty) of ``scene``."""
        if not self._open:
            raise RuntimeError("the renderer is closed")
        with _lock:
            renderer = _renderer_of_size(self._pyrender, width, height)
            return renderer.render(scene)

    def close(self) -> None:
        global _open_handles, _shared_renderer
        if not self._open:
            return
        self._open = False
        with _lock:
            _open_handles -= 1
            if _open_handles == 0 and _shared_renderer is not None:
                _shared_renderer.delete()
                _shared_renderer = None


def _renderer_of_size(pyrender: ModuleType, width: int, height: int):
    """The shared renderer, created on first use and resized to (width, height); lock held."""
    global _shared_renderer
    if _shared_renderer is None:
        try:
            _shared_renderer = pyrender.OffscreenRenderer(width, height)
        except Exception as error:  # a forced or broken platform fails here, in many ways
            platform = os.environ.get("PYOPENGL_PLATFORM")
            raise RendererUnavailableError(
                f"{GL_HELP} (PYOPENGL_PLATFORM={platform}: {type(error).__name__}: {error})"
            ) from error
    _shared_renderer.viewport_width = width
    _shared_renderer.viewport_height = height
    return _shared_renderer
