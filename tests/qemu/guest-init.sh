#!/bin/sh
# /init of the QEMU test guest (busybox sh). Brings up the real Linux nvme driver on QEMU's
# emulated controllers and the kernel's nvmet target over nvme-loop, then serves two
# virtio-serial ports until powered off:
#   nr.rpc    nvmerpcd --stdio on the guest's devices (restarted for each host connection)
#   nr.agent  guest_agent.py: runs commands (nvme-cli) for the host's cross-checks
# and writes the daemon's stderr to nr.log. Host programs (the daemon, its libraries, python3,
# nvme-cli) run chrooted into the host's root, shared read-only over 9p.
#
# Kernel command line: nr_daemon=PATH nr_agent=PATH (host paths), nr_daemon_args="...".
# The daemon's arguments are read again at every start: the guest file /run/nr-daemon-args
# (one line, in the guest's /run tmpfs, written by the host through the agent:
# Guest.set_daemon_args) replaces nr_daemon_args while it exists.
# Progress lines start with "nr-init:"; "nr-init: READY" ends setup, "nr-init: FAILED" aborts.
export PATH=/bin:/sbin
NVMET_NQN=nqn.2024-01.io.nvmerpcd:nvmet-loop
NVMET_IMG_MB=32
ARGS_FILE=/host/run/nr-daemon-args

say() { echo "nr-init: $*" >/dev/console; }
fail() { say "FAILED: $*"; poweroff -f; }

# Prints the value of kernel parameter @1 ("+" stands for a space).
cmdline_value() {
  for word in $(cat /proc/cmdline); do
    case "$word" in "$1="*) echo "${word#*=}" | tr '+' ' '; return ;; esac
  done
}

mount_basics() {
  mount -t proc proc /proc
  mount -t sysfs sys /sys
  mount -t devtmpfs dev /dev
  mount -t tmpfs tmp /tmp
  mount -t debugfs debugfs /sys/kernel/debug
}

load_modules() {
  while read -r m; do
    insmod "/lib/modules/$m" 2>/dev/null || [ -d "/sys/module/$(echo "${m%.ko}" | tr - _)" ] ||
      fail "insmod $m"
  done </lib/modules/load-order
  mount -t configfs configfs /sys/kernel/config
}

# Waits up to @2 tenths of a second for the shell test @1 to succeed.
wait_for() {
  n=0
  while ! eval "$1"; do
    n=$((n + 1))
    [ $n -ge "$2" ] && return 1
    sleep 0.1
  done
}

count() { ls -d $1 2>/dev/null | wc -l; }

mount_host() {
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host ||
    fail "mount the host's root (9p)"
  mount -t proc proc /host/proc
  mount -o bind /sys /host/sys
  mount -o bind /sys/kernel/config /host/sys/kernel/config
  mount -o bind /dev /host/dev
  # The host's /tmp stays visible (a daemon built there runs); only /run gets a guest tmpfs.
  mount -t tmpfs run /host/run
}

setup_nvmet() {
  cfg=/sys/kernel/config/nvmet
  sub=$cfg/subsystems/$NVMET_NQN
  dd if=/dev/zero of=/tmp/nvmet.img bs=1M count=0 seek=$NVMET_IMG_MB 2>/dev/null
  mkdir "$sub" && echo 1 >"$sub/attr_allow_any_host" &&
    mkdir "$sub/namespaces/1" &&
    echo 1 >"$sub/namespaces/1/buffered_io" &&
    echo -n /tmp/nvmet.img >"$sub/namespaces/1/device_path" &&
    echo 1 >"$sub/namespaces/1/enable" &&
    mkdir "$cfg/ports/1" && echo loop >"$cfg/ports/1/addr_trtype" &&
    ln -s "$sub" "$cfg/ports/1/subsystems/$NVMET_NQN" || fail "nvmet configfs"
  echo "transport=loop,nqn=$NVMET_NQN" >/dev/nvme-fabrics || fail "connect nvme-loop"
}

# Prints /dev/vportNpM of the virtio-serial port named @1.
port_dev() {
  for f in /sys/class/virtio-ports/*/name; do
    [ "$(cat "$f")" = "$1" ] && { basename "$(dirname "$f")"; return 0; }
  done
  return 1
}

host_connected() {
  grep -q "host_connected: 1" "/sys/kernel/debug/virtio-ports/$1" 2>/dev/null
}

# Runs @2... on port @1 whenever the host is connected: EOF on the port (the host hung up)
# ends the program, and the next connection starts it again.
serve_port() {
  port=$1
  shift
  while true; do
    wait_for "host_connected $port" 1000000 || true
    "$@" 0<>"/dev/$port" 1>&0
    echo "nr-init: $port: exit $?" >&4
    # A host that has not noticed the hang-up yet must not spin this loop.
    sleep 0.2
  done
}

# The daemon on the port (stdin, stdout), with /run/nr-daemon-args or nr_daemon_args.
run_daemon() {
  args=$DAEMON_ARGS
  [ -f "$ARGS_FILE" ] && args=$(cat "$ARGS_FILE")
  echo "nr-init: daemon start: $DAEMON --stdio $args" >&2
  chroot /host "$DAEMON" --stdio $args
  rc=$?
  echo "nr-init: daemon exit: $rc" >&2
  return $rc
}

mount_basics
say "kernel $(uname -r)"
load_modules
mount_host
wait_for '[ "$(count "/sys/class/nvme/nvme*")" -ge 2 ]' 300 || fail "no nvme controllers"
# Namespace heads (multipath) have device nodes; the per-path disks (nvme0c0n1) do not.
wait_for '[ "$(count "/dev/nvme*n*")" -ge 2 ]' 300 || fail "no nvme namespaces"
setup_nvmet
wait_for '[ "$(count "/dev/nvme*n*")" -ge 3 ]' 300 || fail "no nvme-loop namespace"
DAEMON=$(cmdline_value nr_daemon)
AGENT=$(cmdline_value nr_agent)
DAEMON_ARGS=$(cmdline_value nr_daemon_args)
RPC=$(port_dev nr.rpc) || fail "no virtio port nr.rpc"
AGENT_PORT=$(port_dev nr.agent) || fail "no virtio port nr.agent"
LOG=$(port_dev nr.log) || fail "no virtio port nr.log"
exec 4<>"/dev/$LOG"
for c in /sys/class/nvme/nvme*; do
  say "$(basename "$c"): $(cat "$c/model" | tr -s ' ') sn $(cat "$c/serial" | tr -s ' ') $(cat "$c/transport")"
done
for b in /sys/block/nvme*n*; do say "$(basename "$b"): nsid $(cat "$b/nsid" 2>/dev/null) zoned $(cat "$b/queue/zoned")"; done
serve_port "$AGENT_PORT" chroot /host /usr/bin/python3 -I "$AGENT" 2>&4 &
serve_port "$RPC" run_daemon 2>&4 &
say "READY"
wait
