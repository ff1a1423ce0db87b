#!/bin/sh
# Runs part of the integration suite with every daemon under valgrind's memcheck: protocol,
# server, methods and hostile clients (override with TESTS). A daemon that exits with an
# error or a definite or indirect leak exits 99, which the tests' daemon fixture fails on;
# then every valgrind log is checked, so daemons the tests stop or kill themselves count too.
# Builds the default build (BUILD_DIR, default ./build, RelWithDebInfo); installs nothing
# (scripts/setup.sh installs valgrind). Logs: $BUILD_DIR/valgrind/. PYTEST_ARGS: more pytest
# options (e.g. --durations=20).
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
TESTS=${TESTS:-tests/integration/test_protocol.py tests/integration/test_server.py
  tests/integration/test_methods.py tests/integration/test_hostile.py}

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j 2 --target nvmerpcd
out=$(cd "$BUILD_DIR" && pwd)/valgrind
rm -rf "$out"
mkdir -p "$out/logs"
wrapper="$out/nvmerpcd"
# exec: the daemon keeps the pid the tests signal and read /proc of.
cat >"$wrapper" <<EOF
#!/bin/sh
exec valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \\
  --track-fds=no --log-file="$out/logs/vg.%p.log" "$(cd "$BUILD_DIR" && pwd)/nvmerpcd" "\$@"
EOF
chmod +x "$wrapper"

# NR_VALGRIND skips the tests whose timing valgrind's slowdown breaks (they say why);
# the startup and shutdown waits grow for the same reason.
status=0
# shellcheck disable=SC2086 # TESTS and PYTEST_ARGS hold several words on purpose
NVMERPCD="$wrapper" NR_VALGRIND=1 NR_START_TIMEOUT_S=60 NR_STOP_TIMEOUT_S=60 \
  NR_SOURCE_DIR="$PWD" NR_OPENRPC="$BUILD_DIR/openrpc.json" PYTHONPATH="$PWD/clients/python" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} $TESTS || status=$?

# Every daemon that exited wrote a summary: no error of any kind, nothing definitely or
# indirectly lost. A daemon a signal killed (SIGKILL, or SIGTERM before its handler was in
# place) had no chance to free what it held: only its errors count, not its leaks.
logs=0 finished=0 bad=""
for log in "$out"/logs/vg.*.log; do
  [ -f "$log" ] || continue
  logs=$((logs + 1))
  if ! grep -q "ERROR SUMMARY:" "$log" || grep -q "Process terminating with default action" "$log"; then
    grep -q "Invalid \|uninitialised\|Mismatched free\|Syscall param" "$log" && bad="$bad $log"
    continue
  fi
  finished=$((finished + 1))
  if ! grep -q "ERROR SUMMARY: 0 errors" "$log" ||
    grep -q "definitely lost: [1-9]\|indirectly lost: [1-9]" "$log"; then
    bad="$bad $log"
  fi
done
echo "valgrind: $logs daemon runs, $finished exited, $((logs - finished)) killed by a signal"
if [ -n "$bad" ]; then
  echo "valgrind: errors or leaks in:$bad" >&2
  for log in $bad; do cat "$log" >&2; done
  status=1
fi
[ "$finished" -gt 0 ] || { echo "valgrind: no daemon ran to exit" >&2; status=1; }
[ "$status" -eq 0 ] && echo "valgrind: zero errors, zero definite or indirect leaks"
exit "$status"
