#!/usr/bin/env bash
# The main job, from a clean clone on a fresh Debian 12 machine: installs what
# is missing, builds (2 jobs), and trains the lecture's MLP on the digits data
# set with a training step that nabla differentiates, optimizes and JIT-compiles.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
build/examples/train_digits "$@"
