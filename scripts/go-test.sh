#!/bin/sh
# Runs the Go client's and the nvmerpc CLI's checks in clients/go: gofmt, go vet, then
# go test -race against the real daemon on the simulator (each test starts its own; -count=1:
# results are never taken from the test cache, the daemon may have changed).
# Environment: GO (default /usr/lib/go-1.23/bin/go: bookworm-backports' Go 1.23, see
# scripts/setup.sh; /usr/bin/go may be bookworm's 1.19), NVMERPCD (default build/nvmerpcd),
# GO_TEST_ARGS (extra go test arguments). Standard library only: no module is downloaded.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-/usr/lib/go-1.23/bin/go}
NVMERPCD=$(realpath "${NVMERPCD:-build/nvmerpcd}")
[ -x "$GO" ] || { echo "go-test: no Go toolchain at $GO (./scripts/setup.sh build installs it)" >&2; exit 1; }
[ -x "$NVMERPCD" ] || { echo "go-test: no daemon at $NVMERPCD (./scripts/setup.sh build)" >&2; exit 1; }
export NVMERPCD GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on
export GOCACHE="${GOCACHE:-$PWD/build/go-cache}"
cd clients/go
unformatted=$("$(dirname "$GO")/gofmt" -l .)
[ -z "$unformatted" ] || { echo "go-test: not gofmt-formatted: $unformatted" >&2; exit 1; }
"$GO" vet ./...
# shellcheck disable=SC2086 # GO_TEST_ARGS holds several words on purpose
exec "$GO" test -race -count=1 -p 1 -timeout 300s ${GO_TEST_ARGS:-} ./...
