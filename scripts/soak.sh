#!/bin/sh
# The bounded soak (bench/soak.py) against one build's daemon.
# Usage: scripts/soak.sh [SECONDS] [BUILD_DIR]   (defaults: 60, build)
# Builds the daemon if it is out of date; an ASan build (-DNR_ASAN=ON) is
# recognised and its RSS check skipped. Exit status: the soak's (1 on failure).
set -eu
cd "$(dirname "$0")/.."
SECONDS_=${1:-60}
BUILD_DIR=${2:-build}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" --target nvmerpcd -j 2 >/dev/null
exec /usr/bin/python3 bench/soak.py --seconds "$SECONDS_" --daemon "$BUILD_DIR/nvmerpcd"
