#!/usr/bin/env bash
# The one command of a GPU check (issue: the main job fast on one H200), for the `device` tool:
#     bench/gpu/run.sh              on the GPU machine; carry .whl and .gl (bench/gpu/fetch_wheels.sh)
#     bench/gpu/run.sh --dry-run    here, on CPU, tiny sizes: the same steps, a minute or two
# Writes $OUT/report.json (every step's status and numbers) and $OUT/log.txt; keeps going after
# a failed step and stops starting new ones near its wall-clock budget (8 minutes).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
if [ "${1:-}" != "--dry-run" ]; then
    # GL loaders for NVIDIA's EGL, then the wheels the image lacks (no network there).
    if [ -d .gl ]; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    if [ -d .whl ]; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --no-build-isolation --target /tmp/site .whl/* >>"$OUT/log.txt" 2>&1 \
            || echo "wheel install failed (see log.txt)" >&2
        export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
    fi
    export PYOPENGL_PLATFORM=egl
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec python3 bench/gpu/device_check.py --out "$OUT" "$@"
