"""`aios batch` checks what it can before any model loads, never hangs on a cluster that is not
there, never takes its own outputs for inputs, and never redoes a finished clip."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from aios_cli.batch_display import print_summary
from aios_core.batch.inputs import plan_clips
from aios_core.batch.jobs import BatchSettings, results_path, run_options
from aios_core.batch.manifest import FAILED, ClipRecord
from aios_core.batch.progress import BatchProgress
from aios_core.pipeline.run import run_pipeline
from tests.fake_predictor import CrossingPeople
from tests.synthetic_media import HEIGHT, WIDTH, write_video
from tests.tiny_cli import environment

FRAMES = 4


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", FRAMES, fps=25)


def _batch(*arguments: object, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aios_cli", "batch", *map(str, arguments)],
                          env=environment(**env), capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_ray_address_with_nothing_there_fails_at_once_with_one_line(clip, tmp_path):
    address = f"127.0.0.1:{_free_port()}"
    out = tmp_path / "out"
    outcome = _batch(clip, "--out", out, "--ray", address)
    assert outcome.returncode == 2
    [line] = outcome.stderr.strip().splitlines()
    assert line.startswith(f"aios batch: cannot connect to the Ray cluster at {address}: "
                           "nothing answers there")
    assert not out.exists()  # no empty output folder left behind


@pytest.mark.parametrize("where", ["an existing file", "under a file"])
def test_an_out_that_cannot_be_a_folder_is_one_line_and_exit_2(clip, tmp_path, where):
    plain = tmp_path / "plain"
    plain.write_text("a file")
    out = plain if where == "an existing file" else plain / "out"
    outcome = _batch(clip, "--out", out)
    assert outcome.returncode == 2
    [line] = outcome.stderr.strip().splitlines()
    assert line.startswith(f"aios batch: cannot write --out {out}: ")
    assert plain.read_text() == "a file"


@pytest.mark.parametrize(("line", "message"), [
    ('{"input": "clip.mp4", "smooth_strength": 7}', "smooth_strength must be from 0.0 to 1.0, "
                                                    "got 7"),
    ('{"input": "clip.mp4", "max_frames": 0}', "max_frames must be at least 1, got 0"),
])
def test_a_bad_manifest_option_is_refused_before_any_clip(clip, tmp_path, line, message):
    manifest = clip.parent / f"bad_{len(line)}.jsonl"
    manifest.write_text(line + "\n")
    out = tmp_path / "out"
    outcome = _batch(manifest, "--out", out)
    assert outcome.returncode == 2
    assert outcome.stderr.strip() == f"aios batch: {manifest}, line 1: {message}"
    assert not (out / "clip.aios.partial.npz").exists()


def test_fbx_without_blender_is_refused_before_any_clip(clip, tmp_path):
    out = tmp_path / "out"
    outcome = _batch(clip, "--out", out, "--export", "fbx", AIOS_BLENDER=str(tmp_path / "none"))
    assert outcome.returncode == 2
    [line] = outcome.stderr.strip().splitlines()
    assert line.startswith(f"aios batch: AIOS_BLENDER={tmp_path / 'none'} is not an executable")
    assert not (out / "clip.aios.npz").exists()


def test_outputs_inside_the_input_folder_are_not_inputs(tmp_path):
    root = tmp_path / "shoot"
    out = root / "aios_out"
    out.mkdir(parents=True)
    (root / "take.mp4").touch()  # planning only looks at names
    (out / "take.overlay.mp4").touch()  # what an earlier run rendered
    jobs = plan_clips([root], out)
    assert [job.out_stem for job in jobs] == ["take"]


def test_the_failed_clip_table_keeps_square_brackets():
    progress = BatchProgress(total=1)
    progress.failures.append(ClipRecord("a.mp4", FAILED, error="pip install 'aios[fbx]'"))
    stream = io.StringIO()
    print_summary(Console(file=stream, width=200), progress, Path("out"))
    assert "pip install 'aios[fbx]'" in stream.getvalue()


class _Counting:
    def __init__(self) -> None:
        self.people, self.frames = CrossingPeople(WIDTH, HEIGHT, FRAMES), 0

    def __call__(self, images):
        self.frames += len(images)
        return self.people(images)


def test_a_finished_clip_not_yet_recorded_is_not_inferred_again(clip, tmp_path):
    """A batch stopped between writing a clip's outputs and recording it in the manifest: the
    rerun (which resumes every clip) recognises the finished clip instead of redoing it."""
    [job] = plan_clips([clip])
    options = run_options(BatchSettings(batch_size=2), job, tmp_path)
    first = _Counting()
    run_pipeline(options, first)
    written = results_path(tmp_path, job).read_bytes()
    again = _Counting()
    summary = run_pipeline(options, again)
    assert first.frames == FRAMES and again.frames == 0
    assert summary.already_finished and summary.frames == FRAMES
    assert results_path(tmp_path, job).read_bytes() == written
    assert json.loads(summary.summary_path.read_text())["frames"] == FRAMES


def test_a_rerun_with_other_settings_is_refused_before_any_clip(clip, tmp_path):
    """An interrupted clip is resumed only with the settings it was started with."""
    checkpoint = tmp_path / "weights.pth"
    checkpoint.write_bytes(b"stand-in weights")  # refused before anything reads it
    out = tmp_path / "out"
    [job] = plan_clips([clip])
    options = run_options(BatchSettings(checkpoint=str(checkpoint.resolve()), threshold=0.0,
                                        batch_size=2), job, out)
    people = CrossingPeople(WIDTH, HEIGHT, FRAMES)

    def stop_after_one_batch(images, calls=[]):  # noqa: B006 - counts the calls
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return people(images)

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(options, stop_after_one_batch)
    partial = out / "clip.aios.partial.npz"
    outcome = _batch(clip, "--out", out, "--checkpoint", checkpoint, "--threshold", 0.9,
                     "--batch-size", 2)
    assert outcome.returncode == 2
    assert outcome.stderr.strip() == (
        f"aios batch: --resume: the interrupted run in {partial} was made with other settings: "
        "--threshold 0.0 (now 0.9); rerun with the same settings, or remove its files from "
        "--out to start that clip over")


def test_a_rerun_that_adds_an_overlay_to_a_finished_clip_is_not_refused(clip, tmp_path):
    from aios_core.batch.runner import Batch

    [job] = plan_clips([clip])
    run_pipeline(run_options(BatchSettings(batch_size=2), job, tmp_path), _Counting())
    rerun = Batch([job], tmp_path, BatchSettings(batch_size=2, render=True))
    assert rerun.todo == [job]  # redone with the overlay: nothing to mix


def test_camera_and_feet_options_reach_every_clip_and_bad_ones_stop_before_work(tmp_path):
    from aios_core.batch.jobs import ClipJob

    settings = BatchSettings(fov_deg=70.0, camera="static", render_floor=True, foot_lock=False)
    options = run_options(settings, ClipJob("clip.mp4", "clip"), tmp_path)
    assert (options.world.fov_deg, options.world.focal_px, options.world.camera) == (
        70.0, None, "static")
    assert options.render_floor and not options.foot_lock
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "a.mp4").write_bytes(b"not read")
    done = subprocess.run(
        [sys.executable, "-m", "aios_cli", "batch", str(clips), "--out", str(tmp_path / "out"),
         "--fov", "70", "--focal-px", "900"],
        capture_output=True, text=True, timeout=120, env=environment())
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "aios batch: --fov and --focal-px both give the focal length: pass only one"]
    assert not (tmp_path / "out").exists()
