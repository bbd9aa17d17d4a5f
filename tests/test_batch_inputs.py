"""`aios batch` INPUTS: folders, files and manifests into clips; the manifest file."""

from __future__ import annotations

import json

import pytest

from aios_core.batch.inputs import BatchInputError, plan_clips
from aios_core.batch.jobs import BatchSettings
from aios_core.batch.manifest import DONE, FAILED, BatchManifest, ClipRecord
from tests.synthetic_media import frame_image, write_video


def _touch_video(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # planning only looks at names
    return path


def test_a_folder_mirrors_videos_and_image_sequences(tmp_path):
    import cv2

    root = tmp_path / "shoot"
    for relative in ("b.mp4", "a10.mov", "a2.mkv", "day1/take.MP4", "notes.txt", ".hidden.mp4"):
        _touch_video(root / relative)
    sequence = root / "day1" / "frames"
    sequence.mkdir()
    for i in range(2):
        cv2.imwrite(str(sequence / f"{i}.png"), frame_image(i))
    jobs = plan_clips([root])
    assert [job.out_stem for job in jobs] == ["a2", "a10", "b", "day1/take", "day1/frames"]
    assert jobs[0].input_path == str((root / "a2.mkv").resolve())
    assert all(job.overrides == {} for job in jobs)


def test_manifests_give_paths_relative_to_themselves_and_per_input_options(tmp_path):
    _touch_video(tmp_path / "clips" / "one.mp4")
    _touch_video(tmp_path / "clips" / "two.mp4")
    text = tmp_path / "list.txt"
    text.write_text("# a comment\n\nclips/one.mp4 --start 3 --max-frames 10\n'clips/two.mp4'\n")
    jobs = plan_clips([text])
    assert [(job.out_stem, job.overrides) for job in jobs] == [
        ("clips/one", {"start": 3, "max_frames": 10}), ("clips/two", {})]
    lines = tmp_path / "list.jsonl"
    lines.write_text(json.dumps({"input": "clips/two.mp4", "smooth_strength": 0.2}) + "\n")
    assert plan_clips([lines])[0].overrides == {"smooth_strength": 0.2}


@pytest.mark.parametrize(("content", "message"), [
    ("clips/one.mp4 --fps 30", r"list.txt, line 1: unknown per-input option 'fps'"),
    ("clips/one.mp4 --start", r"line 1: every option needs a value"),
    ("clips/one.mp4 --start soon", r"line 1: start must be a number, got 'soon'"),
    ("clips/absent.mp4", r"line 1: input not found: .*absent.mp4"),
])
def test_bad_manifest_lines_name_the_line(tmp_path, content, message):
    _touch_video(tmp_path / "clips" / "one.mp4")
    (tmp_path / "list.txt").write_text(content + "\n")
    with pytest.raises(BatchInputError, match=message):
        plan_clips([tmp_path / "list.txt"])


def test_two_inputs_with_one_output_are_refused(tmp_path):
    a = _touch_video(tmp_path / "a" / "clip.mp4")
    b = _touch_video(tmp_path / "b" / "clip.mp4")
    with pytest.raises(BatchInputError, match=r"would both write DIR/clip.aios.npz"):
        plan_clips([a, b])
    assert len(plan_clips([a, a])) == 1
    with pytest.raises(BatchInputError, match="input not found"):
        plan_clips([tmp_path / "nothing.mp4"])


def test_the_manifest_survives_a_torn_line_and_keeps_the_latest_record(tmp_path):
    video = write_video(tmp_path / "v.mp4", 2)
    (job,) = plan_clips([video])
    manifest = BatchManifest(tmp_path / "out")
    manifest.commit(ClipRecord(job.key, FAILED, error="first try"))
    (tmp_path / "out" / "v.aios.npz").write_bytes(b"x")
    manifest.commit(ClipRecord(job.key, DONE, ["v.aios.npz"], frames=2))
    with open(manifest.path, "a") as stream:
        stream.write('{"input": "/torn", "sta')  # a crash in the middle of a write
    reopened = BatchManifest(tmp_path / "out")
    assert list(reopened.records) == [job.key]
    assert manifest.path.read_text().count("\n") == 1  # compacted: one line per clip
    assert reopened.is_finished(job, BatchSettings())
    # Asking for more than was made (an overlay, an export) makes the clip unfinished.
    assert not reopened.is_finished(job, BatchSettings(render=True))
    assert not reopened.is_finished(job, BatchSettings(exports=("bvh",)))
    (tmp_path / "out" / "v_track1.bvh").write_bytes(b"x")
    reopened.commit(ClipRecord(job.key, DONE, ["v.aios.npz", "v_track1.bvh"]))
    assert reopened.is_finished(job, BatchSettings(exports=("bvh",)))
    (tmp_path / "out" / "v.aios.npz").unlink()
    assert not BatchManifest(tmp_path / "out").is_finished(job, BatchSettings())  # one is gone


@pytest.mark.parametrize(("arguments", "message"), [
    (["{tmp}/absent.mp4"], "aios batch: input not found: {tmp}/absent.mp4"),
    (["{tmp}/v.mp4", "--export", "gif"], "Invalid value for '--export': unknown format 'gif'"),
    (["{tmp}/v.mp4", "--checkpoint", "{tmp}/none.pth"], "aios batch: AiOS checkpoint not found"),
])
def test_usage_errors_exit_2_before_any_worker_starts(tmp_path, arguments, message):
    from click.testing import CliRunner

    from aios_cli.main import cli

    write_video(tmp_path / "v.mp4", 2)
    arguments = [a.format(tmp=tmp_path) for a in arguments]
    result = CliRunner().invoke(cli, ["batch", *arguments, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message.format(tmp=tmp_path) in result.output
    assert not (tmp_path / "out" / "batch_manifest.jsonl").exists()
