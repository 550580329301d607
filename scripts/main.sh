#!/usr/bin/env bash
# The main job, from a clean clone on a fresh Debian 12 machine: installs what
# is missing, builds (2 jobs), then verifies, prints and runs the lecture's MLP.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
echo "== the lecture's MLP, verified and printed (build/tools/nabla-opt examples/mlp.nabla)"
build/tools/nabla-opt examples/mlp.nabla
echo "== evaluated by the reference interpreter on random inputs"
build/tools/nabla-run examples/mlp.nabla --interpret --random-inputs 1
