#!/usr/bin/env bash
# The whole test suite, from a clean clone on a fresh Debian 12 machine:
# installs what is missing, builds (2 jobs), runs every test (GoogleTest, lit,
# examples), then does the same in a second build with ASan + UBSan, and runs
# the libFuzzer targets (tests/fuzz) for a bounded number of inputs in a third,
# built with clang-19 (docs/testing.md "Fuzzing").
#   scripts/test.sh            both builds
#   scripts/test.sh --no-asan  the normal build only (quicker, for development)
#   scripts/test.sh --fuzz     the fuzz build only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j2
  (cd "$dir" && ctest --output-on-failure -j2)
}

# The fuzz build: clang-19 (libFuzzer is clang's), ASan + UBSan, the parser's
# and the .npy reader's libraries with coverage instrumentation, and only the
# two fuzz targets built; ctest runs each for NABLA_FUZZ_RUNS seeded inputs.
fuzz_suite() {
  echo "== fuzz (libFuzzer, clang-19): $PWD/build-fuzz"
  local dir=build-fuzz
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DNABLA_FUZZ=ON -DNABLA_SANITIZE=ON -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_EXAMPLES=OFF -DNABLA_INSTALL=OFF \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
  cmake --build "$dir" -j2 --target nabla_fuzz_parse nabla_fuzz_npy
  (cd "$dir" && ctest --output-on-failure -j2)
}
if [[ "${1:-}" == "--fuzz" ]]; then
  fuzz_suite
  echo "== all tests passed"
  exit 0
fi

echo "== build and test: $PWD/build"
# -O2 with line tables only (-g1): a quarter less compile time than -g
# (docs/testing.md); stack traces still name FILE:LINE.
run_suite build -DNABLA_PCH=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
if [[ "${1:-}" != "--no-asan" ]]; then
  fuzz_suite
  echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer: $PWD/build-asan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # -O1 with line tables: half the compile time of -O2 -g under the
  # sanitizers, and reports still name FILE:LINE. The random-graph tests
  # check their first 200 graphs here (all 400 in the normal build).
  # Figures: docs/testing.md.
  export NABLA_RANDOM_GRAPHS=200
  run_suite build-asan -DNABLA_SANITIZE=ON -DNABLA_PCH=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
fi
echo "== all tests passed"
