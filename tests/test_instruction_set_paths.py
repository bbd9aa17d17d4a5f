"""The numeric tests hold on narrower CPUs too: rerun them with every library's AVX-512 (and AMX)
paths switched off, as on an AVX2-only machine, and expect the same verdicts.

OpenCV, MKL, oneDNN, ATen's vectorised kernels and Numba each choose their kernels by CPU, so a
test that only holds for one vendor's instruction set would pass here and fail on another CI
machine. Each library is narrowed through its own switch: ``OPENCV_CPU_DISABLE`` (OpenCV's
dispatch targets above AVX2), ``MKL_ENABLE_INSTRUCTIONS=AVX2``, ``ONEDNN_MAX_CPU_ISA=AVX2`` (also
no AMX), ``ATEN_CPU_CAPABILITY=avx2`` (torch's own vector kernels, whose sums the Numba kernel's
self-check compares against) and ``NUMBA_CPU_NAME=haswell``. OpenCV's Intel IPP kernels have no
such switch: the CPU preprocessing calls OpenCV itself, and the torch path is held to OpenCV
within a tolerance measured with IPP on and off.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import cv2
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NUMERIC_TESTS = (
    "tests/test_preprocess.py",
    "tests/test_golden_numbers.py",
    "tests/test_deformable_attention.py",
    "tests/test_frozen_batch_norm_cpu.py",
)


def _opencv_features_above_avx2() -> list[str]:
    """This OpenCV build's dispatch targets wider than AVX2, named as getCPUFeaturesLine prints
    them (naming one the build lacks makes OpenCV print a warning)."""
    names = [word.strip("*?") for word in cv2.getCPUFeaturesLine().split()]
    return [name for name in names if name.startswith(("AVX512", "AVX_VNNI", "AVX10"))]


def narrow_environment() -> dict[str, str]:
    """os.environ with AVX2 as the widest instruction set every numeric library may use."""
    narrowed = {
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
        "NUMBA_CPU_NAME": "haswell",
        "PYTHONPATH": str(REPO_ROOT),
    }
    above = _opencv_features_above_avx2()
    if above:
        narrowed["OPENCV_CPU_DISABLE"] = ",".join(above)
    return {**os.environ, **narrowed}


def _cpu_has_avx2() -> bool:
    return "AVX2" in [word.strip("*") for word in cv2.getCPUFeaturesLine().split()]


pytestmark = pytest.mark.skipif(not _cpu_has_avx2(), reason="the narrowed path is AVX2")

# Prints torch's kernel level, OpenCV's usable dispatch targets above AVX2 (a "?" marks one
# this process may not use) and Numba's target CPU.
PROBE = """
import cv2, numba, torch
print(torch.backends.cpu.get_cpu_capability())
words = cv2.getCPUFeaturesLine().split()
print(sum(w.startswith(("*AVX512", "*AVX_VNNI", "*AVX10")) and not w.endswith("?") for w in words))
print(numba.config.CPU_NAME)
"""


def test_the_switches_take_effect():
    done = subprocess.run([sys.executable, "-c", PROBE], env=narrow_environment(),
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["AVX2", "0", "haswell"]


def test_numeric_tests_give_the_same_verdicts_on_the_avx2_paths(tmp_path):
    report = tmp_path / "report.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}",
         *NUMERIC_TESTS],
        env=narrow_environment(), capture_output=True, text=True, timeout=900, cwd=REPO_ROOT,
    )
    cases = list(ElementTree.parse(report).getroot().iter("testcase"))
    failed = [f"{case.get('classname')}::{case.get('name')}" for case in cases
              if case.find("failure") is not None or case.find("error") is not None]
    assert failed == [], done.stdout[-3000:]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    passed = [case for case in cases if not list(case)]
    assert len(passed) > 100, f"only {len(passed)} of {len(cases)} tests ran to a pass"
