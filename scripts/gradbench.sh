#!/usr/bin/env bash
# nabla on GradBench (docs/gradbench.md): runs each of the 12 evals against
# nabla-gradbench, `manual` (hand-derived derivatives, g++ -O3), `adol-c` and,
# where it implements the eval, `pytorch` (Debian's python3-torch; upstream's
# tools/pytorch/evals.txt marks ba "error" and ht "timeout", so not those);
# particle and saddle against `finite` (finite differences: GradBench has no
# manual or ADOL-C for them). One tool after the other in the same run,
# single-threaded; one table per eval (compare.py: mean evaluate time per
# function and input, with each tool's ratio to the first; `prepare` is
# nabla's compile time).
#   scripts/gradbench.sh                 the sizes of issue 18
#   scripts/gradbench.sh --quick         the smallest size of each eval
#   EVALS="lse llsq" scripts/gradbench.sh
#   OUT=/tmp/gb EVALS=ba scripts/gradbench.sh   results into /tmp/gb (one
#                                eval at a time, into one directory)
#   OUT=/tmp/gb EVALS=ht SIZES="--min 7 --max 11" PART=.2 scripts/gradbench.sh
#                                other sizes for the one eval of EVALS, into
#                                ht.2-TOOL.json (gradbench_summary.py merges
#                                the parts of an eval)
#   NABLA_GRADBENCH=/tmp/nabla-gradbench-abc123 scripts/gradbench.sh
#                                measure that binary (a copy, so that the
#                                worktree can change meanwhile) and build none
# Sets up ../shared/gradbench (setup.sh: Debian packages, manual and adol-c)
# when it is not yet, and builds nabla-gradbench in build/. Run it on a quiet
# machine (through /work/team/nbuild here).
set -euo pipefail
cd "$(dirname "$0")/.."
GB=${GRADBENCH_DIR:-$(cd .. && pwd)/shared/gradbench}
GB_REPO=${GB_REPO:-$HOME/.cache/gradbench}
EVALS=${EVALS:-hello lse llsq gmm kmeans ode det lstm ba ht particle saddle}
TOOLS=${TOOLS:-manual nabla adol-c pytorch}
RUNS=(--min-runs 3 --min-seconds 0.3)
quick=${1:-}

sizes() {
  [ -n "${SIZES:-}" ] && { echo "$SIZES"; return; }
  case "$1:$quick" in
    hello:*) echo "" ;;
    lse:--quick) echo "-n 2500" ;;
    lse:*) echo "-n 2500 100000 1280000" ;;
    llsq:--quick) echo "-n 16 -m 128" ;;
    llsq:*) echo "-n 16 1024 16392 -m 128" ;;
    gmm:--quick) echo "-d 2 -k 5 -n 1000" ;;
    gmm:*) echo "-d 2 10 20 32 64 -k 5 10 25 50 -n 1000" ;;
    kmeans:--quick) echo "-k 10 -n 1000 -d 8" ;;
    kmeans:*) echo "-k 10 100 1000 -n 1000 10000 -d 8 16" ;;
    ode:--quick) echo "-n 1000 -s 10" ;;
    ode:*) echo "-n 1000 10000 -s 1 10 100" ;;
    det:--quick) echo "-l 5" ;;
    det:*) echo "-l 5 7 9 11" ;;
    lstm:--quick) echo "-l 2 -c 1024" ;;
    lstm:*) echo "-l 2 4 -c 1024 4096" ;;
    ba:--quick) echo "--min 1 --max 1" ;;
    ba:*) echo "--min 1 --max 10" ;;
    ht:--quick) echo "--min 1 --max 1" ;;
    ht:*) echo "--min 1 --max 11" ;;   # the 12th inputs are not in the snapshot
    particle:* | saddle:*) echo "" ;;
  esac
}

# The tools of TOOLS that implement the eval.
tools_for() {
  case "$1" in
    particle | saddle) echo "finite nabla"; return ;;
  esac
  for tool in $TOOLS; do
    [ "$tool" = pytorch ] && ! grep -qx "$1" "$GB_REPO/tools/pytorch/evals.txt" 2>/dev/null && continue
    [ "$tool" = pytorch ] && ! /usr/bin/python3 -c 'import torch' 2>/dev/null && continue
    echo -n "$tool "
  done
}

[ -x "$GB_REPO/tools/manual/bin/gmm" ] && [ -x "$GB_REPO/tools/adol-c/bin/gmm" ] || NO_TORCH=1 "$GB/setup.sh"
[ -d build ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ -n "${NABLA_GRADBENCH:-}" ]; then
  tool_nabla="\$ $(realpath "$NABLA_GRADBENCH")"
else
  cmake --build build -j2 --target nabla-gradbench
  tool_nabla="\$ $(pwd)/build/tools/nabla-gradbench"
fi
out=${OUT:-$(mktemp -d /tmp/gradbench.XXXXXX)}
mkdir -p "$out"
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); results in $out"
status=0
for eval in $EVALS; do
  jsons=()
  for tool in $(tools_for "$eval"); do
    spec=$tool
    [ "$tool" = nabla ] && spec=$tool_nabla
    # shellcheck disable=SC2046
    "$GB/run.sh" "$eval" "$spec" $(sizes "$eval") "${RUNS[@]}" --json "$out/$eval${PART:-}-$tool.json" \
      >"$out/$eval${PART:-}-$tool.log" 2>&1 || { echo "$eval $tool: exit $? (see $out/$eval${PART:-}-$tool.log)"; status=1; }
    [ -s "$out/$eval${PART:-}-$tool.json" ] && jsons+=("$out/$eval${PART:-}-$tool.json")
  done
  echo "== $eval $(sizes "$eval")"
  "$GB/compare.py" "${jsons[@]}"
  "$GB/compare.py" --outcomes "${jsons[@]}"
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
