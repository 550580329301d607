#!/usr/bin/env bash
# Installs nabla's build and test dependencies from Debian bookworm packages.
# Idempotent and quiet when everything is already present.
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --bench  also the benchmark baselines (oneDNN, PyTorch, ADOL-C)
set -euo pipefail

packages=(cmake make g++ python3 llvm-19-dev llvm-19-tools libfmt-dev libgtest-dev
          libgmock-dev libbenchmark-dev graphviz binutils-aarch64-linux-gnu
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
          gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
          libopenmpi-dev openmpi-bin
          zlib1g-dev  # the training demos read MNIST's gzipped IDX files (docs/training.md)
          clang-19 libclang-rt-19-dev  # libFuzzer (clang's) for tests/fuzz
          ninja-build)  # scripts/test.sh builds with Ninja
# --bench: the baselines; OpenBLAS gives PyTorch a real BLAS for lstm_bench
# (Debian's python3-torch otherwise calls the reference libblas.so.3).
if [[ "${1:-}" == "--bench" ]]; then packages+=(libdnnl-dev python3-torch libadolc-dev libopenblas0-pthread); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
