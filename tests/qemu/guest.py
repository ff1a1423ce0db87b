"""Boots the QEMU test guest and connects to it (host side).

    python3 tests/qemu/guest.py [--image-dir build/qemu] [--run-dir DIR]

boots the guest, prints its sockets and waits (Ctrl-C powers it off); the pytest suite uses the
Guest class directly. The image (vmlinuz, initrd.cpio.gz) comes from build-image.sh.

The guest (see guest-init.sh) runs the host-built daemon on QEMU's emulated NVMe devices.
Its JSON-RPC stream is a virtio-serial port that QEMU exposes as the host Unix socket
RUN/rpc.sock: nvmerpc.Client(path) speaks to it exactly as to the daemon's own socket. A
second port, RUN/agent.sock, runs commands in the guest (guest_agent.py). The console goes to
RUN/console.log, the daemon's stderr to RUN/daemon.log.

Topology (QEMU 10 nvme, one NVM subsystem NQN, two controllers):
  nsid 1  conventional, 64 MiB, shared by both controllers (multipath)
  nsid 2  zoned, 64 MiB in 64 KiB zones (1024 zones), 64-byte zone descriptor extensions, shared
  nsid 3  conventional, 16 MiB, private (attachable to one controller at a time), detached at start
plus the kernel's nvmet target over nvme-loop: one controller (model "Linux"), one 32 MiB
file-backed namespace.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("NR_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "clients", "python"))

import nvmerpc  # noqa: E402

QEMU = "qemu-system-x86_64"
SUBSYS_NQN = "nqn.2024-01.io.nvmerpcd:qemu"
NVMET_NQN = "nqn.2024-01.io.nvmerpcd:nvmet-loop"
# QEMU requires every controller of an NVM subsystem to carry the subsystem's serial number.
SERIAL = "NRQEMU0000000001"
CONTROLLERS = 2
MIB = 1024 * 1024
BLOCK_SIZE = 512
ZONE_SIZE = 64 * 1024
ZONED_BYTES = 64 * MIB
ZONES = ZONED_BYTES // ZONE_SIZE
ZONE_MAX_OPEN = 16
ZONE_MAX_ACTIVE = 32
ZONE_DESC_EXT = 64  # bytes of zone descriptor extension (ZDES 1)
NAMESPACES = {  # nsid: (file, bytes, extra nvme-ns properties)
    1: ("ns1.img", 64 * MIB, ""),
    2: ("ns2-zoned.img", ZONED_BYTES,
        f",zoned=on,zoned.zone_size={ZONE_SIZE // 1024}K,zoned.zone_capacity={ZONE_SIZE // 1024}K,"
        f"zoned.max_open={ZONE_MAX_OPEN},zoned.max_active={ZONE_MAX_ACTIVE},"
        f"zoned.descr_ext_size={ZONE_DESC_EXT}"),
    3: ("ns3-detached.img", 16 * MIB, ",shared=off,detached=on"),
}
BOOT_TIMEOUT_S = 180.0
CONNECT_TIMEOUT_S = 60.0
PROBE_INTERVAL_S = 0.5
# In the guest (the agent's view, chrooted: the guest's /run tmpfs). While it exists, its one
# line replaces nr_daemon_args for every daemon /init starts (guest-init.sh: run_daemon).
DAEMON_ARGS_FILE = "/run/nr-daemon-args"
# What guest-init.sh writes to nr.log when a daemon it started has exited.
DAEMON_EXIT_MARK = "nr-init: daemon exit:"


class GuestError(RuntimeError):
    pass


class Guest:
    """One QEMU guest. start() boots it and waits for its /init; stop() powers it off.

    .console_text() and .daemon_log() return what the guest printed so far (for failures);
    .client() returns a connected nvmerpc.Client; .run(argv) runs a command in the guest;
    .set_daemon_args() and .reconnect() restart the daemon with other arguments.
    """

    def __init__(self, image_dir, run_dir, daemon, daemon_args=("--log-level", "debug")):
        self.image_dir = os.path.abspath(image_dir)
        self.run_dir = os.path.abspath(run_dir)
        self.daemon = os.path.abspath(daemon)
        self.daemon_args = list(daemon_args)
        self.rpc_socket = os.path.join(self.run_dir, "rpc.sock")
        self.agent_socket = os.path.join(self.run_dir, "agent.sock")
        self.console_path = os.path.join(self.run_dir, "console.log")
        self.daemon_log_path = os.path.join(self.run_dir, "daemon.log")
        self.proc = None
        self.boot_seconds = None
        self._agent = None
        self._agent_ids = 0

    # -- lifecycle ----------------------------------------------------------

    def argv(self):
        append = " ".join([
            "console=ttyS0", "panic=-1", "loglevel=5",
            f"nr_daemon={self.daemon}",
            f"nr_agent={os.path.join(HERE, 'guest_agent.py')}",
            "nr_daemon_args=" + "+".join(self.daemon_args),
        ])
        argv = [QEMU, "-accel", "tcg", "-machine", "q35", "-m", "1024", "-smp", "2",
                "-nodefaults", "-display", "none", "-no-reboot",
                "-kernel", os.path.join(self.image_dir, "vmlinuz"),
                "-initrd", os.path.join(self.image_dir, "initrd.cpio.gz"),
                "-append", append,
                "-chardev", f"file,id=con,path={self.console_path}", "-serial", "chardev:con",
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on",
                "-device", "virtio-serial-pci,id=vser",
                "-chardev", f"socket,id=rpc,path={self.rpc_socket},server=on,wait=off",
                "-device", "virtserialport,bus=vser.0,chardev=rpc,name=nr.rpc",
                "-chardev", f"socket,id=agent,path={self.agent_socket},server=on,wait=off",
                "-device", "virtserialport,bus=vser.0,chardev=agent,name=nr.agent",
                "-chardev", f"file,id=dlog,path={self.daemon_log_path}",
                "-device", "virtserialport,bus=vser.0,chardev=dlog,name=nr.log",
                "-device", f"nvme-subsys,id=subsys0,nqn={SUBSYS_NQN}"]
        for i in range(CONTROLLERS):
            argv += ["-device", f"nvme,serial={SERIAL},id=ctrl{i},subsys=subsys0"]
        for nsid, (name, _, extra) in NAMESPACES.items():
            path = os.path.join(self.run_dir, name)
            argv += ["-drive", f"file={path},if=none,id=nvm{nsid},format=raw",
                     "-device", f"nvme-ns,drive=nvm{nsid},nsid={nsid},bus=ctrl0{extra}"]
        return argv

    def start(self, timeout=BOOT_TIMEOUT_S):
        """Boots the guest; returns once /init says READY. Raises GuestError (with the
        console) when QEMU exits, /init fails or @timeout passes."""
        os.makedirs(self.run_dir, exist_ok=True)
        for name, size, _ in NAMESPACES.values():
            with open(os.path.join(self.run_dir, name), "wb") as f:
                f.truncate(size)
        # A previous boot's logs would announce READY before this QEMU truncates them.
        for path in (self.rpc_socket, self.agent_socket, self.console_path, self.daemon_log_path):
            if os.path.exists(path):
                os.unlink(path)
        t0 = time.monotonic()
        self._qemu_log = open(os.path.join(self.run_dir, "qemu.log"), "wb")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._qemu_log, stderr=subprocess.STDOUT)
        deadline = t0 + timeout
        while True:
            text = self.console_text()
            if "nr-init: READY" in text:
                break
            if "nr-init: FAILED" in text:
                raise GuestError(f"guest /init failed:\n{self.diagnostics()}")
            if self.proc.poll() is not None:
                raise GuestError(f"QEMU exited with {self.proc.returncode}:\n{self.diagnostics()}")
            if time.monotonic() > deadline:
                raise GuestError(f"guest not ready within {timeout} s:\n{self.diagnostics()}")
            time.sleep(0.1)
        self.boot_seconds = time.monotonic() - t0
        return self

    def stop(self):
        """Powers the guest off (QEMU killed: the guest holds nothing worth a clean shutdown)."""
        if self._agent is not None:
            self._agent.close()
            self._agent = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_qemu_log", None):
            self._qemu_log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- logs ---------------------------------------------------------------

    def _read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def console_text(self):
        return self._read(self.console_path)

    def daemon_log(self):
        return self._read(self.daemon_log_path)

    def diagnostics(self, tail_lines=400):
        parts = []
        for title, path in (("QEMU", os.path.join(self.run_dir, "qemu.log")),
                            ("guest console", self.console_path),
                            ("daemon stderr (nr.log)", self.daemon_log_path)):
            lines = self._read(path).splitlines()
            parts.append(f"--- {title} ({path}, last {min(len(lines), tail_lines)} lines) ---")
            parts.extend(lines[-tail_lines:])
        return "\n".join(parts)

    # -- connections --------------------------------------------------------

    def _probe(self, path, request, timeout):
        """Connects to @path and sends @request (bytes, one line) every PROBE_INTERVAL_S until
        a line arrives: the guest discards what reaches a port before its program opened it.
        Returns (socket, leftover bytes after the first line)."""
        deadline = time.monotonic() + timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        buf = b""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sock.close()
                raise GuestError(f"QEMU exited with {self.proc.returncode}:\n{self.diagnostics()}")
            sock.sendall(request)
            sock.settimeout(PROBE_INTERVAL_S)
            try:
                while b"\n" not in buf:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise GuestError(f"{path}: guest closed the port")
                    buf += chunk
            except socket.timeout:
                continue
            sock.settimeout(None)
            return sock, buf
        sock.close()
        raise GuestError(f"no answer on {path} within {timeout} s:\n{self.diagnostics()}")

    def client(self, timeout=120.0, connect_timeout=CONNECT_TIMEOUT_S):
        """Returns an nvmerpc.Client connected to the daemon in the guest (rpc.ping answered).
        QEMU's socket takes one client at a time: close it before asking for another."""
        probe = json.dumps({"jsonrpc": "2.0", "id": "nr-qemu-probe", "method": "rpc.ping"})
        sock, rest = self._probe(self.rpc_socket, probe.encode() + b"\n", connect_timeout)
        transport = nvmerpc.SocketTransport(sock=sock, timeout=timeout)
        # Answers to repeated probes may still be on their way; the client files them by id.
        transport._reader._buf += rest
        return nvmerpc.Client(transport=transport)

    def reconnect(self, client, timeout=CONNECT_TIMEOUT_S):
        """Closes @client, waits until the guest's daemon serving it has exited (so the next
        connection cannot reach it: a daemon still reading would serve it) and returns a new
        client, served by a daemon started for it with the arguments then in force."""
        exits = self.daemon_log().count(DAEMON_EXIT_MARK)
        client.close()
        deadline = time.monotonic() + timeout
        while self.daemon_log().count(DAEMON_EXIT_MARK) <= exits:
            if self.proc.poll() is not None:
                raise GuestError(f"QEMU exited with {self.proc.returncode}:\n{self.diagnostics()}")
            if time.monotonic() > deadline:
                raise GuestError(f"the guest's daemon did not exit within {timeout} s after the "
                                 f"host hung up:\n{self.diagnostics()}")
            time.sleep(0.05)
        return self.client()

    def set_daemon_args(self, args):
        """Daemons the guest starts from now on (one per host connection: see reconnect())
        run with @args (a list; joined with spaces, no quoting) instead of the boot's
        nr_daemon_args; None goes back to those. The running daemon keeps its own."""
        if args is None:
            argv = ["rm", "-f", DAEMON_ARGS_FILE]
        else:
            argv = ["sh", "-c", 'printf "%s\\n" "$1" >' + DAEMON_ARGS_FILE, "sh", " ".join(args)]
        rc, out, err = self.run(argv)
        if rc != 0:
            raise GuestError(f"cannot set the daemon's arguments ({argv}): {err.strip()} {out.strip()}")

    def run(self, argv, timeout=120.0):
        """Runs @argv in the guest (chrooted into the host's root); returns (rc, stdout, stderr)."""
        if self._agent is None:
            probe = json.dumps({"id": "probe", "argv": ["true"]}).encode() + b"\n"
            sock, rest = self._probe(self.agent_socket, probe, CONNECT_TIMEOUT_S)
            self._agent = _LineSocket(sock, rest)
        self._agent_ids += 1
        request_id = self._agent_ids
        self._agent.send({"id": request_id, "argv": list(argv), "timeout": timeout})
        while True:
            reply = self._agent.recv(timeout + 30)
            if reply.get("id") == request_id:
                break
        if "error" in reply:
            raise GuestError(f"guest could not run {argv}: {reply['error']}")
        return reply["rc"], reply["stdout"], reply["stderr"]

    def run_json(self, argv, timeout=120.0):
        """Runs @argv in the guest; returns its stdout parsed as JSON (raises when rc != 0)."""
        rc, out, err = self.run(argv, timeout)
        if rc != 0:
            raise GuestError(f"{argv} exited {rc}: {err.strip()} {out.strip()}")
        return json.loads(out)


