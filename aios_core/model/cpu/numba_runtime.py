"""Numba for the CPU kernels (optional): one place that imports it and sets how it threads.

Numba runs on its own thread pool (``workqueue``): its OpenMP layer shares libgomp with torch,
and setting Numba's thread count there changed torch's (1 -> 2 threads), which reorders torch's
own sums and so changed later results by an ulp depending on what ran before. Every kernel
runs with as many threads as torch uses (``threads_like_torch``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

try:
    import numba

    numba.config.THREADING_LAYER = "workqueue"
except ImportError:  # callers fall back to their PyTorch paths
    numba = None


def numba_available() -> bool:
    return numba is not None


@contextlib.contextmanager
def threads_like_torch() -> Iterator[None]:
    """Run Numba's parallel loops inside with torch's thread count, restored afterwards."""
    assert numba is not None
    threads = numba.get_num_threads()
    numba.set_num_threads(min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(threads)
