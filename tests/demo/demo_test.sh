#!/bin/sh
# The training demos end to end (ctest demo.*, docs/training.md):
#   nan       a learning rate that blows up stops with the message below, exit 1
#   report    --log, --plot and --confusion: the CSV's columns and rows, the SVG
#             well-formed (parsed by Python's xml.etree) with its four curves
#   resume    stop after 20 steps, resume to 40: parameters and optimizer state
#             equal an uninterrupted 40-step run's bit for bit (Adam, momentum)
#   load      --load DIR --epochs 0 scores the saved parameters as the run that saved them
#   patience  --patience stops early, keeping the best epoch's parameters; a run
#             stopped one epoch before and resumed stops at the same epoch with the
#             same parameters (early stopping's state is in the checkpoint), and
#             --load carries the epochs without improvement over
#   export    --export: nablac compiles the classifier, a C program linked
#             with it alone predicts the trainer's classes for the 360 test images
# Usage: demo_test.sh BUILD_DIR SOURCE_DIR WORKDIR CASE
set -u
build=$1 source=$2 work=$3 case=$4
digits=$build/examples/train_digits cnn=$build/examples/train_cnn
py=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
fail() { echo "FAILED: $*"; exit 1; }

case $case in
nan)
  "$digits" --epochs 1 --lr 1e30 > out.txt 2> err.txt && fail "a diverging run exited 0: $(cat out.txt)"
  cat err.txt
  want=$($py "$source/tests/docs/doc_blocks.py" "$source" docs/training.md output demo.nan)
  [ "$(cat err.txt)" = "$want" ] || fail "expected '$want'"
  ;;
report)
  "$cnn" --epochs 3 --optimizer momentum --lr 0.05 --log log.csv --plot plot.svg --confusion > out.txt 2>&1 ||
    fail "$(cat out.txt)"
  [ "$(head -1 log.csv)" = "epoch,step,loss,train_accuracy,validation_loss,validation_accuracy,seconds" ] ||
    fail "CSV header: $(head -1 log.csv)"
  [ "$(tail -n +2 log.csv | cut -d, -f1 | tr '\n' ' ')" = "1 2 3 " ] || fail "CSV epochs: $(cat log.csv)"
  awk -F, 'NR > 1 && NF != 7 { bad = 1 } END { exit bad }' log.csv || fail "a CSV row without 7 columns: $(cat log.csv)"
  grep -q "^confusion matrix (360 test images; rows: true class, columns: predicted)" out.txt ||
    fail "no confusion matrix: $(cat out.txt)"
  $py - plot.svg <<'PY' || fail "plot.svg"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
lines = {p.get("id"): p.get("points").split() for p in root.iter(ns + "polyline")}
for curve in ("train_loss", "validation_loss", "train_accuracy", "validation_accuracy"):
    assert len(lines.get(curve, [])) == 3, (curve, lines.get(curve))
print("plot.svg: well-formed SVG with", len(lines), "curves of 3 points")
PY
  ;;
