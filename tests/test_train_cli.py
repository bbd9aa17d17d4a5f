"""`aios train` command line: options, usage errors, and a short run on synthetic data."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner
from synthetic_training_data import write_training_source

from aios_cli.main import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, ["train", *args])


def test_help_lists_the_options() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for option in ("--stage", "--data-root", "--out", "--resume", "--init", "--datasets",
                   "--extra-data", "--precision", "--batch-size", "--epochs"):
        assert option in result.output


def test_bad_stage_exits_2() -> None:
    result = invoke("--stage", "warmup", "--data-root", ".", "--out", "run")
    assert result.exit_code == 2
    assert "warmup" in result.output


def test_missing_data_root_exits_2_naming_the_expected_file(tmp_path) -> None:
    result = invoke("--stage", "pretrain", "--data-root", str(tmp_path / "nowhere"),
                    "--out", str(tmp_path / "run"), "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert "nowhere" in result.output and "data root" in result.output


@pytest.mark.parametrize(("out", "message"), [
    ("/sys/run", "cannot write --out /sys/run: folder /sys is not writable"),
    ("{tmp}/file", "cannot write --out {tmp}/file: it is a file, not a folder"),
])
def test_an_unwritable_run_folder_exits_2_before_any_work(tmp_path, out, message) -> None:
    (tmp_path / "file").write_text("")
    out, message = out.format(tmp=tmp_path), message.format(tmp=tmp_path)
    # The data root does not exist either: the output place is checked first.
    result = invoke("--stage", "pretrain", "--data-root", str(tmp_path / "nowhere"),
                    "--out", out, "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith(f"aios train: {message}")
    assert len(result.output.strip().splitlines()) == 1


def test_resume_without_checkpoint_exits_2(tmp_path) -> None:
    result = invoke("--stage", "finetune", "--data-root", str(tmp_path), "--out",
                    str(tmp_path / "run"), "--resume")
    assert result.exit_code == 2
    assert "no checkpoint" in result.output


def test_missing_smplx_folder_exits_2(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIOS_HOME", str(tmp_path / "home"))
    write_training_source(tmp_path / "data", "agora", images=1)
    result = invoke("--stage", "pretrain", "--data-root", str(tmp_path / "data"), "--datasets",
                    "agora", "--out", str(tmp_path / "run"), "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert "SMPL" in result.output


@pytest.mark.slow
def test_one_epoch_of_the_released_architecture_runs(tmp_path, smplx_model_dir) -> None:
    write_training_source(tmp_path / "data", "agora", images=2, persons=1)
    result = invoke("--stage", "finetune", "--data-root", str(tmp_path / "data"), "--datasets",
                    "agora", "--out", str(tmp_path / "run"), "--device", "cpu", "--epochs", "1",
                    "--batch-size", "1", "--num-workers", "0", "--smplx-dir",
                    str(smplx_model_dir))
    assert result.exit_code == 0, result.output
    with (tmp_path / "run" / "log.csv").open() as stream:
        assert len(list(csv.DictReader(stream))) >= 1


TINY_TOML = """# a small architecture for CPU runs (AiOSConfig fields; others keep defaults)
hidden_dim = 32
nheads = 2
enc_layers = 1
dec_layers = 4
num_box_decoder_layers = 1
num_hand_face_decoder_layers = 3
dim_feedforward = 64
num_queries = 20
num_group = 3
"""


def test_model_config_and_short_side_train_a_small_architecture_and_ctrl_c_in_the_save_exits_130(
        tmp_path, smplx_model_dir, monkeypatch) -> None:
    """One step of a --model-config architecture at --short-side 64; Ctrl-C while the epoch-end
    checkpoint is written exits 130 with the resume hint, and the checkpoint it finished loads
    as that architecture."""
    import os
    import signal
    import time

    import torch

    from aios_core.model.network import AiOS
    from aios_core.training import checkpointing

    write_training_source(tmp_path / "data", "agora", images=1, persons=1)
    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    real_save, writes = torch.save, []

    class InterruptingStream:
        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            writes.append(len(data))
            if len(writes) == 3:  # Ctrl-C in the middle of the first checkpoint
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # its Python handler runs here, inside torch.save
            return self.stream.write(data)

        def __getattr__(self, name):
            return getattr(self.stream, name)

    monkeypatch.setattr(checkpointing.torch, "save",
                        lambda content, stream: real_save(content, InterruptingStream(stream)))
    result = invoke("--stage", "finetune", "--data-root", str(tmp_path / "data"), "--datasets",
                    "agora", "--out", str(tmp_path / "run"), "--device", "cpu", "--epochs", "1",
                    "--batch-size", "1", "--num-workers", "0", "--smplx-dir",
                    str(smplx_model_dir), "--model-config", str(tmp_path / "tiny.toml"),
                    "--short-side", "64", "--max-long-side", "96")
    assert result.exit_code == 130, result.output
    assert "interrupted; saved; continue with: aios train ... --out" in result.output
    assert "--resume" in result.output
    assert "model: AiOS hidden 32, 2 heads" in result.output
    monkeypatch.setattr(checkpointing.torch, "save", real_save)
    network = AiOS.from_checkpoint(tmp_path / "run" / "checkpoints" / "last.pth")
    assert (network.config.hidden_dim, network.config.dec_layers) == (32, 4)

    # --resume continues with the recorded architecture; another one is refused by name.
    (tmp_path / "other.toml").write_text(TINY_TOML.replace("num_group = 3", "num_group = 4"))
    result = invoke("--stage", "finetune", "--data-root", str(tmp_path / "data"), "--datasets",
                    "agora", "--out", str(tmp_path / "run"), "--device", "cpu", "--resume",
                    "--smplx-dir", str(smplx_model_dir), "--model-config",
                    str(tmp_path / "other.toml"))
    assert result.exit_code == 2, result.output
    assert "holds another model config: num_group: 3 in the checkpoint, 4 in --model-config" \
        in result.output


def test_bad_short_side_and_model_config_exit_2(tmp_path) -> None:
    result = invoke("--stage", "finetune", "--data-root", ".", "--out", "run",
                    "--short-side", "64,x")
    assert result.exit_code == 2 and "--short-side" in result.output
    (tmp_path / "m.toml").write_text("hidden_dims = 32\n")
    result = invoke("--stage", "finetune", "--data-root", str(tmp_path), "--out",
                    str(tmp_path / "run"), "--model-config", str(tmp_path / "m.toml"))
    assert result.exit_code == 2, result.output
    assert "unknown model config field(s) hidden_dims" in result.output
