#!/usr/bin/env bash
# Installs everything aios and its tests need on a fresh Debian/Ubuntu machine.
#   AIOS_TORCH        torch requirement to install when torch is missing (default torch==2.13.0).
#                     From PyPI that is, on Linux x86_64, the CUDA 13 build with its nvidia-*
#                     wheels (a few GB), GPU or not; on macOS and Windows a build without CUDA.
#   AIOS_TORCH_INDEX  package index to take torch from, e.g. the CPU-only build:
#                     AIOS_TORCH_INDEX=https://download.pytorch.org/whl/cpu ./install.sh
#                     (or .../whl/cuXYZ for another CUDA version; see pytorch.org).
set -euo pipefail
cd "$(dirname "$0")"

# Headless rendering: pyrender draws through EGL on Mesa (llvmpipe on CPU-only machines).
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends libegl1 libegl-mesa0 libgl1 libgles2 >/dev/null
    # `aios view` tests: headless chromium (WebGL in software, swiftshader) driven by Playwright.
    $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    if [ -n "${AIOS_TORCH_INDEX:-}" ]; then
        "$PY" -m pip install --index-url "$AIOS_TORCH_INDEX" "${AIOS_TORCH:-torch==2.13.0}"
    else
        "$PY" -m pip install "${AIOS_TORCH:-torch==2.13.0}"
    fi
fi
"$PY" -m pip install -e ".[dev,ray,view]"   # ray: `aios batch --ray`; view: `aios view`
# Tests check every glb with Khronos' glTF-Validator (npm), installed into .node/ (git-ignored).
if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if command -v npm >/dev/null 2>&1; then
    npm install --silent --no-audit --no-fund --prefix .node gltf-validator@2.0.0-dev.3.10
else
    echo "warning: npm not found: the glTF validator (and its tests) are not installed" >&2
fi
echo "aios installed. Check your set-up with: aios doctor"
