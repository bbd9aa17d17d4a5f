"""The epoch sampler and the optimiser set-up."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from tiny_network import build_tiny_network

from aios_core.training.optim import (
    build_optimizer,
    build_scheduler,
    parameter_groups,
)
from aios_core.training.run_config import TrainConfig
from aios_core.training.sampling import EpochSampler


def test_draw_is_deterministic_per_epoch_and_changes_between_epochs() -> None:
    a = EpochSampler(10, batch_size=2, seed=1)
    b = EpochSampler(10, batch_size=2, seed=1)
    a.set_epoch(3)
    b.set_epoch(3)
    assert list(a) == list(b)
    b.set_epoch(4)
    assert list(a) != list(b)
    assert sorted(k.index for k in a) == list(range(10))  # a permutation without weights


def test_ranks_are_disjoint_and_cover_the_epoch() -> None:
    ranks = [EpochSampler(12, batch_size=2, rank=r, world_size=3, seed=0) for r in range(3)]
    for sampler in ranks:
        sampler.set_epoch(1)
    positions = [list(s) for s in ranks]
    assert all(len(p) == 4 for p in positions)
    assert sorted(k.index for p in positions for k in p) == list(range(12))
    assert len({k.seed for p in positions for k in p}) == 12


def test_weighted_draw_follows_the_weights() -> None:
    weights = torch.tensor([0.7] + [0.3 / 9] * 9)
    sampler = EpochSampler(10, samples_per_epoch=20000, weights=weights, batch_size=4)
    counts = Counter(k.index for k in sampler)
    assert counts[0] / 20000 == pytest.approx(0.7, abs=0.02)


def test_skipping_steps_resumes_mid_epoch() -> None:
    sampler = EpochSampler(20, batch_size=3, seed=5)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.set_epoch(2, skip_steps=2)
    assert list(sampler) == full[6:]
    assert len(sampler) == len(full) - 6


def test_sampler_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="empty"):
        EpochSampler(0)
    with pytest.raises(ValueError, match="weights"):
        EpochSampler(3, weights=torch.ones(4))
    with pytest.raises(ValueError, match="rank"):
        EpochSampler(3, rank=2, world_size=2)


def test_parameter_groups_follow_the_official_learning_rates() -> None:
    network = build_tiny_network(0)
    # the ResNet stem is frozen as in the official backbone (only layer1-4 train)
    assert not dict(network.named_parameters())["backbone.0.body.conv1.weight"].requires_grad
    config = TrainConfig.for_stage("pretrain")
    groups = {g["name"]: g for g in parameter_groups(network, config)}
    names = {id(p): n for n, p in network.named_parameters()}
    assert {names[id(p)].split(".")[0] for p in groups["backbone"]["params"]} == {"backbone"}
    assert groups["backbone"]["lr"] == 1e-5
    assert all("sampling_offsets" in names[id(p)] or "reference_points" in names[id(p)]
               for p in groups["linear_proj"]["params"])
    assert groups["linear_proj"]["lr"] == pytest.approx(1e-5)
    assert groups["other"]["lr"] == 1e-4
    grouped = {id(p) for g in groups.values() for p in g["params"]}
    trainable = {id(p) for p in network.parameters() if p.requires_grad}
    assert grouped == trainable  # frozen body model / stem left out, nothing else


def test_schedule_drops_at_the_paper_epoch() -> None:
    network = build_tiny_network(0)
    config = TrainConfig.for_stage("finetune")
    assert (config.epochs, config.lr, config.lr_drop_epochs) == (50, 1e-5, (25,))
    optimizer = build_optimizer(network, config)
    scheduler = build_scheduler(optimizer, config)
    lrs = []
    for _ in range(30):
        lrs.append(optimizer.param_groups[-1]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[24] == pytest.approx(1e-5) and lrs[25] == pytest.approx(1e-6)
    assert optimizer.defaults["weight_decay"] == 1e-4


def test_config_validation_messages() -> None:
    with pytest.raises(ValueError, match="stage"):
        TrainConfig.for_stage("warmup")
    with pytest.raises(ValueError, match="precision"):
        TrainConfig.for_stage("pretrain", precision="fp8")
    with pytest.raises(ValueError, match="batch size"):
        TrainConfig.for_stage("pretrain", batch_size=0)
    config = TrainConfig.for_stage("pretrain", epochs=3)
    assert TrainConfig.from_dict(config.as_dict()) == config
