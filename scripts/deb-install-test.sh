#!/bin/sh
# The Debian packages on a fresh Debian 12 root (CI; run as root): debootstrap --variant=minbase
# bookworm from the Debian mirror this host's apt uses (read from /etc/apt at run time), then
# inside it, in a private mount and PID namespace (nothing outlives the test; this host's
# systemd is never touched and nothing is installed on this host):
#   - apt-get install ./*.deb (with systemd for systemd-socket-activate and systemd-analyze,
#     and man-db for man);
#   - systemd-analyze verify on the installed units and systemd-analyze security --offline
#     (the exposure score is printed for the record); man --warnings on the installed pages;
#   - the installed daemon, started by systemd-socket-activate on the installed socket unit's
#     ListenStream= path with the installed service's ExecStart= line (NVMERPCD_OPTIONS,
#     which the unit reads from /etc/default/nvmerpcd, set to --simulate --no-passthru: the
#     root has no NVMe devices), answers the installed `nvmerpc list` as root and as a member
#     of the nvmerpc group, refuses a user outside it, answers the installed Python client,
#     and exits 0 on SIGTERM;
#   - apt-get purge of the four packages leaves no file behind but the nvmerpc group (and
#     adduser's backups of /etc/group), which Debian keeps;
# and, on this host, ansible-doc lists the modules of the packaged collection.
# Usage: scripts/deb-install-test.sh [DEB_DIR]   (default build-deb, where scripts/deb.sh puts
# the packages). The debootstrapped root is cached as DEB_DIR/root-cache/bookworm-minbase.tar
# and apt's downloads and lists in DEB_DIR/root-cache, so a second run downloads nothing.
set -eu
cd "$(dirname "$0")/.."
DEB_DIR=${1:-${DEB_DIR:-build-deb}}
CACHE="$DEB_DIR/root-cache"
TARBALL="$CACHE/bookworm-minbase.tar"
ROOT="$DEB_DIR/root"

as_root() { "$@"; }
. scripts/backports.sh

[ "$(id -u)" -eq 0 ] || { echo "deb-install-test: needs root (debootstrap, chroot)" >&2; exit 1; }
set -- "$DEB_DIR"/nvmerpcd_*.deb "$DEB_DIR"/nvmerpc-tools_*.deb "$DEB_DIR"/python3-nvmerpc_*.deb \
  "$DEB_DIR"/nvmerpc-ansible_*.deb
for deb; do
  [ -f "$deb" ] || { echo "deb-install-test: $deb missing: run ./scripts/setup.sh deb" >&2; exit 1; }
done

mkdir -p "$CACHE/archives/partial" "$CACHE/lists/partial"
if [ ! -f "$TARBALL" ]; then
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "deb-install-test: no bookworm mirror in /etc/apt/sources.list*" >&2; exit 1; }
  echo "deb-install-test: debootstrap --variant=minbase bookworm (cached in $TARBALL)"
  rm -rf "$ROOT"
  debootstrap --variant=minbase --cache-dir="$(cd "$CACHE/archives" && pwd)" bookworm "$ROOT" "$mirror" \
    >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
  tar -C "$ROOT" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
fi

# A fresh root for every run, from the cached tarball.
rm -rf "$ROOT"
mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$TARBALL"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The mirror may be a dated snapshot whose Release files are past Valid-Until.
echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99nvmerpcd-test"
# No service is started by a maintainer script in here (there is no systemd running either).
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
mkdir -p "$ROOT/tmp/debs"
cp "$@" "$ROOT/tmp/debs/"
cp scripts/deb-install-test.inner.sh "$ROOT/tmp/inner.sh"

archives=$(cd "$CACHE/archives" && pwd)
lists=$(cd "$CACHE/lists" && pwd)
root=$(cd "$ROOT" && pwd)
unshare --mount --pid --fork --propagation private sh -eu -c '
  mount --bind "$1" "$3/var/cache/apt/archives"
  mount --bind "$2" "$3/var/lib/apt/lists"
  mount -t proc proc "$3/proc"
  mount -t tmpfs -o mode=0755 tmpfs "$3/run"
  exec chroot "$3" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
    /bin/sh -eu /tmp/inner.sh
' sh "$archives" "$lists" "$root"
rm -rf "$ROOT"

# The packaged Ansible collection loads from the package's path (Ansible's default
# /usr/share/ansible/collections), checked with this host's ansible-doc on the unpacked package.
if command -v ansible-doc >/dev/null; then
  unpacked="$DEB_DIR/ansible-unpacked"
  rm -rf "$unpacked"
  dpkg-deb -x "$DEB_DIR"/nvmerpc-ansible_*.deb "$unpacked"
  if [ -d "$unpacked/usr/share/ansible/collections/ansible_collections/nvmerpc/nvme" ]; then
    modules=$(ANSIBLE_COLLECTIONS_PATH="$(cd "$unpacked" && pwd)/usr/share/ansible/collections" \
      ANSIBLE_LOCAL_TEMP="$unpacked/tmp" ansible-doc -t module -l nvmerpc.nvme 2>&1 | grep -c '^nvmerpc\.nvme\.' || true)
    [ "$modules" -gt 0 ] || { echo "deb-install-test: FAIL: ansible-doc lists no module of the packaged collection" >&2; exit 1; }
    echo "deb-install-test: the packaged collection nvmerpc.nvme: $modules modules (ansible-doc)"
  fi
  rm -rf "$unpacked"
fi
echo "deb-install-test: ok"
