#!/usr/bin/env bash
# Builds and runs examples/consumer as a user of nabla would (docs/install.md):
#   consumer_test.sh install SRC BUILD [LAUNCHER]
#     installs BUILD into a prefix and builds the consumer with find_package;
#   consumer_test.sh add_subdirectory SRC BUILD [LAUNCHER [PCH]]
#     builds the consumer with nabla's source tree added as a subdirectory,
#     and checks that nabla left no compile flag on the consumer's own code
#     and looked for neither GoogleTest nor Python.
# The consumer's build directory stays under BUILD/tests/package, so a rerun
# only rebuilds what changed. LAUNCHER (e.g. ccache) is the compiler launcher.
# PCH (ON or OFF, the parent build's NABLA_PCH) is handed to the subproject as
# NABLA_PCH: the test command's clean builds precompile nabla's headers there
# too (a quarter off its compile time, docs/testing.md), an engineer's build
# (PCH off) keeps ccache.
set -euo pipefail
mode=$1 src=$2 build=$3 launcher=${4:-} pch=${5:-OFF}
work=$build/tests/package/$mode
args=(-DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
[[ -n "$launcher" ]] && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher" -DCMAKE_C_COMPILER_LAUNCHER="$launcher")
mkdir -p "$work"
case $mode in
  install)
    rm -rf "$work/prefix"
    cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
      { cat "$work/install.log"; exit 1; }
    args+=(-DCMAKE_PREFIX_PATH="$work/prefix")
    ;;
  add_subdirectory)
    args+=(-DNABLA_SOURCE_DIR="$src" -DNABLA_PCH="$pch")
    ;;
  *) echo "consumer_test.sh: unknown mode '$mode'" >&2; exit 2 ;;
esac
cmake -S "$src/examples/consumer" -B "$work/build" "${args[@]}" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" --target consumer -j2 >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/build/consumer" >"$work/output.txt" || { cat "$work/output.txt"; exit 1; }
cat "$work/output.txt"
# The output shown in docs/install.md.
blocks=$src/tests/docs/doc_blocks.py
diff -u <(python3 "$blocks" "$src" docs/install.md output examples/consumer) "$work/output.txt"

if [[ $mode == install ]]; then
  # docs/install.md's commands without CMake, on a copy of the consumer.
  plain=$work/plain
  rm -rf "$plain" && mkdir -p "$plain"
  cp "$src/examples/consumer/main.cpp" "$src/examples/consumer/model.nabla" "$plain"
  python3 "$blocks" "$src" docs/install.md run tests/package/consumer_test.sh |
    sed "s|^P=.*|P=$work/prefix|" >"$plain/commands.sh"
  (cd "$plain" && bash -e commands.sh >"$plain/output.txt" 2>&1) || { cat "$plain/output.txt"; exit 1; }
  diff -u "$work/output.txt" "$plain/output.txt"
  echo "the link line of docs/install.md builds the same program"
fi

if [[ $mode == add_subdirectory ]]; then
  # The consumer's own source compiles with the consumer's flags only (C++20
  # comes from nabla's targets, as a requirement of its headers).
  command=$(python3 -c 'import json, sys
for e in json.load(open(sys.argv[1])):
    if e["file"].endswith("consumer/main.cpp"): print(e["command"])' "$work/build/compile_commands.json")
  for flag in -Wall -Wextra -fsanitize -D_GNU_SOURCE -D__STDC_ llvm-19; do
    if [[ $command == *"$flag"* ]]; then
      echo "error: nabla's '$flag' reached the consumer's main.cpp: $command" >&2
      exit 1
    fi
  done
  for var in GTest_DIR GTEST_INCLUDE_DIR Python3_EXECUTABLE; do
    if grep -q "^$var:" "$work/build/CMakeCache.txt"; then
      echo "error: adding nabla looked for $var (tests are off in a subproject)" >&2
      exit 1
    fi
  done
  echo "no flag of nabla on the consumer's code; no GoogleTest, no Python"
fi
