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
