#!/bin/sh
# The installed units under a real systemd (CI, after scripts/deb-install-test.sh, as root): the
# cached Debian 12 root (DEB_DIR/root-cache) gets systemd-sysv, dbus and the nvmerpcd and
# nvmerpc-tools packages, /etc/default/nvmerpcd sets NVMERPCD_OPTIONS="--simulate
# --no-passthru" (no NVMe devices in a container), and systemd-nspawn boots it. A oneshot
# service (scripts/deb-boot-test.inner.sh) checks, with the hardened unit as shipped: the socket
# enabled with its mode and group, the service started by the first client, READY and the
# STATUS= text, the watchdog, access for a member of nvmerpc and not for an outsider, reload,
# a clean stop with the socket kept and reactivation, and the exporter (a dynamic user in
# nvmerpc) serving nvmerpcd_up 1; then powers off. Nothing touches this host's systemd.
# Exit 0 when the checks passed, 1 when one failed; 77 when the container could not boot at
# all here (no check ran: printed as SKIPPED).
set -eu
cd "$(dirname "$0")/.."
DEB_DIR=${1:-${DEB_DIR:-build-deb}}
CACHE="$DEB_DIR/root-cache"
ROOT="$DEB_DIR/boot-root"
[ -f "$CACHE/bookworm-minbase.tar" ] || { echo "deb-boot-test: run scripts/deb-install-test.sh first" >&2; exit 1; }

rm -rf "$ROOT"
mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$CACHE/bookworm-minbase.tar"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99nvmerpcd-test"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
mkdir -p "$ROOT/tmp/debs"
cp "$DEB_DIR"/nvmerpcd_*.deb "$DEB_DIR"/nvmerpc-tools_*.deb "$ROOT/tmp/debs/"
archives=$(cd "$CACHE/archives" && pwd)
lists=$(cd "$CACHE/lists" && pwd)
root=$(cd "$ROOT" && pwd)
unshare --mount --pid --fork --propagation private sh -eu -c '
  mount --bind "$1" "$3/var/cache/apt/archives"
  mount --bind "$2" "$3/var/lib/apt/lists"
  mount -t proc proc "$3/proc"
  chroot "$3" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get -qq update && apt-get -qq install -y --no-install-recommends systemd-sysv dbus /tmp/debs/*.deb"
' sh "$archives" "$lists" "$root" >"$DEB_DIR/boot-install.log" 2>&1 ||
  { tail -20 "$DEB_DIR/boot-install.log"; exit 1; }
rm -f "$ROOT/usr/sbin/policy-rc.d" "$ROOT/root/nr-boot-check.log"

echo 'NVMERPCD_OPTIONS="--simulate --no-passthru"' >"$ROOT/etc/default/nvmerpcd"
cp scripts/deb-boot-test.inner.sh "$ROOT/usr/local/sbin/nr-boot-check"
cat >"$ROOT/etc/systemd/system/nr-boot-check.service" <<'UNIT'
[Unit]
Description=nvmerpcd boot test
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/nr-boot-check
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/nr-boot-check.service "$ROOT/etc/systemd/system/multi-user.target.wants/"
ln -sf /dev/null "$ROOT/etc/systemd/system/console-getty.service"

echo "deb-boot-test: systemd-nspawn --boot"
timeout 180 systemd-nspawn --quiet --directory="$ROOT" --boot --register=no --keep-unit \
  --console=pipe --machine=nvmerpcd-boot-test </dev/null >"$DEB_DIR/boot-console.log" 2>&1 || true
log="$ROOT/root/nr-boot-check.log"
if [ ! -f "$log" ]; then
  echo "deb-boot-test: SKIPPED: the container did not boot far enough to run the check here"
  tail -5 "$DEB_DIR/boot-console.log"
  exit 77
fi
sed 's/^/deb-boot-test: /' "$log"
grep -qx "RESULT ok" "$log" || exit 1
rm -rf "$ROOT"
