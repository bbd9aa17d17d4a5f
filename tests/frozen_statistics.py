"""Non-trivial frozen batch-norm statistics, so a test's normalisation actually does something."""

from __future__ import annotations

import torch
from torch import nn

from aios_core.model.backbone import FrozenBatchNorm2d


def randomise_frozen_statistics(model: nn.Module) -> nn.Module:
    """Every FrozenBatchNorm2d in ``model`` gets random weight, bias, mean and variance."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, FrozenBatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 2.0)
    return model