resume)
  for opt in adam momentum; do
    "$cnn" --optimizer $opt --batch 32 --steps 40 --save full.$opt > full.txt 2>&1 || fail "$(cat full.txt)"
    "$cnn" --optimizer $opt --batch 32 --steps 20 --save part.$opt > part1.txt 2>&1 || fail "$(cat part1.txt)"
    "$cnn" --optimizer $opt --batch 32 --steps 40 --resume part.$opt --save part.$opt > part2.txt 2>&1 ||
      fail "$(cat part2.txt)"
    n=0
    for f in full.$opt/step-40/*.npy; do
      cmp "$f" "part.$opt/step-40/$(basename "$f")" || fail "$opt: $(basename "$f") differs after resuming"
      n=$((n + 1))
    done
    echo "$opt: $n files (parameters, optimizer state, state.npy) equal after resuming"
  done
  "$cnn" --optimizer sgd --batch 32 --steps 40 --resume part.adam > wrong.txt 2>&1 && fail "resumed with another optimizer"
  grep -q "the checkpoint was made with --seed 1 --batch 32 --optimizer adam on 1 rank(s); resume with the same" \
    wrong.txt || fail "$(cat wrong.txt)"
  ;;
load)
  "$digits" --epochs 2 --save saved > first.txt 2>&1 || fail "$(cat first.txt)"
  "$digits" --epochs 0 --load saved > again.txt 2>&1 || fail "$(cat again.txt)"
  a=$(grep "^test:" first.txt) b=$(grep "^test:" again.txt)
  echo "$a"
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "'$a' then '$b'"
  ;;
patience)
  "$digits" --epochs 100 --lr 0.3 --patience 2 --log log.csv --save full > out.txt 2>&1 || fail "$(cat out.txt)"
  stop=$(grep "^early stop after epoch" out.txt) || fail "no early stop: $(cat out.txt)"
  echo "$stop"
  rows=$(($(wc -l < log.csv) - 1))
  [ "$rows" -lt 100 ] || fail "ran all $rows epochs"
  echo "$stop" | grep -q "^early stop after epoch $rows: the validation loss has not improved for 2 epochs; keeping the parameters of epoch $((rows - 2)) " ||
    fail "'$stop' after $rows epochs"
  # Stopped after epoch rows - 1 (one epoch without improvement), then resumed.
  "$digits" --epochs $((rows - 1)) --lr 0.3 --patience 2 --save part > part1.txt 2>&1 || fail "$(cat part1.txt)"
  "$digits" --epochs 100 --lr 0.3 --patience 2 --resume part --save part > part2.txt 2>&1 || fail "$(cat part2.txt)"
  grep -q "^early stopping goes on from part: best validation loss [0-9.]*, 1 epoch(s) without improvement$" part2.txt ||
    fail "no early stopping state after resuming: $(cat part2.txt)"
  [ "$(grep "^early stop after epoch" part2.txt)" = "$stop" ] || fail "resumed: $(cat part2.txt)"
  latest=$(cat full/LATEST)
  [ "$latest" = "$(cat part/LATEST)" ] || fail "full/$latest, part/$(cat part/LATEST)"
  n=0
  for f in full/$latest/*.npy; do
    cmp "$f" "part/$latest/$(basename "$f")" || fail "$(basename "$f") differs after resuming"
    n=$((n + 1))
  done
  echo "resumed one epoch before the stop: the same stop, and $n files equal (the best parameters, early_stopping.npy, ...)"
  "$digits" --epochs 1 --lr 0.3 --patience 2 --load part > load.txt 2>&1 || fail "$(cat load.txt)"
  grep -q "^early stopping goes on from part: best validation loss [0-9.]*, 2 epoch(s) without improvement$" load.txt ||
    fail "--load: $(cat load.txt)"
  ;;
export)
  "$digits" --epochs 3 --export ex --export-batch 360 > out.txt 2>&1 || fail "$(cat out.txt)"
  "$build/tools/nablac" ex/classifier.nabla --func classify -o model.o --header model.h --namespace ex > nablac.txt 2>&1 ||
    fail "nablac: $(cat nablac.txt)"
  cc -std=c11 -O1 -I"$source/tests/aot" -include model.h -DSIGNATURE=nabla_classify_signature \
    "$source/tests/aot/driver.c" model.o -lm -o classify > cc.txt 2>&1 || fail "cc: $(cat cc.txt)"
  ./classify ex/sample_images.npy . > run.txt 2>&1 || fail "the classifier: $(cat run.txt)"
  $py - <<'PY' || fail "the compiled classifier disagrees with the trainer"
import numpy as np
got, want = np.load("out1.npy"), np.load("ex/sample_predictions.npy")
assert got.shape == want.shape == (360,), (got.shape, want.shape)
assert (got == want).all(), np.nonzero(got != want)
print("the compiled classifier predicts the trainer's classes for all", len(want), "test images")
PY
  ;;
*) fail "unknown case $case" ;;
esac
