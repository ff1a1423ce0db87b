#!/bin/sh
# Builds the Debian packages (./scripts/setup.sh deb): exports the source tree (tracked and
# untracked files git does not ignore; no build directories) to DEB_DIR/src/nvmerpcd-VERSION,
# copies packaging/debian to debian/ there, as upstreams ship their packaging, and runs
# dpkg-buildpackage -us -uc -b. The .deb files land in DEB_DIR (default ./build-deb).
set -eu
cd "$(dirname "$0")/.."
DEB_DIR=${DEB_DIR:-build-deb}
version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
src="$DEB_DIR/src/nvmerpcd-$version"

rm -rf "$DEB_DIR/src"
mkdir -p "$src"
if git rev-parse --git-dir >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - -cf - | tar -xf - -C "$src"
else
  tar --exclude='./build' --exclude='./build-*' -cf - . | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -R packaging/debian "$src/debian"
# One job per core, at most two (the machine is shared).
jobs=$(nproc); [ "$jobs" -gt 2 ] && jobs=2
# Go's build cache outlives the export, so a second build does not compile Go's standard
# library again.
mkdir -p "$DEB_DIR/go-cache"
(cd "$src" && GOCACHE="$(cd ../../go-cache && pwd)" dpkg-buildpackage -us -uc -b -j"$jobs")
mv -f "$DEB_DIR"/src/*.deb "$DEB_DIR"/src/*.changes "$DEB_DIR"/src/*.buildinfo "$DEB_DIR"/
ls -l "$DEB_DIR"/*.deb
