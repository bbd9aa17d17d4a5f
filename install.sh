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
    # `aios view` tests: headless chromium (WebGL in software, swiftshader) driven by Playwright.
    $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    "$PY" -m pip install "${AIOS_TORCH:-torch==2.13.0}"
fi
"$PY" -m pip install -e ".[dev,view]"
echo "aios installed. Check your set-up with: aios doctor"
