"""install.sh's torch step, run for real with a stand-in Python that records what pip is asked
(no package is installed, apt-get is not on the PATH)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FAKE_PYTHON = """#!/bin/sh
if [ "$1" = "-c" ]; then exit 1; fi   # "import torch" fails: torch is missing
echo "$@" >> "$PIP_CALLS"
"""


def _pip_calls(tmp_path: Path, **env: str) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "id"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    python = bin_dir / "python3"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    calls = tmp_path / "calls"
    environment = {"PATH": str(bin_dir), "PIP_CALLS": str(calls), "HOME": str(tmp_path), **env}
    proc = subprocess.run(["/bin/bash", str(REPO_ROOT / "install.sh")], env=environment,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return calls.read_text().splitlines()


def test_default_is_the_pinned_torch_from_the_configured_index(tmp_path):
    assert _pip_calls(tmp_path)[0] == "-m pip install torch==2.13.0"


def test_aios_torch_index_takes_torch_alone_from_that_index(tmp_path):
    cpu = "https://download.pytorch.org/whl/cpu"
    calls = _pip_calls(tmp_path, AIOS_TORCH_INDEX=cpu)
    assert calls[0] == f"-m pip install --index-url {cpu} torch==2.13.0"
    # aios itself still comes from the usual index
    assert calls[1] == "-m pip install -e .[dev,ray,view]"
