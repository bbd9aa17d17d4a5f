"""`aios run` / `aios eval` as real processes, stopped by SIGTERM (docker stop, Slurm, timeout) or
Ctrl-C: finished work is saved, the exit status says which signal, and --resume continues.

The network is the stand-in of tests/fake_predictor.py where frames must finish (see
tests/tiny_cli.py): signals and saving do not depend on what computes the people."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from aios_core.pipeline.run import partial_path
from aios_core.results.results_file import load_results
from tests.synthetic_media import write_video
from tests.tiny_cli import (
    ENV_DELAY,
    ENV_MARKER,
    ENV_PREDICTOR,
    command,
    environment,
    save_tiny_checkpoint,
)

FRAMES, BATCH = 8, 2
_WAIT_S = 120  # generous: the machine running the tests may be loaded


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.pth")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", FRAMES, fps=25)


def _start(arguments: list, marker: Path, delay_s: float, predictor: str = "fake"
           ) -> subprocess.Popen:
    env = environment(**{ENV_MARKER: str(marker), ENV_DELAY: str(delay_s),
                         ENV_PREDICTOR: predictor})
    return subprocess.Popen(command(*arguments), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(marker: Path, line: str, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + _WAIT_S
    while time.monotonic() < deadline:
        lines = marker.read_text().splitlines() if marker.exists() else []
        if sum(1 for seen in lines if seen.startswith(line)) >= count:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the command ended early: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"no {count} x {line!r} in {marker} after {_WAIT_S} s")


def _stop(proc: subprocess.Popen, signal_number: int) -> tuple[int, str]:
    proc.send_signal(signal_number)
    _, stderr = proc.communicate(timeout=_WAIT_S)
    return proc.returncode, stderr.strip().splitlines()[-1]


def _run_arguments(clip: Path, checkpoint: Path, results: Path, *extra) -> list:
    return ["run", clip, "--checkpoint", checkpoint, "--out", results, "--device", "cpu",
            "--batch-size", BATCH, "--threshold", 0, "--quiet", *extra]


def test_sigterm_saves_finished_frames_and_resume_continues(clip, tiny_checkpoint, tmp_path):
    results = tmp_path / "r.npz"
    marker = tmp_path / "marker"
    proc = _start(_run_arguments(clip, tiny_checkpoint, results), marker, delay_s=1.5)
    _wait_for(marker, "start", 3, proc)  # two batches finished, the third is being inferred
    code, last_line = _stop(proc, signal.SIGTERM)

    assert code == 143  # 128 + SIGTERM, what docker / Slurm / timeout report
    match = re.fullmatch(r"aios run: interrupted; (\d+) finished frames saved in (.+); rerun "
                         r"the same command with --resume to continue", last_line)
    assert match, last_line
    saved = int(match.group(1))
    assert Path(match.group(2)) == partial_path(results)
    assert saved >= 2 * BATCH and saved % BATCH == 0 and saved < FRAMES
    assert load_results(partial_path(results)).num_frames == saved
    assert not results.exists()

    marker.unlink()
    resumed = subprocess.run(command(*_run_arguments(clip, tiny_checkpoint, results, "--resume")),
                             env=environment(**{ENV_MARKER: str(marker), ENV_PREDICTOR: "fake"}),
                             capture_output=True,
                             text=True, timeout=_WAIT_S)
    assert resumed.returncode == 0, resumed.stderr
    inferred = sum(int(line.split()[1]) for line in marker.read_text().splitlines()
                   if line.startswith("done"))
    assert inferred == FRAMES - saved  # nothing finished was inferred again
    summary = json.loads(results.with_suffix(".json").read_text())
    assert summary["resumed_from_frame"] == saved
    assert load_results(results).num_frames == FRAMES
    assert not partial_path(results).exists()


def test_ctrl_c_before_any_frame_finished_says_nothing_was_saved(clip, tiny_checkpoint,
                                                                 tmp_path):
    results = tmp_path / "r.npz"
    marker = tmp_path / "marker"
    # The tiny network: the real checkpoint loading, and no frame is ever inferred.
    proc = _start(_run_arguments(clip, tiny_checkpoint, results), marker, delay_s=30,
                  predictor="tiny")
    _wait_for(marker, "start", 1, proc)
    code, last_line = _stop(proc, signal.SIGINT)
    assert code == 130
    assert last_line == "aios run: interrupted; no frame was finished yet, so nothing was saved"
    assert not partial_path(results).exists() and not results.exists()


def test_eval_sigterm_keeps_finished_batches_for_resume(tiny_checkpoint, smplx_model_dir,
                                                        tmp_path):
    from tests.synthetic_benchmark import build_benchmark

    bench = build_benchmark(tmp_path / "data", smplx_model_dir,
                            annotation="ehf_val_230908_100.npz", image_dir="datasets/EHF",
                            people_per_image=(1, 1, 1))
    out = tmp_path / "ehf.json"
    arguments = ["eval", "ehf", "--data-root", bench.data_root, "--checkpoint", tiny_checkpoint,
                 "--smplx-dir", bench.smplx_dir, "--device", "cpu", "--batch-size", 1,
                 "--out", out, "--quiet"]
    marker = tmp_path / "marker"
    proc = _start(arguments, marker, delay_s=1.5)
    _wait_for(marker, "start", 2, proc)  # the first image is finished and stored
    code, last_line = _stop(proc, signal.SIGTERM)
    assert code == 143
    assert last_line == (f"aios eval: interrupted; the predictions of 1 image are saved in "
                         f"{out}.work; rerun the same command with --resume to continue")
    assert not out.exists()

    marker.unlink()
    resumed = subprocess.run(command(*arguments, "--resume"),
                             env=environment(**{ENV_MARKER: str(marker), ENV_PREDICTOR: "fake"}),
                             capture_output=True,
                             text=True, timeout=_WAIT_S)
    assert resumed.returncode == 0, resumed.stderr
    inferred = [line for line in marker.read_text().splitlines() if line.startswith("done")]
    assert len(inferred) == 2  # the image finished before SIGTERM was not inferred again
    assert json.loads(out.read_text())["counts"]["persons_scored"] == 3
