"""The GPU check's steps, each a subprocess with its own time limit, and one JSON report.

Run through bench/gpu/run.sh (which installs what the GPU machine lacks). Steps, in order:
  environment     torch, CUDA device, Triton, nvidia-smi
  correctness     pytest of the gpu-marked tests: Triton kernel vs PyTorch (forward/backward,
                  fp32/fp16/bf16), the network on CUDA vs CPU and bf16 vs fp32, training steps
  network_speed   bench/gpu/network_speed.py: precision x batch (x torch.compile), floor, profile
  end_to_end      bench/gpu/end_to_end.py: `aios run --render` frames/s, per stage, GPU busy
  deform_attn_op  bench/bench_deform_attn.py: the Triton kernel vs the PyTorch path, op alone
A failed or timed-out step is recorded and the next one starts; no step starts with less than
20 s of the wall-clock budget left. Output: OUT/report.json, OUT/log.txt, OUT/profile.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable


@dataclass(frozen=True)
class Step:
    name: str
    command: list[str]
    limit_s: float
    result_file: str | None = None  # JSON the step writes, merged into the report


def steps(work: Path, out: Path, dry: bool) -> list[Step]:
    tiny = ["--dry-run"] if dry else []
    gpu_tests = ["tests/test_triton_deform_attn.py", "tests/test_device_choice.py",
                 "tests/test_gpu_network.py", "tests/test_gpu_training.py"]
    return [
        Step("environment", [PY, "-c", ENVIRONMENT_PROBE], 60, "environment.json"),
        Step("correctness", [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m",
                             "gpu or not slow", f"--junitxml={work / 'junit.xml'}",
                             *gpu_tests], 170, None),
        Step("network_speed", [PY, "bench/gpu/network_speed.py", "--json",
                               str(work / "speed.json"), "--profile", str(out / "profile.txt"),
                               "--budget-s", "60" if dry else "150", *tiny], 200, "speed.json"),
        Step("end_to_end", [PY, "bench/gpu/end_to_end.py", "--json", str(work / "e2e.json"),
                            *tiny], 150, "e2e.json"),
        Step("deform_attn_op", [PY, "bench/bench_deform_attn.py", "--batches",
                                "1" if dry else "1,16", "--dtypes", "fp32" if dry else
                                "fp32,bf16", "--repeats", "1" if dry else "20", "--warmup",
                                "0" if dry else "3", "--out", str(work)], 60,
             "deform_attn_cpu.json" if dry else "deform_attn_cuda.json"),
    ]


ENVIRONMENT_PROBE = r"""
import json, shutil, subprocess, torch
info = {"torch": torch.__version__, "cuda_available": torch.cuda.is_available()}
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    info.update(device=p.name, multiprocessors=p.multi_processor_count,
                memory_gib=p.total_memory / 2**30, cuda=torch.version.cuda)
try:
    import triton
    info["triton"] = triton.__version__
except Exception as error:
    info["triton"] = f"unavailable: {error}"
if shutil.which("nvidia-smi"):
    info["nvidia_smi"] = subprocess.run(["nvidia-smi", "-L"], capture_output=True,
                                        text=True).stdout.strip()
import aios_core.device, cuda_ops
info["kernel"] = cuda_ops.kernel_unavailable_reason() or "Triton kernel usable"
json.dump(info, open("environment.json", "w"), indent=2)
print(json.dumps(info))
"""


def junit_counts(path: Path) -> dict:
    if not path.is_file():
        return {}
    root = ElementTree.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    counts["failed_tests"] = [case.get("name") for case in suite.iter("testcase")
                              if case.find("failure") is not None
                              or case.find("error") is not None]
    return counts


# The dry run checks that the steps work, not how fast: a loaded CPU machine gets room.
DRY_RUN_SLACK = 4


def run_step(step: Step, work: Path, log, deadline: float, dry: bool) -> dict:
    left = deadline - time.monotonic()
    if left < 20:
        return {"name": step.name, "status": "skipped", "reason": "wall-clock budget spent"}
    limit = min(step.limit_s * (DRY_RUN_SLACK if dry else 1), left)
    log.write(f"\n===== {step.name} (limit {limit:.0f} s): {' '.join(step.command)}\n")
    log.flush()
    started = time.monotonic()
    env = {**os.environ, "AIOS_GPU_REPORT": str(work / "parity.json")}
    try:
        done = subprocess.run(step.command, cwd=work if step.name == "environment" else REPO,
                              stdout=log, stderr=subprocess.STDOUT, timeout=limit, env=env)
        status = "passed" if done.returncode == 0 else "failed"
        rc: int | None = done.returncode
    except subprocess.TimeoutExpired:
        status, rc = "timeout", None
    row = {"name": step.name, "status": status, "rc": rc,
           "seconds": round(time.monotonic() - started, 1)}
    if step.result_file and (work / step.result_file).is_file():
        row["result"] = json.loads((work / step.result_file).read_text())
    if step.name == "correctness":
        row["result"] = {"tests": junit_counts(work / "junit.xml")}
        if (work / "parity.json").is_file():
            row["result"]["parity"] = json.loads((work / "parity.json").read_text())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes")
    parser.add_argument("--budget-s", type=float, default=480.0, help="wall-clock budget")
    parser.add_argument("--only", help="comma-separated step names")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    budget = args.budget_s * (DRY_RUN_SLACK if args.dry_run else 1)
    deadline = time.monotonic() + budget
    report = {"dry_run": args.dry_run, "started_unix": time.time(), "steps": []}
    with tempfile.TemporaryDirectory() as name, (args.out / "log.txt").open("a") as log:
        work = Path(name)
        for step in steps(work, args.out, args.dry_run):
            if args.only and step.name not in args.only.split(","):
                continue
            row = run_step(step, work, log, deadline, args.dry_run)
            report["steps"].append(row)
            (args.out / "report.json").write_text(json.dumps(report, indent=2))
            print(f"{row['name']:<15} {row['status']:<8} {row.get('seconds', 0):>7.1f} s",
                  flush=True)
    failed = [row["name"] for row in report["steps"] if row["status"] != "passed"]
    print(f"report: {args.out / 'report.json'}; not passed: {', '.join(failed) or 'none'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
