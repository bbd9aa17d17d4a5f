"""The prepared GPU check (bench/gpu/run.sh) runs end to end on CPU with --dry-run.

This is what makes a lent GPU's 15 minutes safe to spend: every step's script, its report
fields and the orchestration (time limits, a failed step not stopping the others) are
exercised here on tiny sizes, so the device run only measures.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_dry_run_passes_every_step_and_reports_their_numbers(tmp_path) -> None:
    env = {**os.environ, "OUT": str(tmp_path)}
    done = subprocess.run(["bash", str(REPO / "bench" / "gpu" / "run.sh"), "--dry-run"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    log = (tmp_path / "log.txt").read_text() if (tmp_path / "log.txt").exists() else ""
    assert done.returncode == 0, done.stdout + done.stderr + log[-4000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["dry_run"] is True
    steps = {row["name"]: row for row in report["steps"]}
    assert list(steps) == ["environment", "correctness", "network_speed", "end_to_end",
                           "deform_attn_op"]
    assert all(row["status"] == "passed" for row in steps.values()), steps

    tests = steps["correctness"]["result"]["tests"]
    assert tests["tests"] > 0 and tests["failures"] == tests["errors"] == 0

    speed = steps["network_speed"]["result"]["runs"]
    timed = {(row["precision"], row["batch"]) for row in speed if "median_ms_per_image" in row}
    assert timed == {("fp32", 1), ("fp32", 2), ("bf16", 1), ("bf16", 2)}
    assert all(row["median_ms_per_image"] > 0 for row in speed if "median_ms_per_image" in row)
    assert steps["network_speed"]["result"]["profile_top_kernels"]
    assert (tmp_path / "profile.txt").read_text().strip()

    runs = steps["end_to_end"]["result"]["runs"]
    assert [row["batch"] for row in runs] == [1, 2]
    for row in runs:
        assert row["rc"] == 0 and row["frames"] == 6 and row["fps_overall"] > 0
        assert {"inference", "render"} <= set(row["stage_fps"])

    op = steps["deform_attn_op"]["result"]["runs"]
    assert {row["call"] for row in op} == {"encoder", "decoder"}
    assert all(row["pytorch_forward_s"] > 0 for row in op)
