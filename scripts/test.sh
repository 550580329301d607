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
start=$SECONDS
scripts/setup.sh
# Each phase's wall time, printed as it ends and again at the end
# (docs/testing.md "Budget").
times=("$(printf '%-26s %5d s' setup $((SECONDS - start)))")
timed() {
  local name=$1 t0=$SECONDS; shift
  "$@"
  times+=("$(printf '%-26s %5d s' "$name" $((SECONDS - t0)))")
  echo "== $name: $((SECONDS - t0)) s"
}
# Ninja (scripts/setup.sh): it compiles a target's files while the libraries
# it links are still being built, where make waits for each library first. A
# build directory that has a generator already keeps it.
[[ -z "${CMAKE_GENERATOR:-}" ]] && command -v ninja >/dev/null && export CMAKE_GENERATOR=Ninja

run_suite() {
  local dir=$1; shift
  timed "build $dir" build_dir "$dir" "$@"
  timed "ctest $dir" run_ctest "$dir"
}
run_ctest() { (cd "$1" && ctest --output-on-failure -j2); }
build_dir() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j2
}
summary() {
  printf '%s\n' "${times[@]}"
  printf '%-26s %5d s\n' total $((SECONDS - start))
}

# The fuzz build: clang-19 (libFuzzer is clang's), ASan + UBSan, the parser's
# and the .npy reader's libraries with coverage instrumentation, and only the
# two fuzz targets built; ctest runs each for NABLA_FUZZ_RUNS seeded inputs.
fuzz_suite() {
  echo "== fuzz (libFuzzer, clang-19): $PWD/build-fuzz"
  local dir=build-fuzz
  timed "build $dir" build_fuzz "$dir"
  timed "ctest $dir" run_ctest "$dir"
}
build_fuzz() {
  local dir=$1
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DNABLA_FUZZ=ON -DNABLA_SANITIZE=ON -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_EXAMPLES=OFF -DNABLA_INSTALL=OFF \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
  cmake --build "$dir" -j2 --target nabla_fuzz_parse nabla_fuzz_npy
}
if [[ "${1:-}" == "--fuzz" ]]; then
  fuzz_suite
  summary
  echo "== all tests passed"
  exit 0
fi

echo "== build and test: $PWD/build"
# -O2 with line tables only (-g1): a quarter less compile time than -g
# (docs/testing.md); stack traces still name FILE:LINE. The test programs'
# own files (half the compile time) at -O1 (NABLA_TEST_FLAGS); the
# libraries, tools and examples they test keep -O2. The unit tests' files
# compiled eight to a translation unit in both builds (NABLA_UNITY_TESTS:
# half their compile time).
run_suite build -DNABLA_PCH=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DNABLA_TEST_FLAGS=-O1 -DNABLA_UNITY_TESTS=ON
if [[ "${1:-}" != "--no-asan" ]]; then
  fuzz_suite
  echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer: $PWD/build-asan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # -O1 with line tables: half the compile time of -O2 -g under the
  # sanitizers, and reports still name FILE:LINE. The random-graph tests
  # check their first 200 graphs here (all 400 in the normal build).
  # The unit tests run as 24 processes (GoogleTest's shards), not one per
  # test: an ASan process takes 0.4 s to start and end. Figures: docs/testing.md.
  export NABLA_RANDOM_GRAPHS=200
  # clang-19 (as the fuzz build): 327-344 s against 566 s with g++-12. The
  # test programs' own files without line tables (-g0: the same code, 13%
  # less compile time; a report in them names the function, the libraries'
  # frames keep FILE:LINE). At -O0 they made the tests slower (docs/testing.md).
  run_suite build-asan -DNABLA_SANITIZE=ON -DNABLA_PCH=ON -DNABLA_TEST_SHARDS=24 -DNABLA_TEST_FLAGS=-g0 -DNABLA_UNITY_TESTS=ON \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
fi
summary
echo "== all tests passed"
