"""Optimiser and learning-rate schedule as the official AiOS training (``main.py``)."""

from __future__ import annotations

import torch
from torch import nn

from aios_core.training.run_config import TrainConfig

BACKBONE_NAMES = ("backbone.0",)
LINEAR_PROJ_NAMES = ("reference_points", "sampling_offsets")


def parameter_groups(network: nn.Module, config: TrainConfig) -> list[dict]:
    """Three AdamW groups: the ResNet at lr_backbone, deformable-attention sampling layers at
    lr x lr_linear_proj_mult, everything else at lr; frozen parameters are left out."""
    groups: dict[str, list[nn.Parameter]] = {"backbone": [], "linear_proj": [], "other": []}
    for name, parameter in network.named_parameters():
        if not parameter.requires_grad:
            continue
        if any(part in name for part in BACKBONE_NAMES):
            groups["backbone"].append(parameter)
        elif any(part in name for part in LINEAR_PROJ_NAMES):
            groups["linear_proj"].append(parameter)
        else:
            groups["other"].append(parameter)
    lrs = {"backbone": config.lr_backbone, "linear_proj": config.lr * config.lr_linear_proj_mult,
           "other": config.lr}
    return [{"params": params, "lr": lrs[name], "name": name}
            for name, params in groups.items() if params]


def build_optimizer(network: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    return torch.optim.AdamW(parameter_groups(network, config), lr=config.lr,
                             weight_decay=config.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer,
                    config: TrainConfig) -> torch.optim.lr_scheduler.MultiStepLR:
    """Stepped once per epoch: every group's lr x lr_drop_factor at each drop epoch."""
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(config.lr_drop_epochs),
                                                gamma=config.lr_drop_factor)


class ExponentialMovingAverage:
    """EMA of a network's trainable weights (official ``ModelEma``, decay 0.9997).

    Frozen parameters and buffers never change in training, so they are not copied; the
    averaged network is the live state dict with these entries replaced (``averaged_state``).
    """

    def __init__(self, network: nn.Module, decay: float):
        self.decay = decay
        self.state = {name: p.detach().clone() for name, p in network.named_parameters()
                      if p.requires_grad}

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        for name, parameter in network.named_parameters():
            if name in self.state:
                self.state[name].mul_(self.decay).add_(parameter.detach(), alpha=1 - self.decay)

    def averaged_state(self, network: nn.Module) -> dict:
        """The network's full state dict with the averaged weights (loads into ``AiOS``).

        A parameter shared by several modules (the heads under ``transformer.decoder.*``) is
        averaged once and written under each of its names.
        """
        averaged = {id(p): self.state[name] for name, p in network.named_parameters()
                    if name in self.state}
        state = network.state_dict()
        for name, parameter in network.named_parameters(remove_duplicate=False):
            if id(parameter) in averaged:
                state[name] = averaged[id(parameter)]
        return state

    def state_dict(self) -> dict:
        return {"decay": self.decay, "state": self.state}

    def load_state_dict(self, saved: dict) -> None:
        self.decay = saved["decay"]
        for name, value in saved["state"].items():
            self.state[name].copy_(value)

