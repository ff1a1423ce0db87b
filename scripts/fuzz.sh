#!/bin/sh
# Builds the libFuzzer harnesses (tests/fuzz) with clang, ASan and UBSan in their own build
# directory and runs each for SECONDS_PER_HARNESS (default 30) from its seed corpus. Fails on
# any crash, leak, UBSan report, timeout or out-of-memory. Installs nothing: scripts/setup.sh
# installs clang and libFuzzer's runtime. docs/fuzzing.md says how to run them longer.
# Environment: BUILD_DIR (default ./build-fuzz), FUZZ_JOBS (parallel runs per harness, default
# 1), HARNESSES (default all), FUZZ_ARGS (more libFuzzer options), FUZZ_WORK (where new inputs
# and crash files go, default $BUILD_DIR/fuzz-work).
set -eu
cd "$(dirname "$0")/.."
SECONDS_PER_HARNESS=${1:-30}
BUILD_DIR=${BUILD_DIR:-build-fuzz}
FUZZ_JOBS=${FUZZ_JOBS:-1}
HARNESSES=${HARNESSES:-framing dispatch encode mi_config sim_config}
FUZZ_WORK=${FUZZ_WORK:-$BUILD_DIR/fuzz-work}

targets=""
for h in $HARNESSES; do targets="$targets fuzz_$h"; done
CC=clang cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNR_FUZZ=ON -DNR_TESTS=OFF \
  >/dev/null
# shellcheck disable=SC2086 # one word per target
cmake --build "$BUILD_DIR" -j 2 --target $targets

# Every report is fatal; leaks are checked after each input.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
parallel=""
[ "$FUZZ_JOBS" -gt 1 ] && parallel="-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS"
failed=""
for h in $HARNESSES; do
  work="$FUZZ_WORK/$h"
  mkdir -p "$work/new" "$work/artifacts"
  log="$work/fuzz.log"
  dict=""
  [ -f "tests/fuzz/$h.dict" ] && dict="-dict=tests/fuzz/$h.dict"
  echo "fuzz: $h for ${SECONDS_PER_HARNESS}s ($FUZZ_JOBS job(s)), log $log"
  # New inputs go to a scratch corpus first, so the committed seeds stay as they are.
  # shellcheck disable=SC2086 # dict, parallel and FUZZ_ARGS hold several words on purpose
  if "$BUILD_DIR/tests/fuzz/fuzz_$h" "$work/new" "tests/fuzz/corpus/$h" \
      -max_total_time="$SECONDS_PER_HARNESS" -timeout=25 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
      $dict $parallel ${FUZZ_ARGS:-} >"$log" 2>&1; then
    grep -h -E "^stat::(number_of_executed_units|average_exec_per_sec)" "$log" "$work"/fuzz-*.log \
      2>/dev/null | sed "s/^/fuzz: $h /" || true
  else
    echo "fuzz: $h FAILED; inputs in $work/artifacts; end of log:" >&2
    tail -n 40 "$log" >&2
    for f in "$work"/fuzz-*.log; do [ -f "$f" ] && tail -n 40 "$f" >&2; done
    failed="$failed $h"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz: failed:$failed" >&2
  exit 1
fi
echo "fuzz: all harnesses clean"
