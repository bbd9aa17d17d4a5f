"""`aios batch --ray` on real local Ray clusters: the same outputs as the embedded mode, and a
node that dies mid-batch loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from aios_cli.main import cli
from aios_core.batch.inputs import plan_clips
from aios_core.batch.jobs import BatchSettings
from aios_core.batch.manifest import MANIFEST_NAME
from aios_core.batch.runner import Batch, EngineOptions
from tests.batch_clips import (
    COMMON_OPTIONS,
    assert_same_results,
    leftover_temporary_files,
    private_ray_head,
    subprocess_environment,
    tiny_checkpoint,
    write_clip_tree,
)

ray = pytest.importorskip("ray", reason="pip install -e '.[ray]'") if not os.environ.get(
    "CI") else __import__("ray")  # in CI a missing Ray is a failure, not a skip

pytestmark = pytest.mark.ray
OBJECT_STORE_BYTES = 80 * 1024**2
CLIPS = {"a.mp4": 3, "sub/b.mp4": 4, "sub/c.mp4": 2, "d.mp4": 3}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray_batch")
    return write_clip_tree(root / "clips", CLIPS), tiny_checkpoint(root)


@pytest.fixture
def ray_temp_dir():
    # Ray's socket paths must stay short, and each cluster gets its own folder.
    folder = tempfile.mkdtemp(prefix="aiosray")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def head_node():
    with private_ray_head(num_cpus=2, object_store_bytes=OBJECT_STORE_BYTES) as address:
        yield address


def _records(out_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (out_dir / MANIFEST_NAME).read_text().splitlines()]


def test_ray_outputs_equal_the_embedded_mode_bit_for_bit(workspace, head_node, tmp_path):
    clips, checkpoint = workspace
    common = [str(clips), "--checkpoint", str(checkpoint), "--workers", "2", *COMMON_OPTIONS]
    embedded = CliRunner().invoke(cli, ["batch", *common, "--out", str(tmp_path / "embedded")])
    assert embedded.exit_code == 0, embedded.output
    on_ray = CliRunner().invoke(cli, ["batch", *common, "--out", str(tmp_path / "ray"),
                                      "--ray", head_node])
    assert on_ray.exit_code == 0, on_ray.output
    records = _records(tmp_path / "ray")
    assert sorted(Path(r["input"]).name for r in records) == sorted(Path(c).name for c in CLIPS)
    assert {r["worker"] for r in records} <= {"ray worker 0", "ray worker 1"}
    for relative in CLIPS:
        stem = relative.removesuffix(".mp4")
        assert_same_results(tmp_path / "ray" / f"{stem}.aios.npz",
                            tmp_path / "embedded" / f"{stem}.aios.npz")


def test_a_node_killed_mid_batch_loses_and_duplicates_no_clip(workspace, ray_temp_dir,
                                                              tmp_path, monkeypatch):
    from ray.cluster_utils import Cluster

    clips, checkpoint = workspace
    monkeypatch.setenv("PYTHONPATH", subprocess_environment()["PYTHONPATH"])
    monkeypatch.setenv("RAY_TMPDIR", ray_temp_dir)  # where Cluster notes its address
    (Path(ray_temp_dir) / "ray").mkdir()
    node_args = {"num_cpus": 1, "object_store_memory": OBJECT_STORE_BYTES,
                 "temp_dir": str(Path(ray_temp_dir) / "ray")}
    # One CPU a node and one per worker: one worker on each node.
    cluster = Cluster(initialize_head=True, head_node_args={**node_args,
                                                            "include_dashboard": False})
    doomed = cluster.add_node(**node_args)
    killed = []

    def kill_the_node_after_the_first_clip(record):
        commit(record)
        if not killed:
            cluster.remove_node(doomed, allow_graceful=False)  # as a machine losing power
            killed.append(record.input)
            cluster.add_node(**node_args)  # the replacement machine joins

    try:
        settings = BatchSettings(checkpoint=str(checkpoint), device="cpu", threshold=0.0,
                                 batch_size=2, num_people=2)
        run = Batch(plan_clips([clips]), tmp_path / "out", settings)
        commit = run.progress.on_record
        run.progress.on_record = kill_the_node_after_the_first_clip
        progress = run.run(EngineOptions(ray_address=cluster.address, workers=2,
                                                   cpus_per_worker=1))
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert killed and progress.failed == 0 and progress.done == len(CLIPS)
    records = _records(tmp_path / "out")
    assert sorted(r["input"] for r in records) == sorted(str((clips / c).resolve())
                                                         for c in CLIPS)  # each exactly once
    assert {r["status"] for r in records} == {"done"}
    assert not list((tmp_path / "out").rglob("*.partial.npz"))
    assert not leftover_temporary_files(tmp_path / "out")
    # Every clip, wherever and however often it ran, has the results of one clean run.
    reference = tmp_path / "reference"
    result = CliRunner().invoke(cli, ["batch", str(clips), "--out", str(reference),
                                      "--checkpoint", str(checkpoint), "--workers", "1",
                                      *COMMON_OPTIONS])
    assert result.exit_code == 0, result.output
    for relative in CLIPS:
        stem = relative.removesuffix(".mp4")
        assert_same_results(tmp_path / "out" / f"{stem}.aios.npz",
                            reference / f"{stem}.aios.npz")
