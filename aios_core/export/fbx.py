"""``--format fbx`` (optional): the glb export converted by Blender's FBX exporter.

No maintained pure-Python FBX writer exists; Blender's is the well-kept route. aios writes the
glb (``aios_core.export.gltf``) and runs ``fbx_blender_script.py`` in, first found:

1. ``$AIOS_BLENDER``: a Blender executable, or a Python interpreter (file name starting with
   ``python``) that has the ``bpy`` module;
2. this interpreter, if it has ``bpy`` (``pip install "aios[fbx]"``; bpy wheels exist for one
   Python version per Blender release and pin their own numpy, so a separate virtual
   environment named by ``$AIOS_BLENDER`` is usually the easier way);
3. ``blender`` on ``PATH``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from aios_core.export.gltf import glb_bytes
from aios_core.export.motion import ExportError, Motion
from aios_core.export.paths import atomic_output, files_for_tracks
from aios_core.export.rest_shape import RestShape

BLENDER_ENV = "AIOS_BLENDER"
SCRIPT = Path(__file__).with_name("fbx_blender_script.py")
NO_BLENDER_MESSAGE = (
    "FBX export needs Blender: set AIOS_BLENDER to a Blender executable (or to a Python that "
    "has the `bpy` module), install bpy into this Python (pip install 'aios[fbx]'), or put "
    "`blender` on PATH. Without Blender: export --format glb and convert it in Blender "
    "(File > Import > glTF 2.0, then File > Export > FBX)."
)
_ERROR_TAIL_CHARS = 2000


def blender_command() -> list[str]:
    """The command prefix that runs SCRIPT; its arguments follow. Raises ExportError if none."""
    explicit = os.environ.get(BLENDER_ENV)
    if explicit:
        if shutil.which(explicit) is None:
            raise ExportError(f"{BLENDER_ENV}={explicit} is not an executable: "
                              f"{NO_BLENDER_MESSAGE}")
        if Path(explicit).name.startswith("python"):
            return [explicit, str(SCRIPT)]
        return [explicit, "--background", "--factory-startup", "--python", str(SCRIPT), "--"]
    if importlib.util.find_spec("bpy") is not None:
        return [sys.executable, str(SCRIPT)]
    blender = shutil.which("blender")
    if blender:
        return [blender, "--background", "--factory-startup", "--python", str(SCRIPT), "--"]
    raise ExportError(NO_BLENDER_MESSAGE)


def _convert(command: list[str], glb: bytes, fbx_path: Path, fps: float) -> None:
    with tempfile.TemporaryDirectory(prefix="aios_fbx_") as folder:
        glb_path = Path(folder) / "motion.glb"
        glb_path.write_bytes(glb)
        with atomic_output(fbx_path) as temp:
            try:
                done = subprocess.run([*command, str(glb_path), str(temp), repr(fps)],
                                      capture_output=True, text=True, check=False)
            except OSError as error:
                raise ExportError(f"cannot run Blender ({command[0]}): {error}") from None
            if done.returncode != 0 or temp.stat().st_size == 0:
                tail = (done.stderr or done.stdout)[-_ERROR_TAIL_CHARS:].strip()
                raise ExportError(f"Blender's FBX conversion failed ({command[0]}): {tail}")


def write_fbx(motion: Motion, shape: RestShape, out: Path, combined: bool = False,
              skeleton: str = "smplx") -> list[Path]:
    """One FBX per track, or every track in ``out`` when ``combined``."""
    command = blender_command()
    groups = files_for_tracks(out, motion.tracks, ".fbx", combined)
    for path, tracks in groups.items():
        _convert(command, glb_bytes(tracks, shape, skeleton, motion.camera), path, motion.fps)
    return list(groups)
