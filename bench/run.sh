#!/bin/sh
# Builds what the benchmark needs (if out of date) and runs it once.
# Usage: bench/run.sh [nrbench options, e.g. --seconds 5 --check]
# BUILD_DIR selects the build tree (default: build/ at the repository root).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" --target nvmerpcd nrbench echo_server -j "$(nproc)"

exec "$build/bench/nrbench" --daemon "$build/nvmerpcd" \
	--echo "$build/bench/echo_server" "$@"
