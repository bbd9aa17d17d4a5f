"""Open export files in Blender (``bpy``) from the tests: found as FBX export finds Blender."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from aios_core.export import ExportError
from aios_core.export.fbx import blender_command

INSPECT = Path(__file__).with_name("blender_inspect.py")


def blender_or_skip() -> list[str]:
    """Blender's command prefix (see aios_core.export.fbx); skips when there is none (bpy wheels
    exist for one Python version per release, so it is optional)."""
    try:
        return blender_command()
    except ExportError:
        pytest.skip("no Blender: set AIOS_BLENDER to Blender or a Python with bpy")


def blender_report(path: Path, bones: tuple[str, ...] = ()) -> dict:
    """What Blender makes of ``path`` (see blender_inspect.py)."""
    prefix = blender_or_skip()
    done = subprocess.run([*_with_script(prefix), str(path), *bones], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("AIOS_REPORT ")]
    return json.loads(line.removeprefix("AIOS_REPORT "))


def _with_script(prefix: list[str]) -> list[str]:
    """``prefix`` runs the FBX script; the same command running INSPECT instead."""
    return [str(INSPECT) if part.endswith("fbx_blender_script.py") else part for part in prefix]
