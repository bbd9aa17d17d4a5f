"""Exit 2 only for user errors (AiosError); an internal ValueError is a bug: exit 1."""

from __future__ import annotations

import importlib
import inspect

import pytest
from click.testing import CliRunner

import aios_core.assets
import aios_core.data.errors
import aios_core.evaluation.benchmarks
import aios_core.evaluation.prediction_cache
import aios_core.export.motion
import aios_core.model.checkpoint
import aios_core.pipeline.run
import aios_core.results.results_file
import aios_core.training.checkpointing
import aios_core.training.run_config
import aios_core.video.errors
from aios_cli.main import cli
from aios_core.errors import AiosError, DeviceUnavailableError
from aios_core.precision import PrecisionError
from tests.synthetic_media import write_video

USER_ERRORS = {
    aios_core.results.results_file: ["ResultsFileError"],
    aios_core.video.errors: ["VideoInputError", "VideoOutputError"],
    aios_core.pipeline.run: ["RunOutputError"],
    aios_core.export.motion: ["ExportError"],
    aios_core.assets: ["AssetNotFoundError"],
    aios_core.model.checkpoint: ["CheckpointFormatError", "CheckpointMismatchError"],
    aios_core.evaluation.benchmarks: ["BenchmarkDataError"],
    aios_core.evaluation.prediction_cache: ["PredictionCacheError"],
    aios_core.data.errors: ["HumanDataError"],
    aios_core.training.checkpointing: ["ResumeError"],
    aios_core.training.run_config: ["TrainConfigError"],
}


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output.strip()


def test_every_user_facing_error_class_derives_from_aios_error():
    classes = [getattr(module, name) for module, names in USER_ERRORS.items() for name in names]
    gl_backend = importlib.import_module("aios_core.rendering.gl_backend")
    classes += [gl_backend.RendererUnavailableError, DeviceUnavailableError, PrecisionError]
    for error_class in classes:
        assert issubclass(error_class, AiosError), error_class.__name__
    # No module of these defines another exception class that is not an AiosError.
    for module in USER_ERRORS:
        for name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Exception) and value.__module__ == module.__name__:
                assert issubclass(value, AiosError), f"{module.__name__}.{name}"


# (command line, the aios_core function the command calls first, as "module:attribute")
COMMANDS = [
    (["run", "{video}"], "aios_core.pipeline.run:check_run_inputs"),
    (["export", "{video}", "--format", "json", "--out", "{tmp}/x.json"],
     "aios_core.export:export_file"),
    (["eval", "ehf", "--data-root", "{tmp}"], "aios_core.evaluation.runner:prepare_evaluation"),
    (["train", "--stage", "finetune", "--data-root", "{tmp}", "--out", "{tmp}/run"],
     "aios_core.training.setup:prepare_training"),
]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", 2, fps=25)


@pytest.mark.parametrize(("args", "target"), COMMANDS, ids=[c[0][0] for c in COMMANDS])
def test_an_internal_value_error_is_reported_as_unexpected(args, target, video, tmp_path,
                                                          monkeypatch):
    module_name, attribute = target.split(":")

    def bug(*_args, **_kwargs):
        raise ValueError("an internal invariant broke")

    monkeypatch.setattr(importlib.import_module(module_name), attribute, bug)
    monkeypatch.delenv("AIOS_DEBUG", raising=False)
    code, output = invoke(*[a.format(video=video, tmp=tmp_path) for a in args])
    assert code == 1
    assert output == (f"aios {args[0]}: unexpected error (ValueError: an internal invariant "
                      "broke); rerun with AIOS_DEBUG=1 for details")


@pytest.mark.parametrize(("args", "target"), COMMANDS, ids=[c[0][0] for c in COMMANDS])
def test_an_aios_error_is_a_usage_error(args, target, video, tmp_path, monkeypatch):
    module_name, attribute = target.split(":")

    def user_error(*_args, **_kwargs):
        raise AiosError("--thing: the file is wrong; fix it")

    monkeypatch.setattr(importlib.import_module(module_name), attribute, user_error)
    code, output = invoke(*[a.format(video=video, tmp=tmp_path) for a in args])
    assert (code, output) == (2, f"aios {args[0]}: --thing: the file is wrong; fix it")


def test_end_before_start_is_a_usage_error(video):
    code, output = invoke("run", str(video), "--start", "5", "--end", "3")
    assert (code, output) == (2, "aios run: --end (3) must be after --start (5)")


def test_unknown_training_data_set_is_a_usage_error(tmp_path):
    code, output = invoke("train", "--stage", "finetune", "--data-root", str(tmp_path),
                          "--out", str(tmp_path / "run"), "--datasets", "nope", "--device", "cpu")
    assert code == 2
    assert output.startswith("aios train: --datasets: unknown data set(s) ['nope']; known: [")


def test_resume_without_a_run_is_a_usage_error(tmp_path):
    code, output = invoke("train", "--stage", "finetune", "--data-root", str(tmp_path),
                          "--out", str(tmp_path / "run"), "--resume")
    assert code == 2
    assert output == (f"aios train: --resume: no checkpoint in {tmp_path / 'run' / 'checkpoints'}"
                      "; start without --resume")
