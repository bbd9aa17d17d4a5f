"""Keep freed memory in the process on glibc, so the network's large CPU tensors reuse pages.

glibc serves every allocation above its mmap threshold (at most 32 MB) with a fresh ``mmap``
and returns it to the kernel on ``free``. One 800x1333 forward allocates dozens of such
tensors (the encoder FFN's activations alone are 180 MB per layer), so every one of them
page-faults its memory in again: measured on a 2-core Zen 4, that first touch was a third of
the whole forward. Serving them from the heap and never trimming it makes the second and
later forwards reuse warm pages. The arithmetic is untouched (same bits); the cost is that the
process keeps its peak heap (about 10% more resident memory in that measurement).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

# mallopt parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# mallopt takes an int and glibc stores the threshold as size_t: -1 is SIZE_MAX, never trim.
# (2**31 - 1, the largest positive int, was not enough: a fp32 forward frees more than that.)
_NEVER_TRIM = -1


@functools.cache
def reuse_freed_memory() -> bool:
    """Serve large blocks from the heap and keep it (glibc); False where that is not possible.

    Process-wide and idempotent; call it once before CPU inference or training.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # these mallopt parameters are glibc's
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success.
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))
