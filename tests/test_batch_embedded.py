"""`aios batch` on this machine: worker processes with a tiny random network from a checkpoint
file, a broken clip, a rerun, an interrupted run resumed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch
from click.testing import CliRunner

from aios_cli.main import cli
from aios_core.batch.manifest import MANIFEST_NAME, BatchManifest
from aios_core.batch.progress import BatchProgress
from tests.batch_clips import (
    COMMON_OPTIONS,
    assert_same_results,
    leftover_temporary_files,
    subprocess_environment,
    tiny_checkpoint,
    write_clip_tree,
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("network"))


def batch(*arguments):
    result = CliRunner().invoke(cli, ["batch", *map(str, arguments)])
    return result.exit_code, result.output


def manifest_lines(out_dir):
    return [json.loads(line) for line in (out_dir / MANIFEST_NAME).read_text().splitlines()]


def plain_run(clip, results, checkpoint):
    """The same clip through `aios run` (one CPU thread, as the batch workers)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = CliRunner().invoke(cli, [
            "run", str(clip), "--out", str(results), "--checkpoint", str(checkpoint),
            "--device", "cpu", "--num-people", "2", "--threshold", "0", "--batch-size", "2",
            "--quiet"])
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output


def test_a_folder_with_a_broken_clip_and_its_rerun(tmp_path, checkpoint):
    clips = write_clip_tree(tmp_path / "clips", {"a.mp4": 3, "day2/b.mp4": 4})
    (clips / "day2" / "broken.mp4").write_bytes(b"\x00 not a video")
    out = tmp_path / "out"

    code, output = batch(clips, "--out", out, "--checkpoint", checkpoint, "--workers", "2",
                         *COMMON_OPTIONS)
    assert code == 3, output
    broken = clips.resolve() / "day2" / "broken.mp4"
    assert output.strip() == (f"aios batch: failed: {broken}: cannot read {broken} as a video or "
                              "image: the data is not a video FFmpeg can read (damaged, or not a "
                              "video)")
    records = {record["input"]: record for record in manifest_lines(out)}
    assert len(records) == 3
    done = records[str(clips.resolve() / "day2" / "b.mp4")]
    assert done["status"] == "done" and done["frames"] == 4 and done["error"] is None
    assert done["outputs"] == ["day2/b.aios.npz", "day2/b.aios.json"]
    broken = records[str(clips.resolve() / "day2" / "broken.mp4")]
    assert broken["status"] == "failed" and broken["outputs"] == [] and broken["frames"] == 0
    # Each clip's results are exactly those of a plain `aios run` of it.
    for name, stem in (("a.mp4", "a"), ("day2/b.mp4", "day2/b")):
        plain_run(clips / name, tmp_path / f"{stem.replace('/', '_')}.npz", checkpoint)
        assert_same_results(out / f"{stem}.aios.npz", tmp_path / f"{stem.replace('/', '_')}.npz")
    assert not leftover_temporary_files(out)

    # A rerun redoes only the failed clip; the finished ones are not touched.
    finished_at = (out / "a.aios.npz").stat().st_mtime_ns
    code, _ = batch(clips, "--out", out, "--checkpoint", checkpoint, *COMMON_OPTIONS)
    assert code == 3
    assert (out / "a.aios.npz").stat().st_mtime_ns == finished_at
    assert len(BatchManifest(out).records) == 3  # one record per clip, latest kept


def test_an_interrupted_batch_resumes_the_clip_it_stopped_in(tmp_path, checkpoint, monkeypatch):
    clips = write_clip_tree(tmp_path / "clips", {"long.mp4": 24, "short.mp4": 2})
    out = tmp_path / "out"
    arguments = [clips, "--out", out, "--checkpoint", checkpoint, "--workers", "1",
                 *COMMON_OPTIONS]
    counted = BatchProgress.frames_done

    def interrupt_after_ten_frames(self, frames):
        counted(self, frames)
        if self.frames >= 10:
            raise KeyboardInterrupt  # as Ctrl-C arriving in the driver

    monkeypatch.setattr(BatchProgress, "frames_done", interrupt_after_ten_frames)
    code, output = batch(*arguments)
    assert code == 130, output
    assert "interrupted; finished clips are recorded" in output
    assert (out / "long.aios.partial.npz").is_file()  # the stopped clip kept its frames
    assert not (out / "long.aios.npz").exists() and not leftover_temporary_files(out)

    monkeypatch.setattr(BatchProgress, "frames_done", counted)
    code, output = batch(*arguments)
    assert code == 0, output
    summary = json.loads((out / "long.aios.json").read_text())
    assert summary["resumed_from_frame"] >= 8 and summary["frames"] == 24
    assert not (out / "long.aios.partial.npz").exists()
    plain_run(clips / "long.mp4", tmp_path / "long.npz", checkpoint)
    assert_same_results(out / "long.aios.npz", tmp_path / "long.npz")
    assert {r["status"] for r in manifest_lines(out)} == {"done"} and len(manifest_lines(out)) == 2


def test_sigterm_stops_the_batch_with_143_and_nothing_half_written(tmp_path, checkpoint):
    clips = write_clip_tree(tmp_path / "clips", {"long.mp4": 150, "short.mp4": 2})
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "aios_cli", "batch", str(clips), "--out", str(out),
         "--checkpoint", str(checkpoint), "--workers", "1", *COMMON_OPTIONS],
        env=subprocess_environment(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / MANIFEST_NAME).is_file() and time.monotonic() < deadline:
        time.sleep(0.1)  # the short clip is recorded while the long one is being inferred
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 143, errors
    # The last line aios writes (multiprocessing's resource tracker, a separate process, may
    # still print a warning of its own after it).
    ours = [line for line in errors.splitlines() if line.startswith("aios batch:")]
    assert ours[-1] == (
        "aios batch: interrupted; finished clips are recorded; rerun the same command to resume")
    assert [record["status"] for record in manifest_lines(out)] == ["done"]
    assert (out / "long.aios.partial.npz").is_file() and not (out / "long.aios.npz").exists()
    assert not leftover_temporary_files(out)


def test_render_and_exports_are_written_next_to_the_results(tmp_path, checkpoint,
                                                            smplx_model_dir):
    from aios_core.results.results_file import load_results
    from aios_core.video import MediaReader

    clips = write_clip_tree(tmp_path / "clips", {"take/one.mp4": 2})
    out = tmp_path / "out"
    code, output = batch(clips, "--out", out, "--checkpoint", checkpoint, "--render",
                         "--export", "npz", "--smplx-dir", smplx_model_dir, *COMMON_OPTIONS)
    assert code == 0, output
    (record,) = manifest_lines(out)
    tracks = load_results(out / "take" / "one.aios.npz").track_ids()
    assert len(tracks) >= 2  # one motion file per tracked person
    assert record["outputs"] == ["take/one.aios.npz", "take/one.aios.json",
                                 "take/one.overlay.mp4",
                                 *(f"take/one_track{track}.npz" for track in tracks)]
    assert len(list(MediaReader(out / "take" / "one.overlay.mp4"))) == 2
    assert all((out / path).is_file() for path in record["outputs"])
