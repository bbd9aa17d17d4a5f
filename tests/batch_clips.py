"""Clip folders, a tiny checkpoint and output comparisons for the `aios batch` tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tests.synthetic_media import write_video
from tests.tiny_network import write_tiny_checkpoint

REPO_ROOT = Path(__file__).resolve().parent.parent
# Options every batch test passes: the tiny network, one CPU thread per worker (the same
# arithmetic in every engine), at most 2 people a frame, small inference batches.
COMMON_OPTIONS = ["--device", "cpu", "--cpus-per-worker", "1", "--num-people", "2",
                  "--threshold", "0", "--batch-size", "2", "--quiet"]


def write_clip_tree(root: Path, frames: dict[str, int]) -> Path:
    """Videos at ``root/<relative path>`` with the given frame counts."""
    for relative, count in frames.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        write_video(root / relative, count)
    return root


def tiny_checkpoint(folder: Path) -> Path:
    return write_tiny_checkpoint(folder / "tiny.pth")


def results_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def assert_same_results(got: Path, expected: Path) -> None:
    """Two results files hold the same arrays, bit for bit."""
    a, b = results_arrays(got), results_arrays(expected)
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"{got.name}: {key}")


def leftover_temporary_files(folder: Path) -> list[Path]:
    """Files an interrupted write could leave: hidden temporaries of the atomic writers."""
    return [path for path in folder.rglob(".*") if path.is_file()]


def subprocess_environment() -> dict[str, str]:
    """This checkout first on the path, whatever is installed."""
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ray_cli(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "ray.scripts.scripts", *arguments]


@contextmanager
def private_ray_head(num_cpus: int = 2, object_store_bytes: int = 80 * 1024**2) -> Iterator[str]:
    """`ray start --head` on 127.0.0.1 with its own port and temp folder, in its own session;
    yields its address. Stopped by signalling only that session, never with `ray stop` (which
    stops every Ray on the machine)."""
    temp_dir = tempfile.mkdtemp(prefix="aiosray")  # Ray's socket paths must stay short
    address = f"127.0.0.1:{_free_port()}"
    command = _ray_cli("start", "--head", "--block", "--node-ip-address", "127.0.0.1",
                       "--port", address.split(":")[1], "--num-cpus", str(num_cpus),
                       "--num-gpus", "0", "--object-store-memory", str(object_store_bytes),
                       "--include-dashboard", "false", "--disable-usage-stats",
                       "--temp-dir", temp_dir)
    process = subprocess.Popen(command, env=subprocess_environment(), cwd=REPO_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        _wait_until_up(address, process)
        yield address
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_until_up(address: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start failed: {process.stderr.read().decode()[-2000:]}")
        status = subprocess.run(_ray_cli("status", "--address", address), capture_output=True,
                                env=subprocess_environment())
        if status.returncode == 0:
            return
        time.sleep(1)
    raise RuntimeError(f"the Ray head at {address} did not come up")
