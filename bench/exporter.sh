#!/bin/sh
# The exporter's scrape cost for 64 controllers: one /metrics scrape of a cached
# view of a simulated daemon with 64 subsystems, through the HTTP handler.
# Prints Go's benchmark line: ns/op (wall), cpu-ms/scrape (this process's CPU per
# scrape, client included: an upper bound; the issue's target is under 10 ms),
# bytes/scrape, and poll-ms (one poll of the 64 controllers, which scrapes never do).
# Printed, never asserted. Environment: GO, NVMERPCD (default build/nvmerpcd).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-/usr/lib/go-1.23/bin/go}
NVMERPCD=$(realpath "${NVMERPCD:-build/nvmerpcd}")
export NVMERPCD GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on
export GOCACHE="${GOCACHE:-$PWD/build/go-cache}"
cd clients/go
exec "$GO" test -run '^$' -bench BenchmarkScrape64 -benchtime "${BENCHTIME:-2s}" ./cmd/nvmerpc-exporter
