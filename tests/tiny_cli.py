"""`aios` as a real process with the tiny random network in place of the released one, for tests
that need a process of their own (signals, exit codes):

    python -m tests.tiny_cli run clip.mp4 --checkpoint tiny.pth ...

``--checkpoint`` must be a file written by ``save_tiny_checkpoint``. Environment:

- AIOS_TEST_MARKER=FILE: every predictor call appends ``start <n>`` to FILE before inferring n
  images and ``done <n>`` after; AIOS_TEST_DELAY_S (seconds) is slept after ``start``, so that
  a test can interrupt a run at a known stage.
- AIOS_TEST_PREDICTOR=fake: the two crossing people of tests/fake_predictor.py instead of the
  network (no checkpoint is read): everything else about the command stays real, and a
  frame costs nothing (the tiny network still needs seconds a frame at 800 px on a CPU).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ENV_MARKER, ENV_DELAY = "AIOS_TEST_MARKER", "AIOS_TEST_DELAY_S"
ENV_PREDICTOR = "AIOS_TEST_PREDICTOR"
REPO_ROOT = Path(__file__).resolve().parents[1]


def save_tiny_checkpoint(path: Path) -> Path:
    """The tiny network's weights as {'model': state_dict}, as the official checkpoints."""
    import torch

    from tests.tiny_network import build_tiny_network

    torch.save({"model": build_tiny_network().state_dict()}, path)
    return path


def command(*arguments: object) -> list[str]:
    """The argv that runs ``aios <arguments>`` through this module."""
    return [sys.executable, "-m", "tests.tiny_cli", *map(str, arguments)]


def environment(**extra: str) -> dict[str, str]:
    """os.environ plus this checkout on PYTHONPATH (the tests may run from any checkout)."""
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), **extra}


def _install_tiny_network() -> None:
    from aios_core.body.meshes import MeshMaker
    from aios_core.inference import predictor as model_predictor
    from aios_core.model.network import AiOS
    from tests.tiny_network import TINY

    fake = os.environ.get(ENV_PREDICTOR) == "fake"

    def load_tiny(checkpoint, device, smplx_dir):
        if fake:
            return None, None
        model = AiOS.from_checkpoint(checkpoint, device, TINY)
        return model, MeshMaker(model.body_model)

    class MarkedPredictor(model_predictor.NetworkPredictor):
        def __init__(self, model, threshold, precision="fp32"):
            if fake:
                self.people = None
            else:
                super().__init__(model, threshold, precision)

        def __call__(self, images):
            _mark(f"start {len(images)}")
            time.sleep(float(os.environ.get(ENV_DELAY, "0")))
            results = self._fake(images) if fake else super().__call__(images)
            _mark(f"done {len(images)}")
            return results

        def _fake(self, images):
            from tests.fake_predictor import CrossingPeople

            if self.people is None:
                height, width = images[0].shape[:2]
                self.people = CrossingPeople(width, height, frames=30)
            # The evaluator also reads the 144 SMPL-X joints in pixels.
            return [replace(r, smplx_joints_px=np.repeat(r.body_keypoints_px[:, :1], 144, 1))
                    for r in self.people(images)]

    model_predictor.load_network = load_tiny
    model_predictor.NetworkPredictor = MarkedPredictor


def _mark(line: str) -> None:
    marker = os.environ.get(ENV_MARKER)
    if marker:
        with open(marker, "a") as stream:
            stream.write(line + "\n")


if __name__ == "__main__":
    # A shell that starts jobs in the background makes them ignore SIGINT; a test that sends
    # SIGINT wants Python's own handler (KeyboardInterrupt), as in a terminal.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _install_tiny_network()
    from aios_cli.main import cli

    cli(sys.argv[1:], prog_name="aios")
