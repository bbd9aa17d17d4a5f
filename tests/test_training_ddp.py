"""Two processes under torchrun (gloo): after a step both ranks hold identical weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from tiny_network import build_tiny_network


def test_two_gloo_ranks_hold_identical_weights_after_a_step(tmp_path) -> None:
    script = Path(__file__).parent / "ddp_train_script.py"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", str(script), str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0 = torch.load(tmp_path / "rank0.pth", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pth", weights_only=True)
    initial = build_tiny_network(0).state_dict()
    changed = 0
    for name, value in rank0.items():
        torch.testing.assert_close(value, rank1[name], atol=0, rtol=0, msg=name)
        changed += not torch.equal(value, initial[name])
    assert changed > 100  # the step moved the weights
    assert (tmp_path / "run" / "checkpoints" / "last.pth").is_file()  # written by rank 0 only
