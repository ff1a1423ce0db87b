#!/bin/sh
# lintian on the packages scripts/deb.sh built (DEB_DIR, default build-deb): fails on any
# error; warnings and the rest are printed for the record.
set -eu
cd "$(dirname "$0")/.."
DEB_DIR=${DEB_DIR:-build-deb}
out=$(lintian --pedantic --info \
  "$DEB_DIR"/nvmerpcd_*.changes 2>&1) || true
printf '%s\n' "$out" | grep -v -e '^N:' -e 'running with root privileges' || true
if printf '%s\n' "$out" | grep -q '^E:'; then
  echo "lintian: errors" >&2
  exit 1
fi
echo "lintian: no errors"
