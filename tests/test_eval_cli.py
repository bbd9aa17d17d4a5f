"""`aios eval` through click with a tiny random network loaded from an official-style checkpoint."""

from __future__ import annotations

import json
import math

import pytest
import torch
from click.testing import CliRunner

from aios_cli.eval import eval_command
from tests.synthetic_benchmark import build_benchmark


@pytest.fixture
def tiny_checkpoint(tmp_path, monkeypatch):
    """A tiny network saved as {'model': state_dict}; load_network builds the tiny config."""
    from aios_core.inference import predictor as model_predictor
    from aios_core.model.network import AiOS
    from tests.tiny_network import TINY, build_tiny_network

    path = tmp_path / "tiny.pth"
    torch.save({"model": build_tiny_network().state_dict()}, path)

    def load_tiny(checkpoint, device, smplx_dir):
        return AiOS.from_checkpoint(checkpoint, device, TINY), None

    monkeypatch.setattr(model_predictor, "load_network", load_tiny)
    return path


def test_eval_with_a_tiny_network_writes_the_results_json(tmp_path, smplx_model_dir,
                                                          tiny_checkpoint):
    bench = build_benchmark(tmp_path / "data", smplx_model_dir,
                            annotation="ehf_val_230908_100.npz", image_dir="datasets/EHF",
                            people_per_image=(1,))  # one image: the network runs at 800 px
    out = tmp_path / "ehf.json"
    result = CliRunner().invoke(eval_command, [
        "ehf", "--data-root", str(bench.data_root), "--checkpoint", str(tiny_checkpoint),
        "--smplx-dir", str(bench.smplx_dir), "--device", "cpu",
        "--out", str(out), "--quiet",
    ])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["schema"] == "aios-eval/1" and report["benchmark"] == "ehf"
    assert report["inputs"]["checkpoint"] == str(tiny_checkpoint)
    assert report["counts"]["persons_scored"] == 1
    metrics = report["results"]["metrics"]
    assert all(math.isfinite(v) and v > 0 for v in metrics.values())
    # The random network is far from the GT: the rigid-free PA error is the smaller one.
    assert metrics["pa_mpvpe_all"] < metrics["mpvpe_all"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["ehf", "--data-root", "{tmp}/nowhere"], "is not a folder"),
        (["ehf", "--data-root", "{tmp}"], "ehf_val_230908_100.npz not found"),
        # Output places are checked first of all, before any input is read.
        (["ehf", "--data-root", "{tmp}/nowhere", "--out", "/sys/ehf.json"],
         "cannot write --out /sys/ehf.json: folder /sys is not writable"),
        (["ehf", "--data-root", "{tmp}/nowhere", "--out", "{tmp}/e.json",
          "--per-image-errors", "{tmp}/e.json"], "are the same file"),
        (["ehf", "--data-root", "{tmp}/nowhere", "--out", "{tmp}/none.pth"],
         "is --checkpoint: writing it would destroy the input"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, arguments, message, smplx_model_dir):
    # The data are checked before the checkpoint is even looked at.
    arguments = [a.format(tmp=tmp_path) for a in arguments]
    arguments += ["--checkpoint", str(tmp_path / "none.pth"), "--smplx-dir", str(smplx_model_dir)]
    result = CliRunner().invoke(eval_command, arguments)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aios eval: ") and message in lines[0]


def test_unknown_benchmark_is_a_usage_error():
    result = CliRunner().invoke(eval_command, ["coco", "--data-root", "."])
    assert result.exit_code == 2
