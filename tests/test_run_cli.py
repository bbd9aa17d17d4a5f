"""`aios run` bad input: one line on stderr, exit code 2, no partial files."""

from pathlib import Path

import av
import pytest
from click.testing import CliRunner

from aios_cli.main import cli
from tests.synthetic_media import write_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", 4, fps=25)


def run_cli(*args):
    result = CliRunner().invoke(cli, ["run", *map(str, args)])
    return result.exit_code, result.output.strip()


def test_missing_file(tmp_path):
    code, output = run_cli(tmp_path / "absent.mp4")
    assert code == 2
    assert output.startswith("aios run:") and "not found" in output
    assert len(output.splitlines()) == 1


def test_not_a_video(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video")
    code, output = run_cli(fake)
    assert code == 2 and output.startswith("aios run:") and "notes.mp4" in output
    # PyAV's "[Errno 1094995529] Invalid data found when processing input" is translated.
    assert "Errno" not in output and "is not a video FFmpeg can read" in output


def test_zero_frames(tmp_path):
    empty = tmp_path / "empty.mp4"
    with av.open(str(empty), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = 64, 48
    code, output = run_cli(empty)
    assert code == 2 and output.startswith("aios run:")


def test_unwritable_output(clip, tmp_path):
    (tmp_path / "plain").write_text("a file")
    code, output = run_cli(clip, "--out", tmp_path / "plain" / "r.npz")
    assert code == 2 and "is a file, not a folder" in output
    code, output = run_cli(clip, "--render", tmp_path / "missing-folder" / "o.mp4")
    assert code == 2 and "does not exist" in output


def test_missing_checkpoint_names_the_file(clip, tmp_path, monkeypatch):
    monkeypatch.setenv("AIOS_HOME", str(tmp_path / "home"))
    code, output = run_cli(clip, "--out", tmp_path / "r.npz")
    assert code == 2 and "aios_checkpoint.pth" in output and "--checkpoint" in output
    assert not list(tmp_path.glob("r*.npz"))


def test_corrupt_checkpoint(clip, tmp_path):
    broken = tmp_path / "aios_checkpoint.pth"
    broken.write_bytes(b"\x00garbage")
    code, output = run_cli(clip, "--checkpoint", broken, "--out", tmp_path / "r.npz")
    assert code == 2 and output.startswith("aios run:")


class _Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize(("content", "found"), [
    (b"hello", "it is a text file starting 'hello'"),
    (bytes(range(256)) * 4, "it is binary data of an unknown kind"),
    ("pickle", "it is a Python pickle (not opened: a pickle can run code)"),
], ids=["text", "binary", "pickle"])
def test_an_unreadable_checkpoint_says_what_the_file_is(clip, tmp_path, content, found):
    """Not torch's internals ("pop from empty list", "Unsupported operand 149", a warning)."""
    import pickle
    import subprocess
    import sys

    from tests.tiny_cli import environment

    broken = tmp_path / "weights.pth"
    broken.write_bytes(pickle.dumps(_Exploit()) if content == "pickle" else content)
    outcome = subprocess.run(
        [sys.executable, "-m", "aios_cli", "run", str(clip), "--checkpoint", str(broken),
         "--out", str(tmp_path / "r.npz"), "--device", "cpu"],
        env=environment(), capture_output=True, text=True, timeout=120)
    assert outcome.returncode == 2
    assert outcome.stderr.strip() == (
        f"aios run: cannot read checkpoint {broken}: {found}. It is not a readable, safe "
        "PyTorch checkpoint (truncated, corrupt, another format, or it names code that may not "
        "run); re-download the official AiOS checkpoint.")
    assert "this must never run" not in outcome.stdout


def test_bad_option_is_a_usage_error(clip):
    code, _ = run_cli(clip, "--batch-size", "0")
    assert code == 2


def test_missing_smplx_folder_fails_before_the_checkpoint_loads(clip, tmp_path, monkeypatch):
    import aios_core.model.network as network

    def must_not_load(*args, **kwargs):
        raise AssertionError("the checkpoint was loaded before the SMPL-X folder was checked")

    monkeypatch.setattr(network.AiOS, "from_checkpoint", must_not_load)
    checkpoint = tmp_path / "aios_checkpoint.pth"
    checkpoint.write_bytes(b"not read")
    empty = tmp_path / "smplx"
    empty.mkdir()
    code, output = run_cli(clip, "--checkpoint", checkpoint, "--smplx-dir", empty,
                           "--out", tmp_path / "r.npz")
    assert code == 2 and output.startswith("aios run:") and "SMPLX_NEUTRAL" in output


def _refuses_before_loading(monkeypatch):
    import aios_core.model.network as network

    def must_not_load(*args, **kwargs):
        raise AssertionError("the checkpoint was loaded before the outputs were checked")

    monkeypatch.setattr(network.AiOS, "from_checkpoint", must_not_load)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--render", "{input}"], "--render {input} is the input: writing it would destroy the "
                                  "input; choose another path"),
        (["--out", "{input}"], "--out {input} is the input"),
        (["--out", "{dir}/r.json"], "--out {dir}/r.json and the run summary {dir}/r.json are "
                                    "the same file"),
        (["--out", "{dir}/r.npz", "--render", "{dir}/r.partial.npz"], "the progress file"),
    ],
)
def test_an_output_that_is_the_input_or_another_output_is_refused_first(clip, tmp_path,
                                                                        monkeypatch, options,
                                                                        message):
    # `aios run same.mp4 --render same.mp4` replaced the input video with its overlay.
    video = tmp_path / "same.mp4"
    video.write_bytes(clip.read_bytes())
    _refuses_before_loading(monkeypatch)
    checkpoint = tmp_path / "aios_checkpoint.pth"
    checkpoint.write_bytes(b"not read")
    filled = [o.format(input=video, dir=tmp_path) for o in options]
    code, output = run_cli(video, "--checkpoint", checkpoint, *filled)
    assert code == 2 and len(output.splitlines()) == 1
    assert output.startswith("aios run: ") and message.format(input=video, dir=tmp_path) in output
    assert video.read_bytes() == clip.read_bytes()


def test_the_same_file_under_another_name_is_the_input_too(clip, tmp_path, monkeypatch):
    video = tmp_path / "same.mp4"
    video.write_bytes(clip.read_bytes())
    (tmp_path / "link.mp4").symlink_to(video)
    _refuses_before_loading(monkeypatch)
    code, output = run_cli(video, "--render", tmp_path / "link.mp4")
    assert code == 2 and "is the input" in output
    assert video.read_bytes() == clip.read_bytes()


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs Linux's /sys")
@pytest.mark.parametrize("option", ["--out", "--render"])
def test_an_unwritable_output_folder_fails_before_loading(clip, tmp_path, monkeypatch, option):
    _refuses_before_loading(monkeypatch)
    target = Path("/sys") / ("r.npz" if option == "--out" else "o.mp4")  # refused even to root
    extra = [] if option == "--out" else ["--out", tmp_path / "r.npz"]
    code, output = run_cli(clip, option, target, *extra)
    assert code == 2 and len(output.splitlines()) == 1 and "/sys is not writable" in output


def test_an_unsupported_render_container_is_refused_before_loading(clip, tmp_path, monkeypatch):
    _refuses_before_loading(monkeypatch)
    code, output = run_cli(clip, "--out", tmp_path / "r.npz", "--render", tmp_path / "o.gif")
    assert code == 2 and "unsupported output extension '.gif'" in output and ".avi" in output
    assert not list(tmp_path.glob("o*"))
