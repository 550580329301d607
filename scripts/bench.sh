#!/usr/bin/env bash
# Builds and runs every benchmark in bench/ against its baselines (oneDNN, from
# Debian's libdnnl-dev, installed here by setup.sh --bench). Each program
# prints a table of medians and ratios measured side by side in the same run.
#   scripts/bench.sh            everything
#   scripts/bench.sh --quick    fewer repetitions
# Run it on a quiet machine: other work on the same cores skews both columns.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNABLA_BENCH=ON >/dev/null
cmake --build build-bench -j2 --target nabla_benchmarks
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for b in $(cat build-bench/bench/benchmarks.txt); do
  echo "== $b"
  "build-bench/bench/$b" "$@"
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
