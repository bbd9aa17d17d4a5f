"""Everything ``aios train`` decides before the first step: config, data, network, weights."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from aios_core.assets import resolve_smplx_dir
from aios_core.data.training_set import build_training_set
from aios_core.errors import DeviceUnavailableError
from aios_core.model.config import AiOSConfig
from aios_core.model.embedded_body_model import EmbeddedSMPLX
from aios_core.model.network import AiOS
from aios_core.training.checkpointing import ResumeError
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


def choose_training_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            "--device cuda: no CUDA device is available (use --device cpu)")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def prepare_training(stage: str, data_root: Path, run_dir: Path, *, resume: bool,
                     init_path: Path | None, smplx_dir: Path | None,
                     datasets: list[str] | None, extra: list[tuple[Path, Path, float]],
                     overrides: TrainOverrides, device_name: str) -> PreparedTraining:
    """Validate inputs in the order a user fixes them: data, SMPL-X, weights, then build."""
    config = overrides.apply(TrainConfig.for_stage(stage))
    config.validate()
    if resume and not (Path(run_dir) / "checkpoints" / "last.pth").is_file():
        raise ResumeError(f"--resume: no checkpoint in {Path(run_dir) / 'checkpoints'}; start "
                          "without --resume")
    device = choose_training_device(device_name)
    data = build_training_set(stage, Path(data_root), datasets, extra)
    messages = [data.summary()]
    network = AiOS(AiOSConfig())
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
