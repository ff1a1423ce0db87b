#!/bin/sh
# Installs what nvmerpcd needs from Debian 12 packages, builds it, and then:
#   setup.sh run    starts the daemon on the simulated controller (foreground)
#   setup.sh test   runs the whole test suite (ctest: unit, integration)
#   setup.sh bench  runs the benchmark and prints its table
#   setup.sh build  only installs and builds
#   setup.sh go     runs the Go client's and CLI's tests (scripts/go-test.sh)
#   setup.sh deb    builds the Debian packages into build-deb/ (scripts/deb.sh:
#                   dpkg-buildpackage -us -uc -b) and runs lintian on them (scripts/deb-lint.sh);
#                   scripts/deb-install-test.sh then installs them in a fresh Debian 12 root
# Go 1.23 (clients/go needs range-over-func iterators; bookworm has 1.19) comes from
# bookworm-backports: golang-go installed with -t bookworm-backports, its go binary used by
# path (/usr/lib/go-1.23/bin/go), never /usr/bin/go. The backports source is added by
# scripts/backports.sh (shared with the QEMU harness) when no bookworm-backports entry exists.
# Environment: BUILD_DIR (default ./build), SOCKET (default /run/nvmerpcd.sock), CTEST_ARGS,
# CMAKE_ARGS (extra cmake options, e.g. -DNR_ASAN=ON).
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SOCKET=${SOCKET:-/run/nvmerpcd.sock}
# clang and libclang-rt-14-dev build the fuzz harnesses (scripts/fuzz.sh): -fsanitize=fuzzer links
# libclang_rt.fuzzer from libclang-rt-14-dev, which clang only recommends (not installed here).
# ansible-core (2.14) runs the nvmerpc.nvme collection's tests (tests/ansible); pylint, pycodestyle,
# yamllint, python3-voluptuous and python3-venv let its ansible-test sanity run offline (and git:
# scripts/ansible-sanity.py makes its copy of the collection a repository of its own).
# libsystemd-dev: the daemon's systemd integration (server/sd.c); scdoc and man-db: the man
# pages and their check; debhelper, dh-python, fakeroot, lintian and debootstrap: the Debian
# packages (setup.sh deb) and their install test (scripts/deb-install-test.sh); systemd-container:
# systemd-nspawn, which boots them under systemd (scripts/deb-boot-test.sh).
PACKAGES="build-essential cmake pkg-config clang-format libuv1-dev libjansson-dev libnvme-dev libjson-c-dev libdbus-1-dev
  libcriterion-dev socat python3 python3-pytest python3-jsonschema valgrind dbus-daemon
  clang libclang-rt-14-dev prometheus liburing-dev
  ansible-core pylint pycodestyle yamllint python3-voluptuous python3-venv git
  libsystemd-dev scdoc man-db debhelper dh-python fakeroot lintian debootstrap systemd-container"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

. scripts/backports.sh

GO=${GO:-/usr/lib/go-1.23/bin/go}

install_go() {
  [ -x "$GO" ] && return 0
  add_backports || true
  as_root apt-get update -qq
  echo "setup: installing golang-go from bookworm-backports"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -t bookworm-backports golang-go
}

install_packages() {
  missing=""
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "setup: installing$missing"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

build() {
  # shellcheck disable=SC2086 # CMAKE_ARGS holds several words on purpose
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

install_packages
install_go
# The package build compiles its own tree.
[ "${1:-run}" = deb ] || build
case "${1:-run}" in
  run) exec "$BUILD_DIR/nvmerpcd" --simulate --socket "$SOCKET" ;;
  # shellcheck disable=SC2086 # CTEST_ARGS holds several words on purpose
  test) exec ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 ${CTEST_ARGS:-} ;;
  bench) exec "$BUILD_DIR/bench/nrbench" --daemon "$BUILD_DIR/nvmerpcd" --echo "$BUILD_DIR/bench/echo_server" ;;
  go) exec env GO="$GO" NVMERPCD="$BUILD_DIR/nvmerpcd" ./scripts/go-test.sh ;;
  deb) ./scripts/deb.sh && exec ./scripts/deb-lint.sh ;;
  build) ;;
  *) echo "usage: $0 [run|test|bench|build|go|deb]" >&2; exit 2 ;;
esac
