"""The default batch of `aios run` follows the free memory (a batch of 8 peaked at 6.9 GB)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from aios_core.pipeline import batch_size as batch_module
from aios_core.pipeline.batch_size import (
    BASE_BYTES,
    GIB,
    MAX_DEFAULT_BATCH,
    PER_IMAGE_BYTES,
    USABLE_FRACTION,
    batch_size_for_memory,
    free_memory_bytes,
)


def estimated_peak(batch: int) -> int:
    return BASE_BYTES + PER_IMAGE_BYTES * batch


@pytest.mark.parametrize("free_gib", [3, 4, 6, 8, 12])
def test_the_chosen_batch_is_the_largest_whose_peak_fits(free_gib):
    usable = USABLE_FRACTION * free_gib * GIB
    batch = batch_size_for_memory(free_gib * GIB)
    assert 1 <= batch < MAX_DEFAULT_BATCH
    assert estimated_peak(batch) <= usable < estimated_peak(batch + 1)


def test_bounds_little_memory_still_runs_one_frame_and_much_memory_stops_at_8():
    assert batch_size_for_memory(512 * 2**20) == 1
    assert batch_size_for_memory(0) == 1
    assert batch_size_for_memory(1024 * GIB) == MAX_DEFAULT_BATCH


def test_the_measured_figures_match_the_docs():
    readme = (Path(__file__).resolve().parents[1] / "docs" / "run.md").read_text()
    assert f"{estimated_peak(1) / GIB:.1f} GiB at batch 1" in readme
    assert f"{estimated_peak(8) / GIB:.1f} GiB at batch 8" in readme


def test_free_cpu_memory_is_read_from_the_system():
    free = free_memory_bytes(torch.device("cpu"))
    total = Path("/proc/meminfo").read_text().split()[1] if Path("/proc/meminfo").exists() else 0
    assert free is not None and 0 < free
    if total:
        assert free <= int(total) * 1024


def test_aios_run_without_batch_size_takes_the_batch_the_memory_holds(tmp_path, monkeypatch):
    from aios_cli.main import cli
    from aios_core.errors import AiosError
    from aios_core.inference import predictor as model_predictor
    from aios_core.pipeline import run as pipeline_run
    from tests.synthetic_media import write_video

    given = []

    def stop(options, *_args, **_kwargs):
        given.append(options.batch_size)
        raise AiosError("stopped before inference")

    monkeypatch.setattr(batch_module, "free_memory_bytes", lambda device: 6 * GIB)
    monkeypatch.setattr(model_predictor, "load_network", lambda *args: (None, None))
    monkeypatch.setattr(model_predictor, "NetworkPredictor", lambda *args: None)
    monkeypatch.setattr(pipeline_run, "run_pipeline", stop)
    clip = write_video(tmp_path / "clip.mp4", 2)
    for arguments, expected in (([], batch_size_for_memory(6 * GIB)), (["--batch-size", "5"], 5)):
        result = CliRunner().invoke(cli, ["run", str(clip), "--device", "cpu", "--quiet",
                                          "--out", str(tmp_path / "r.npz"), *arguments])
        assert result.exit_code == 2 and "stopped before inference" in result.output
        assert given.pop() == expected
