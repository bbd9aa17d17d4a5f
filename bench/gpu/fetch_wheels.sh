#!/usr/bin/env bash
# Run HERE (a machine with PyPI and Debian's archive), once, before bench/gpu/run.sh is sent to
# the GPU machine, which has no network. It fills two git-ignored folders at the repo root:
#   .whl/  wheels for Python 3.12 of what aios needs beyond that machine's image
#          (its image already has torch, triton, numpy, scipy, opencv, click, rich, tqdm, pillow,
#          networkx, imageio, six, pytest)
#   .gl/   Debian packages of the GL vendor-neutral loaders (libglvnd) so that pyrender finds
#          NVIDIA's EGL there
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo '/.gl/' >> .git/info/exclude
rm -rf .whl && mkdir -p .whl
# One version of each, pinned to what was tested here; --no-deps, so every need is named.
WHEELS=(
    smplx==0.1.28 av==18.1.0 trimesh==5.2.0 pyrender==0.1.45
    freetype-py==2.5.1 pyglet==2.1.19 pygltflib==1.16.5 dataclasses-json==0.6.7
    deprecated==1.3.1 marshmallow==3.26.2 typing-inspect==0.9.0 mypy-extensions==1.1.0
)
for wheel in "${WHEELS[@]}"; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --abi cp312 --abi abi3 --abi none \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform any -d .whl "$wheel"
done
# pyrender pins PyOpenGL 3.1.0, which PyPI has only as a (pure-Python) source archive.
python3 -m pip download -q --no-deps --no-binary=:all: -d .whl PyOpenGL==3.1.0
rm -rf .gl && mkdir -p .gl /tmp/amd64/partial
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${apt_opts[@]}" update -qq
(cd .gl && apt-get "${apt_opts[@]}" download -qq libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .whl .gl
