"""glibc keeps freed memory once ``reuse_freed_memory`` ran: large tensors stop being mmap'd."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="the setting is glibc's")


def _mmapped_bytes_during_a_large_allocation(call_first: bool) -> int:
    """In a fresh process: glibc's mmap'd bytes while a 64 MB tensor is alive."""
    script = f"""
import ctypes, ctypes.util, torch
from aios_core.cpu_allocator import reuse_freed_memory
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Info
if {call_first}:
    assert reuse_freed_memory() is True
    assert reuse_freed_memory() is True  # idempotent
before = libc.mallinfo2().hblkhd
big = torch.ones(16 * 2**20)  # 64 MB, far above glibc's largest mmap threshold
print(libc.mallinfo2().hblkhd - before)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[-1])


def test_large_tensors_come_from_the_heap_after_the_call():
    if not hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallinfo2"):
        pytest.skip("glibc without mallinfo2 (< 2.33)")
    assert _mmapped_bytes_during_a_large_allocation(call_first=False) >= 64 * 2**20
    assert _mmapped_bytes_during_a_large_allocation(call_first=True) == 0


def test_choosing_the_cpu_device_applies_it(monkeypatch):
    from aios_core import device

    calls = []
    monkeypatch.setattr(device, "reuse_freed_memory", lambda: calls.append(True) or True)
    assert device.choose_device("cpu").type == "cpu"
    assert calls == [True]
