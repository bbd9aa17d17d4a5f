"""Training steps on CUDA (marked ``gpu``): bf16 autocast, and the Triton kernel's backward.

The first step's loss is computed before any update, so runs that differ only in arithmetic
must agree on it: the Triton kernel against the PyTorch path in fp32 within 1e-4 (relative),
bf16 against fp32 within 5e-2. The second step's loss must be finite (the update was).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from synthetic_training_data import RandomImageSet
from tiny_network import build_tiny_network

import aios_core.model.deformable_attention as deformable_attention
from aios_core.training.loop import TrainingJob, train
from aios_core.training.run_config import TrainConfig

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

CONFIG = TrainConfig(stage="finetune", epochs=1, lr=1e-4, lr_backbone=1e-5, batch_size=2,
                     num_workers=0, use_ema=False, log_every_steps=1,
                     checkpoint_every_steps=1000, dn_number=4, seed=3, samples_per_epoch=4)


def two_step_losses(tmp_path, name: str, precision: str, kernel: bool) -> list[float]:
    from aios_core.device import choose_device

    device = choose_device("cuda")
    triton_kernel = deformable_attention.registered_kernel()
    if kernel:
        assert triton_kernel is not None, "the Triton kernel failed its self-check"
    else:
        deformable_attention.register_kernel(None)
    losses: list[float] = []
    try:
        job = TrainingJob(network=build_tiny_network(0), dataset=RandomImageSet(4),
                          config=replace(CONFIG, precision=precision), run_dir=tmp_path / name,
                          device=device)
        train(job, max_steps=2, on_step=lambda _progress, values: losses.append(values["total"]))
    finally:
        deformable_attention.register_kernel(triton_kernel)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses), losses
    return losses


def test_triton_backward_step_equals_the_pytorch_step(tmp_path) -> None:
    with_kernel = two_step_losses(tmp_path, "kernel", "fp32", kernel=True)
    without = two_step_losses(tmp_path, "pytorch", "fp32", kernel=False)
    assert with_kernel[0] == pytest.approx(without[0], rel=1e-4)


def test_bf16_step_is_finite_and_close_to_fp32(tmp_path) -> None:
    fp32 = two_step_losses(tmp_path, "fp32", "fp32", kernel=True)
    bf16 = two_step_losses(tmp_path, "bf16", "bf16", kernel=True)
    assert bf16[0] == pytest.approx(fp32[0], rel=5e-2)
