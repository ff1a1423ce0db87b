#!/bin/sh
# Runs inside the fresh Debian 12 root of scripts/deb-install-test.sh (chroot, private mount
# and PID namespaces, /run a tmpfs, no systemd running). The packages are in /tmp/debs.
set -eu
PACKAGES="nvmerpcd nvmerpc-tools python3-nvmerpc nvmerpc-ansible"
export DEBIAN_FRONTEND=noninteractive
step() { echo "deb-install-test: $*"; }
fail() { echo "deb-install-test: FAIL: $*" >&2; exit 1; }
apt() { apt-get -qq -o Dpkg::Use-Pty=0 "$@"; }

# What the packages depend on (each relation's first alternative), installed first so that
# the file list taken next holds everything but what the packages themselves bring.
deps=$(for deb in /tmp/debs/*.deb; do dpkg-deb -f "$deb" Depends; done |
  tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
step "apt-get install the dependencies:" $deps
apt update
# shellcheck disable=SC2086 # one word per package
apt install --no-install-recommends systemd man-db $deps >/tmp/apt-deps.log 2>&1 ||
  { tail -20 /tmp/apt-deps.log; fail "installing the dependencies"; }

snapshot() {
  find / -xdev \( -path /proc -o -path /run -o -path /tmp -o -path /var/cache -o -path /var/log \
    -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /dev \) -prune -o -print | sort
}
snapshot >/tmp/before

step "apt-get install ./*.deb"
apt install --no-install-recommends /tmp/debs/*.deb >/tmp/apt-ours.log 2>&1 ||
  { tail -20 /tmp/apt-ours.log; fail "apt-get install ./*.deb"; }
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}\n' "$p" | grep -q "install ok installed" || fail "$p not installed"
done
getent group nvmerpc >/dev/null || fail "no nvmerpc group"
[ -L /etc/systemd/system/sockets.target.wants/nvmerpcd.socket ] || fail "nvmerpcd.socket not enabled"
[ ! -e /etc/systemd/system/multi-user.target.wants/nvmerpcd.service ] ||
  fail "nvmerpcd.service enabled (the socket starts it)"
dpkg-query --control-show nvmerpcd conffiles | grep -qx /etc/nvmerpcd/nvmerpcd.json ||
  fail "/etc/nvmerpcd/nvmerpcd.json is not a conffile"

step "systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/nvmerpcd.socket /lib/systemd/system/nvmerpcd.service \
  /lib/systemd/system/nvmerpc-exporter.service
step "systemd-analyze security --offline=yes"
for unit in nvmerpcd.service nvmerpc-exporter.service; do
  systemd-analyze security --offline=yes --no-pager "/lib/systemd/system/$unit" >/tmp/security.txt 2>&1 ||
    { cat /tmp/security.txt; fail "systemd-analyze security $unit"; }
  echo "deb-install-test: $(grep 'Overall exposure level' /tmp/security.txt)"
done

step "man --warnings"
for page in nvmerpcd.8 nvmerpcd.json.5 nvmerpc.1 nvmerpc-exporter.1; do
  w=$(MANWIDTH=80 man --warnings -E UTF-8 "${page##*.}" "${page%.*}" 2>&1 >/dev/null) || fail "man $page"
  [ -z "$w" ] || fail "man $page: $w"
done

# The installed units' own lines: the socket path and the daemon's command line.
listen=$(sed -n 's/^ListenStream=//p' /lib/systemd/system/nvmerpcd.socket)
execstart=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/nvmerpcd.service)
[ "$listen" = /run/nvmerpcd.sock ] || fail "ListenStream=$listen"
step "systemd-socket-activate -l $listen: $execstart (NVMERPCD_OPTIONS=--simulate --no-passthru)"
NVMERPCD_OPTIONS="--simulate --no-passthru"
# systemd splits an unquoted $VAR of ExecStart= at whitespace, as the shell does here.
eval "set -- $execstart"
systemd-socket-activate -l "$listen" --fdname=nvmerpcd "$@" >/tmp/daemon.log 2>&1 &
activator=$!
for _ in $(seq 50); do [ -S "$listen" ] && break; sleep 0.1; done
[ -S "$listen" ] || fail "no socket at $listen"
# What SocketGroup=nvmerpc and SocketMode=0660 give under systemd.
chgrp nvmerpc "$listen"
chmod 0660 "$listen"

out=$(nvmerpc list -o json) || { cat /tmp/daemon.log; fail "nvmerpc list"; }
echo "$out" | grep -q NRSIM0000000001 || fail "nvmerpc list: $out"
nvmerpc list
grep -q "(socket from systemd)" /tmp/daemon.log || fail "the daemon did not take the passed socket"

useradd --system --no-create-home --groups nvmerpc nr-member
useradd --system --no-create-home nr-outsider
setpriv --reuid=nr-member --regid=nr-member --init-groups nvmerpc list -o json | grep -q sim0 ||
  fail "a member of nvmerpc could not list"
rc=0
setpriv --reuid=nr-outsider --regid=nr-outsider --init-groups nvmerpc list >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "a user outside nvmerpc: exit $rc, want 3 (no connection)"
python3 -c '
import nvmerpc
with nvmerpc.Client("/run/nvmerpcd.sock") as c:
    assert c.nvme_id_ctrl(device="sim0")["sn"] == "NRSIM0000000001"
' || fail "python3-nvmerpc"
userdel nr-member
userdel nr-outsider

kill -TERM "$activator"
rc=0
wait "$activator" || rc=$?
[ "$rc" -eq 0 ] || { cat /tmp/daemon.log; fail "daemon exit $rc on SIGTERM"; }

step "apt-get purge $PACKAGES"
# shellcheck disable=SC2086 # one word per package
apt purge $PACKAGES >/tmp/apt-purge.log 2>&1 || { tail -20 /tmp/apt-purge.log; fail "purge"; }
snapshot >/tmp/after
# Debian keeps a system group on purge (files may still be owned by it); adduser's
# backups of the account files stay with it.
left=$(comm -13 /tmp/before /tmp/after | grep -vx -e /etc/group- -e /etc/gshadow- \
  -e /etc/passwd- -e /etc/shadow- -e /etc/subgid- -e /etc/subuid- || true)
gone=$(comm -23 /tmp/before /tmp/after || true)
[ -z "$left" ] || fail "left after purge:
$left"
[ -z "$gone" ] || fail "removed by install and purge:
$gone"
getent group nvmerpc >/dev/null || fail "the nvmerpc group went (Debian keeps it)"
step "purge left the nvmerpc group only"
