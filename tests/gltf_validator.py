"""Khronos' glTF-Validator (npm ``gltf-validator``, installed by install.sh into ``.node/``),
called through node: an independent check of every glb the exporters write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

NODE_PREFIX = Path(__file__).resolve().parents[1] / ".node"
_SCRIPT = """
const validator = require('gltf-validator');
const data = require('fs').readFileSync(process.argv[1]);
validator.validateBytes(new Uint8Array(data), {maxIssues: 200})
  .then(report => { console.log(JSON.stringify(report.issues)); })
  .catch(error => { console.error(String(error)); process.exit(3); });
"""


def validate_glb(path: Path) -> dict:
    """The validator's ``issues`` object: numErrors, numWarnings, ..., messages [{code, ...}].

    Fails (never skips) when node or the validator is missing: install.sh installs both."""
    node = shutil.which("node")
    module = NODE_PREFIX / "node_modules" / "gltf-validator"
    assert node and module.is_dir(), "gltf-validator missing: run ./install.sh (needs npm)"
    env = {**os.environ, "NODE_PATH": str(NODE_PREFIX / "node_modules")}
    done = subprocess.run([node, "-e", _SCRIPT, str(path)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def issue_codes(issues: dict, severities: tuple[int, ...] = (0, 1)) -> list[str]:
    """Codes of the messages at ``severities`` (0 error, 1 warning, 2 info, 3 hint)."""
    return sorted({m["code"] for m in issues["messages"] if m["severity"] in severities})
