"""Two processes under torchrun (gloo): after a step both ranks hold identical weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_network import SHORT_STAGES, TINY, build_tiny_network

REPO_ROOT = Path(__file__).resolve().parent.parent


def check_two_ranks(tmp_path, model: str) -> None:
    script = Path(__file__).parent / "ddp_train_script.py"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", str(script), str(tmp_path), model]
    environment = {**os.environ,
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                               os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200,
                          env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0 = torch.load(tmp_path / "rank0.pth", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pth", weights_only=True)
    initial = build_tiny_network(0, {"tiny": TINY, "short": SHORT_STAGES}[model]).state_dict()
    changed = 0
    for name, value in rank0.items():
        torch.testing.assert_close(value, rank1[name], atol=0, rtol=0, msg=name)
        changed += not torch.equal(value, initial[name])
    assert changed > 100  # the step moved the weights
    assert (tmp_path / "run" / "checkpoints" / "last.pth").is_file()  # written by rank 0 only


def test_two_gloo_ranks_hold_identical_weights_after_a_step_quick(tmp_path) -> None:
    check_two_ranks(tmp_path, "short")


@pytest.mark.slow
def test_two_gloo_ranks_hold_identical_weights_after_a_step(tmp_path) -> None:
    check_two_ranks(tmp_path, "tiny")
