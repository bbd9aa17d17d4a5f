"""`aios view --host` with an address this machine cannot serve on: one line and exit 2, at once
(viser would stop in its own thread and leave the command waiting)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aios_core.pipeline.run import RunOptions, run_pipeline
from tests.fake_predictor import CrossingPeople
from tests.synthetic_media import HEIGHT, WIDTH, write_video
from tests.tiny_cli import environment


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("view")
    clip = write_video(folder / "clip.mp4", 3, fps=25)
    return run_pipeline(RunOptions(clip, results_path=folder / "r.npz"),
                        CrossingPeople(WIDTH, HEIGHT, 3)).results_path


@pytest.mark.parametrize(("host", "reason"), [
    ("no-such-host.invalid", "cannot resolve it"),
    ("192.0.2.1", "cannot serve on it"),  # TEST-NET-1: never an address of this machine
])
def test_a_host_that_cannot_be_served_on_is_one_line(results, host, reason):
    outcome = subprocess.run([sys.executable, "-m", "aios_cli", "view", str(results), "--host",
                              host], env=environment(), capture_output=True, text=True,
                             timeout=60)
    assert outcome.returncode == 2
    [line] = outcome.stderr.strip().splitlines()
    assert line.startswith(f"aios view: --host {host}: {reason} (")
