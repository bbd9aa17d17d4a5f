"""One process or many (``torchrun``): set-up from the environment torchrun provides."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroupInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device) -> ProcessGroupInfo:
    """Join the process group torchrun describes (RANK / WORLD_SIZE / LOCAL_RANK); NCCL on
    CUDA, gloo on CPU. Without those variables: a single process, nothing initialised."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return ProcessGroupInfo()
    info = ProcessGroupInfo(rank=int(os.environ["RANK"]),
                            world_size=int(os.environ["WORLD_SIZE"]),
                            local_rank=int(os.environ.get("LOCAL_RANK", 0)))
    if info.world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    return info


def barrier(info: ProcessGroupInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.barrier()


def shutdown(info: ProcessGroupInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def mean_over_ranks(values: torch.Tensor, info: ProcessGroupInfo) -> torch.Tensor:
    """Average a tensor of logged values over all ranks (for rank-0 logging)."""
    if info.distributed and dist.is_initialized():
        values = values.clone()
        dist.all_reduce(values)
        values /= info.world_size
    return values
