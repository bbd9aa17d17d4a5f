"""`aios run` never changes a result behind the user's back: --resume refuses other settings
and leaves a finished run alone, and files the user did not name are never clobbered.

Real processes with the stand-in people of tests/fake_predictor.py (tests/tiny_cli.py): the
network is not the point here, what the command does with its files is."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from aios_core.pipeline.run import RunOptions, partial_path, run_pipeline
from aios_core.results.results_file import load_results
from tests.fake_predictor import CrossingPeople
from tests.synthetic_media import HEIGHT, WIDTH, write_video
from tests.tiny_cli import ENV_MARKER, ENV_PREDICTOR, command, environment

FRAMES = 6


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", FRAMES, fps=25)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    # The stand-in predictor reads no checkpoint; the file only has to exist (and is recorded).
    path = tmp_path_factory.mktemp("ckpt") / "weights.pth"
    path.write_bytes(b"stand-in weights")
    return path


def _aios(*arguments: object, marker: Path | None = None) -> subprocess.CompletedProcess:
    extra = {ENV_PREDICTOR: "fake", **({ENV_MARKER: str(marker)} if marker else {})}
    return subprocess.run(command(*arguments), env=environment(**extra), capture_output=True,
                          text=True, timeout=120)


def _run(clip: Path, checkpoint: Path, results: Path, *extra: object, marker=None):
    return _aios("run", clip, "--checkpoint", checkpoint, "--out", results, "--device", "cpu",
                 "--batch-size", 2, "--threshold", 0, "--quiet", *extra, marker=marker)


def _inferred(marker: Path) -> int:
    lines = marker.read_text().splitlines() if marker.exists() else []
    return sum(int(line.split()[1]) for line in lines if line.startswith("done"))


class _StopAfter:
    """The stand-in people, interrupted (as by Ctrl-C) at the ``calls``-th batch."""

    def __init__(self, calls: int) -> None:
        self.people, self.left = CrossingPeople(WIDTH, HEIGHT, FRAMES), calls

    def __call__(self, images):
        self.left -= 1
        if self.left < 0:
            raise KeyboardInterrupt
        return self.people(images)


def _interrupted_run(clip: Path, checkpoint: Path, results: Path) -> Path:
    """A progress file of 2 frames, made with the settings `_run` passes."""
    options = RunOptions(clip, results_path=results, batch_size=2, threshold=0.0,
                         checkpoint=checkpoint, resume=False)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(options, _StopAfter(calls=1))
    assert load_results(partial_path(results)).num_frames == 2
    return partial_path(results)


def test_resume_with_other_settings_is_refused_naming_each_difference(clip, checkpoint,
                                                                      tmp_path):
    results = tmp_path / "r.npz"
    partial = _interrupted_run(clip, checkpoint, results)
    before = partial.read_bytes()

    refused = _run(clip, checkpoint, results, "--resume", "--threshold", 0.9, "--start", 3,
                   "--max-frames", 2)
    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith(f"aios run: --resume: the interrupted run in {partial} was made "
                           "with other settings: ")
    for difference in ("--start 0 (now 3)", "--max-frames unset (now 2)",
                       "--threshold 0.0 (now 0.9)"):
        assert difference in line
    assert partial.read_bytes() == before and not results.exists()


def test_resume_with_the_same_settings_continues_after_the_saved_frames(clip, checkpoint,
                                                                        tmp_path):
    results, marker = tmp_path / "r.npz", tmp_path / "marker"
    _interrupted_run(clip, checkpoint, results)
    resumed = _run(clip, checkpoint, results, "--resume", marker=marker)
    assert resumed.returncode == 0, resumed.stderr
    assert _inferred(marker) == FRAMES - 2
    assert load_results(results).num_frames == FRAMES


def test_resume_of_a_finished_run_is_nothing_to_do(clip, checkpoint, tmp_path):
    results, marker = tmp_path / "r.npz", tmp_path / "marker"
    assert _run(clip, checkpoint, results).returncode == 0
    written = results.read_bytes()

    again = _run(clip, checkpoint, results, "--resume", marker=marker)
    assert again.returncode == 0, again.stderr
    assert again.stderr.strip() == (f"aios run: nothing to do: {results} already holds this run "
                                    "with these settings (drop --resume to redo it)")
    assert _inferred(marker) == 0 and results.read_bytes() == written

    refused = _run(clip, checkpoint, results, "--resume", "--num-people", 1)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"aios run: --resume: the finished run in {results.with_suffix('.json')} was made with "
        "other settings: --num-people unset (now 1); rerun with the same settings, or drop "
        "--resume to start over")
    assert results.read_bytes() == written

    # Other smoothing only: nothing would be mixed, so the run is simply redone with it.
    marker.unlink(missing_ok=True)
    redone = _run(clip, checkpoint, results, "--resume", "--smooth-strength", 0.1, marker=marker)
    assert redone.returncode == 0, redone.stderr
    assert _inferred(marker) == FRAMES
    assert json.loads(results.with_suffix(".json").read_text())["settings"][
        "--smooth-strength"] == 0.1


def test_resume_with_nothing_to_resume_says_it_starts_over(clip, checkpoint, tmp_path):
    outcome = _run(clip, checkpoint, tmp_path / "r.npz", "--resume")
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stderr.strip() == ("aios run: --resume: no interrupted run to continue; "
                                      "starting from the first frame")


def test_a_file_where_the_summary_goes_is_not_clobbered(clip, checkpoint, tmp_path):
    results = tmp_path / "x.npz"
    mine = tmp_path / "x.json"
    mine.write_text('{"my": "motion export"}')

    refused = _run(clip, checkpoint, results)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"aios run: the run summary {mine} would replace a file that `aios run` did not write; "
        "move it, choose another --out, or add --overwrite")
    assert mine.read_text() == '{"my": "motion export"}' and not results.exists()

    assert _run(clip, checkpoint, results, "--overwrite").returncode == 0
    assert json.loads(mine.read_text())["results_path"] == str(results)
    rerun = _run(clip, checkpoint, results)  # its own summary: replaced without asking
    assert rerun.returncode == 0, rerun.stderr


@pytest.mark.parametrize(("arguments", "message"), [
    (["--start", 100], "aios run: --start 100 is past the end of {clip} (6 frames)"),
])
def test_a_start_past_the_end_is_refused_before_loading(clip, checkpoint, tmp_path, arguments,
                                                        message):
    outcome = _run(clip, checkpoint, tmp_path / "r.npz", *arguments)
    assert outcome.returncode == 2
    assert outcome.stderr.strip() == message.format(clip=clip)


def test_an_empty_file_is_called_empty(checkpoint, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    outcome = _run(empty, checkpoint, tmp_path / "r.npz")
    assert outcome.returncode == 2
    assert outcome.stderr.strip() == f"aios run: {empty} is empty (0 bytes)"


def test_a_missing_output_folder_is_created(clip, checkpoint, tmp_path):
    results = tmp_path / "new" / "folder" / "r.npz"
    outcome = _run(clip, checkpoint, results)
    assert outcome.returncode == 0, outcome.stderr
    assert load_results(results).num_frames == FRAMES