class _LineSocket:
    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = buf

    def send(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b"\n")

    def recv(self, timeout):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise GuestError("guest agent closed the port")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def close(self):
        self.sock.close()


def default_image_dir():
    return os.environ.get("NR_QEMU_IMAGE_DIR") or os.path.join(SOURCE_DIR, "build", "qemu")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image-dir", default=default_image_dir())
    ap.add_argument("--run-dir")
    ap.add_argument("--daemon", default=os.environ.get("NVMERPCD")
                    or os.path.join(SOURCE_DIR, "build", "nvmerpcd"))
    ap.add_argument("--daemon-args", default="--log-level debug")
    args = ap.parse_args()
    run_dir = args.run_dir or tempfile.mkdtemp(prefix="nr-qemu-")
    guest = Guest(args.image_dir, run_dir, args.daemon, args.daemon_args.split())
    try:
        guest.start()
        print(f"guest ready in {guest.boot_seconds:.1f} s\n  rpc:     {guest.rpc_socket}\n"
              f"  agent:   {guest.agent_socket}\n  console: {guest.console_path}\n"
              f"  daemon:  {guest.daemon_log_path}\nCtrl-C powers it off.", flush=True)
        guest.proc.wait()
    except KeyboardInterrupt:
        pass
    except GuestError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        guest.stop()
        if not args.run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
