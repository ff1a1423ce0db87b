#!/bin/sh
# Boots the QEMU test guest by hand and leaves it running until Ctrl-C:
#   tests/qemu/run-guest.sh [BUILD_DIR]        (default: build; the image goes to BUILD_DIR/qemu)
# prints the host sockets: rpc.sock (JSON-RPC to the daemon in the guest; e.g.
#   echo '{"jsonrpc":"2.0","id":1,"method":"nvme.list"}' | socat - UNIX-CONNECT:DIR/rpc.sock)
# and agent.sock (guest commands, see guest_agent.py). NR_QEMU_DAEMON_ARGS adds daemon options.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../../build}
sh "$HERE/build-image.sh" "$BUILD/qemu"
exec /usr/bin/python3 "$HERE/guest.py" --image-dir "$BUILD/qemu" \
  --daemon "${NVMERPCD:-$BUILD/nvmerpcd}" --daemon-args "${NR_QEMU_DAEMON_ARGS:---log-level debug}"
