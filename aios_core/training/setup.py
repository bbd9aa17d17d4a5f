"""Everything ``aios train`` decides before the first step: config, data, network, weights."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from aios_core.assets import resolve_smplx_dir
from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.data.augment import DEFAULT_AUGMENT
from aios_core.data.training_set import build_training_set
from aios_core.device import choose_device
from aios_core.model.config import AiOSConfig
from aios_core.model.config_record import (
    MODEL_CONFIG_KEY,
    architecture_summary,
    config_from_record,
    config_values,
    differences,
    read_model_config_file,
)
from aios_core.model.network import AiOS
from aios_core.training.checkpointing import LAST, ResumeError, checkpoint_dir
from aios_core.training.init_weights import load_matching_weights
from aios_core.training.loop import TrainingJob
from aios_core.training.run_config import TrainConfig


@dataclass(frozen=True)
class TrainOverrides:
    """Command-line values that replace the stage preset (None = keep the preset)."""

    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    num_workers: int | None = None
    precision: str | None = None
    seed: int | None = None
    short_sides: tuple[int, ...] | None = None
    max_long_side: int | None = None
    keep_snapshots: int | None = None
    snapshot_weights: str | None = None

    def apply(self, config: TrainConfig) -> TrainConfig:
        values = {k: v for k, v in vars(self).items() if v is not None and k != "lr"}
        if self.lr is not None:  # keep the official backbone : rest ratio
            values["lr_backbone"] = config.lr_backbone * self.lr / config.lr
            values["lr"] = self.lr
        return replace(config, **values)


@dataclass
class PreparedTraining:
    job: TrainingJob
    messages: list[str] = field(default_factory=list)
    is_main: bool = True


def _stored_configs(run_dir: Path) -> tuple[dict, AiOSConfig | None]:
    """The TrainConfig dict and AiOSConfig that ``RUN_DIR/checkpoints/last.pth`` records.

    Memory-mapped, so only these small entries are read (the file is this tool's own output,
    in the user's run directory, as for ``load_for_resume``).
    """
    path = checkpoint_dir(run_dir) / LAST
    if not path.is_file():
        raise ResumeError(f"--resume: no checkpoint in {checkpoint_dir(run_dir)}; start "
                          "without --resume")
    try:
        content = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means "unusable"
        raise ResumeError(f"--resume: {path} is not a readable checkpoint ({error})") from error
    if not isinstance(content, dict) or "config" not in content:
        raise ResumeError(f"--resume: {path} is not a training checkpoint of aios train")
    record = content.get(MODEL_CONFIG_KEY)
    model = None if record is None else config_from_record(record, f"checkpoint {path}")
    return content["config"], model


def _resumed_configs(stage: str, run_dir: Path, overrides: TrainOverrides,
                     model_config_path: Path | None) -> tuple[TrainConfig, AiOSConfig]:
    """A resumed run continues with the checkpoint's settings; options may only restate them
    (or change what RESUMABLE_CHANGES allows); the Trainer refuses any other difference."""
    stored_train, stored_model = _stored_configs(run_dir)
    model = stored_model or AiOSConfig()
    if model_config_path is not None:
        wanted = read_model_config_file(model_config_path)
        changed = differences(config_values(model), config_values(wanted), "in the checkpoint",
                              f"in --model-config {model_config_path}")
        if changed:
            raise ResumeError(f"--resume: {checkpoint_dir(run_dir) / LAST} holds another "
                              f"model config: {'; '.join(changed)}")
    stored = TrainConfig.from_dict(stored_train)
    if stored.stage != stage:
        raise ResumeError(f"--resume: the run in {run_dir} is a {stored.stage} run, not "
                          f"{stage}; pass --stage {stored.stage}")
    return overrides.apply(stored), model


def prepare_training(stage: str, data_root: Path, run_dir: Path, *, resume: bool,
                     init_path: Path | None, smplx_dir: Path | None,
                     datasets: list[str] | None, extra: list[tuple[Path, Path, float]],
                     overrides: TrainOverrides, device_name: str,
                     model_config_path: Path | None = None) -> PreparedTraining:
    """Validate inputs in the order a user fixes them: configs, data, SMPL-X, weights."""
    if resume:
        config, model_config = _resumed_configs(stage, run_dir, overrides, model_config_path)
    else:
        config = overrides.apply(TrainConfig.for_stage(stage))
        model_config = (AiOSConfig() if model_config_path is None
                        else read_model_config_file(model_config_path))
    config.validate()
    device = choose_device(device_name)
    augment = replace(DEFAULT_AUGMENT, short_sides=config.short_sides,
                      max_long_side=config.max_long_side)
    data = build_training_set(stage, Path(data_root), datasets, extra, augment_config=augment)
    messages = [data.summary()]
    if model_config != AiOSConfig():
        messages.append(f"model: {architecture_summary(model_config)}")
    network = AiOS(model_config)
    body = EmbeddedSMPLX.from_model_folder(resolve_smplx_dir(smplx_dir))
    network.body_model.load_state_dict(body.state_dict())
    if init_path is not None and not resume:
        report = load_matching_weights(network, init_path, skip_prefixes=("body_model.",))
        messages.append(f"--init {init_path}:\n{report.summary()}")
    elif not resume:
        messages.append("no --init: training from random weights (the paper starts from an "
                        "ED-Pose COCO checkpoint)")
    job = TrainingJob(network=network, dataset=data.dataset, config=config,
                      run_dir=Path(run_dir), device=device, sample_weights=data.sample_weights)
    return PreparedTraining(job=job, messages=messages,
                            is_main=int(os.environ.get("RANK", 0)) == 0)
