#!/bin/sh
# train_digits under mpirun (ctest mpi.train_digits.*, docs/distributed.md):
#   resume  NP   stop after 10 steps, resume to 20: the parameters equal an
#                uninterrupted 20-step run's bit for bit
#   kill         rank 1 is killed mid-run: rank 0 exits non-zero within 30 s
#                of the kill, naming rank 1, and the last checkpoint is intact
#                (a run resumes from it). The start-up (compiling the step,
#                slow under ASan on a loaded machine) may take up to 90 s.
#   mismatch     the ranks compiled different steps: refused at start-up
# Usage: train_digits_test.sh MPIEXEC TRAIN_DIGITS WORKDIR CASE [NP]
set -u
mpiexec=$1 train=$2 work=$3 case=$4 np=${5:-2}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
run() { "$mpiexec" --oversubscribe "$@"; }
fail() { echo "FAILED: $*"; exit 1; }

case $case in
resume)
  run -np "$np" "$train" --batch 32 --steps 20 --save full > full.txt 2>&1 || fail "the 20-step run: $(cat full.txt)"
  run -np "$np" "$train" --batch 32 --steps 10 --save part > part1.txt 2>&1 || fail "the first 10 steps"
  run -np "$np" "$train" --batch 32 --steps 20 --resume part --save part > part2.txt 2>&1 || fail "the resumed run: $(cat part2.txt)"
  for f in full/step-20/*.npy; do
    cmp "$f" "part/step-20/$(basename "$f")" || fail "$(basename "$f") differs after resuming"
  done
  echo "resume on $np rank(s): the parameters equal the uninterrupted run's bit for bit"
  ;;
kill)
  # Each rank notes its pid and, at the end, its exit status (mpirun's own
  # is 0 under --enable-recovery); --enable-recovery keeps mpirun from ending
  # rank 0 itself, so that nabla's own timeout and message are what stop it.
  cat > rank.sh <<'SH'
#!/bin/sh
"$@" &
echo $! > "pid.$OMPI_COMM_WORLD_RANK"
wait $!
status=$?
echo $status > "status.$OMPI_COMM_WORLD_RANK"
exit $status
SH
  chmod +x rank.sh
  NABLA_MPI_TIMEOUT=5 run --enable-recovery -np 2 ./rank.sh "$train" --batch 32 --steps 100000000 \
    --save-every 50 --save ck > out.txt 2>&1 &
  job=$!
  i=0
  while [ ! -f ck/LATEST ] && [ $i -lt 900 ] && kill -0 $job 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  [ -f ck/LATEST ] || fail "no checkpoint after $((i / 10)) s: $(cat out.txt)"
  [ -f pid.1 ] && kill -0 "$(cat pid.1)" 2>/dev/null || fail "rank 1 is not running: $(cat out.txt)"
  start=$(date +%s)
  kill -9 "$(cat pid.1)"
  waited=0
  while kill -0 $job 2>/dev/null && [ $waited -lt 60 ]; do sleep 1; waited=$((waited + 1)); done
  kill -0 $job 2>/dev/null && { kill -9 $job; fail "mpirun still runs 60 s after rank 1 died"; }
  wait $job
  took=$(( $(date +%s) - start ))
  status=$(cat status.0 2>/dev/null)
  [ -n "$status" ] && [ "$status" -ne 0 ] || fail "rank 0 exited with status '$status' after rank 1 died"
  [ $took -le 30 ] || fail "took $took s to stop after the kill: $(cat out.txt)"
  grep -q "rank 1 has not been heard from" out.txt || fail "no message naming rank 1: $(cat out.txt)"
  step=$(cat ck/LATEST)
  last=${step#step-}
  run -np 2 "$train" --batch 32 --steps $((last + 5)) --resume ck > resumed.txt 2>&1 ||
    fail "the last checkpoint ($step) does not resume: $(cat resumed.txt)"
  grep "rank 1 has not been heard from" out.txt
  echo "killed rank 1: rank 0 stopped in $took s with status $status; $step resumes"
  ;;
mismatch)
  run -np 1 "$train" --batch 32 --steps 5 : -np 1 "$train" --batch 16 --steps 5 > out.txt 2>&1 &&
    fail "ranks with different steps were accepted"
  grep -q "rank 1 compiled a different step than rank 0" out.txt || fail "no clear message: $(cat out.txt)"
  grep "compiled a different step" out.txt | head -1
  ;;
esac
