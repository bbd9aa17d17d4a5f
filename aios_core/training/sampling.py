"""Which samples each process trains on, in which order, with which augmentation seed.

An epoch's draw depends only on (seed, epoch): a weighted draw with replacement when per-sample
weights are given (data-set mixing), otherwise a permutation. The draw is cut to a multiple of
world_size x batch_size and dealt round-robin, so ranks see disjoint positions of one sequence.
Each position carries its own augmentation seed, so a resumed run redraws identical batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Sampler


class SampleKey(NamedTuple):
    index: int  # into the data set
    seed: int  # of this draw's augmentation


class EpochSampler(Sampler[SampleKey]):
    """Deterministic per-epoch draw, split across ranks, resumable mid-epoch."""

    def __init__(self, num_items: int, *, samples_per_epoch: int | None = None,
                 weights: Tensor | None = None, batch_size: int = 1, rank: int = 0,
                 world_size: int = 1, seed: int = 0):
        if num_items <= 0:
            raise ValueError("the data set is empty")
        if weights is not None and weights.shape != (num_items,):
            raise ValueError(f"weights must have shape ({num_items},), got {tuple(weights.shape)}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.num_items, self.weights = num_items, weights
        self.batch_size, self.rank, self.world_size, self.seed = batch_size, rank, world_size, seed
        per_step = batch_size * world_size
        total = samples_per_epoch if samples_per_epoch is not None else num_items
        self.steps_per_epoch = max(1, total // per_step)
        self.epoch, self.skip_steps = 0, 0

    def set_epoch(self, epoch: int, skip_steps: int = 0) -> None:
        """Draw epoch ``epoch``; skip its first ``skip_steps`` batches (resume mid-epoch)."""
        self.epoch, self.skip_steps = epoch, skip_steps

    def epoch_keys(self) -> list[SampleKey]:
        """The whole epoch's draw, every rank's positions (rank r holds r, r + W, ...)."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        count = self.steps_per_epoch * self.batch_size * self.world_size
        if self.weights is not None:
            index = torch.multinomial(self.weights.double(), count, replacement=True, generator=g)
        else:
            repeats = -(-count // self.num_items)
            index = torch.cat([torch.randperm(self.num_items, generator=g)
                               for _ in range(repeats)])[:count]
        seeds = torch.randint(0, 2**31 - 1, (count,), generator=g)
        return [SampleKey(int(i), int(s)) for i, s in zip(index, seeds, strict=True)]

    def __iter__(self) -> Iterator[SampleKey]:
        mine = self.epoch_keys()[self.rank::self.world_size]
        return iter(mine[self.skip_steps * self.batch_size:])

    def __len__(self) -> int:
        return (self.steps_per_epoch - self.skip_steps) * self.batch_size
