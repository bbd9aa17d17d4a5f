#!/usr/bin/env bash
# Installs everything aios and its tests need on a fresh Debian/Ubuntu machine.
#   AIOS_TORCH   torch requirement to install (default: the CPU build torch==2.13.0;
#                GPU users: AIOS_TORCH="torch" ./install.sh, or install torch first).
set -euo pipefail
cd "$(dirname "$0")"

# Headless rendering: pyrender draws through EGL on Mesa (llvmpipe on CPU-only machines).
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends libegl1 libegl-mesa0 libgl1 libgles2 >/dev/null
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    "$PY" -m pip install "${AIOS_TORCH:-torch==2.13.0}"
fi
"$PY" -m pip install -e ".[dev]"
# Tests check every glb with Khronos' glTF-Validator (npm), installed into .node/ (git-ignored).
if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
npm install --silent --no-audit --no-fund --prefix .node gltf-validator@2.0.0-dev.3.10
echo "aios installed. Check your set-up with: aios doctor"
