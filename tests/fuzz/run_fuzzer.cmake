# cmake -DFUZZER=EXE -DRUNS=N -DWORK=DIR -DSEEDS=dir;dir -P run_fuzzer.cmake
# Runs a libFuzzer target for RUNS inputs with a fixed seed, starting from the
# seed directories (read only: new inputs go to WORK/corpus, emptied first, so
# that every run is the same run). A crash, a leak, an input slower than 10 s
# or over 2 GB fails the test; libFuzzer then leaves the input in WORK/ as
# crash-*, leak-*, timeout-* or oom-*: after the fix it belongs in
# tests/fuzz-corpus/.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
execute_process(
  COMMAND ${FUZZER} -runs=${RUNS} -seed=1 -max_len=4096 -timeout=10 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix=${WORK}/ ${WORK}/corpus ${SEEDS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); the input is in ${WORK}/")
endif()
