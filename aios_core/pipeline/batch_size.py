"""The default inference batch of `aios run`: as many frames as the free memory holds, up to 8.

The cost model is peak memory = base + per-image x batch, measured on CPU (fp32, the released
network at its 800x1333 input) with ``bench/bench_run_memory.py``: peak RSS 2.06 GiB at batch
1 and 3.08 GiB at batch 2. The line through them over-estimates bigger batches (a batch-8 run
peaked at 6.9 GB, the line says 9.3 GiB), which is the safe side for a default. On a GPU the
same figures stand in for the CUDA memory (not measured there; the bench takes --device cuda).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

GIB = 2**30
BASE_BYTES = int(1.03 * GIB)  # process, libraries, weights
PER_IMAGE_BYTES = int(1.03 * GIB)  # activations of one 800x1333 image, fp32
MAX_DEFAULT_BATCH = 8  # beyond this a bigger batch no longer speeds inference up
USABLE_FRACTION = 0.7  # leave room for the rest of the machine and for estimate error


def batch_size_for_memory(free_bytes: int) -> int:
    """The largest batch (1..MAX_DEFAULT_BATCH) whose estimated peak fits in the usable share
    of ``free_bytes``; 1 when even that does not fit (the run may still succeed)."""
    usable = USABLE_FRACTION * free_bytes - BASE_BYTES
    return max(1, min(MAX_DEFAULT_BATCH, int(usable // PER_IMAGE_BYTES)))


def free_memory_bytes(device: torch.device) -> int | None:
    """Memory a new allocation can use: free CUDA memory on that GPU; on CPU the kernel's
    MemAvailable, capped by a container's cgroup limit. None when it cannot be told."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    available = _meminfo_available_bytes()
    limit = _cgroup_free_bytes()
    known = [value for value in (available, limit) if value is not None]
    return min(known) if known else None


def default_batch_size(device: torch.device) -> tuple[int, int | None]:
    """(batch size, the free memory it was chosen for); MAX_DEFAULT_BATCH when unknown."""
    free = free_memory_bytes(device)
    return (MAX_DEFAULT_BATCH if free is None else batch_size_for_memory(free)), free


def _meminfo_available_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # not Linux: free physical pages
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_free_bytes() -> int | None:
    """limit - usage of this process's memory cgroup (v2, then v1); None without a limit."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
         "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            limit_text = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max" or int(limit_text) >= 1 << 60:  # v1 says "no limit" this way
            return None
        return max(0, int(limit_text) - usage)
    return None
