"""Harness for the fake NVMe-MI network (stdlib only).

Binaries come from the environment that tests/mi/responder.cmake sets
(NR_MI_TEST_ENV): NR_MI_RESPONDER, NR_MCTP_INTERPOSE, NR_MI_PROBE.

    with Responder({"endpoints": [{"net": 1, "eid": 8}]}, tmpdir) as r:
        env = dict(os.environ, **preload_env(None, r, sanitized=False))
        subprocess.run([probe_path(), "1", "8"], env=env)
        r.set(1, 8, delay_ms=500)
        r.stats(1, 8)["requests"]

RawEndpoint speaks the shim's wire format directly, for checks that
libnvme-mi cannot express (bad MICs, unknown opcodes, MPR sequences).
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
MCTP_TYPE_NVME_MI = 0x84
MCTP_TAG_OWNER = 0x08
WIRE_HDR = struct.Struct("<IBBBB")  # net, eid, type, tag, reserved
NMIMT_MI = 1
NMIMT_ADMIN = 2
_ENV_NAMES = {"responder": "NR_MI_RESPONDER", "interpose": "NR_MCTP_INTERPOSE",
              "probe": "NR_MI_PROBE"}
_BUILD_NAMES = {"responder": "mi_responder", "interpose": "libmctp_interpose.so",
                "probe": "mi_probe"}


def binary_paths(build_dir=None):
    """Returns {"responder", "interpose", "probe"} paths: the environment's,
    else those under @build_dir/tests/mi (default: the source tree's build/)."""
    if build_dir is None:
        source = os.environ.get("NR_SOURCE_DIR") or os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "..")
        build_dir = os.path.join(source, "build")
    paths = {}
    for key, env in _ENV_NAMES.items():
        path = os.environ.get(env)
        if not path and build_dir:
            path = os.path.join(build_dir, "tests", "mi", _BUILD_NAMES[key])
        if not path:
            raise RuntimeError(f"{env} is not set and no build directory was given")
        paths[key] = path
    return paths


def crc32c(data, crc=0xFFFFFFFF):
    """NVMe-MI's MIC: CRC-32C, reflected, initial and final XOR all ones."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def sanitizer_runtime():
    """The ASan runtime a sanitized process must load first, or None."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        return None
    out = subprocess.run([cc, "-print-file-name=libasan.so"], capture_output=True,
                         text=True).stdout.strip()
    return os.path.realpath(out) if os.path.isabs(out) and os.path.exists(out) else None


def preload_env(build_dir_or_paths, responder, sanitized=None):
    """Environment variables for a process under test that should see the
    responder's endpoints as AF_MCTP. @build_dir_or_paths: a build directory,
    a dict from binary_paths(), or None for the environment's paths.
    @sanitized (default: NR_SANITIZED) puts the ASan runtime first in
    LD_PRELOAD, as ASan insists, and also relaxes its link-order check."""
    if isinstance(build_dir_or_paths, dict):
        paths = build_dir_or_paths
    else:
        paths = binary_paths(build_dir_or_paths)
    if sanitized is None:
        sanitized = os.environ.get("NR_SANITIZED", "0").lower() in ("1", "on", "true", "yes")
    preload = [os.path.abspath(paths["interpose"])]
    env = {"NR_MCTP_SOCKET": responder.socket_path}
    if sanitized:
        runtime = sanitizer_runtime()
        if runtime:
            preload.insert(0, runtime)
        opts = os.environ.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = ":".join(o for o in (opts, "verify_asan_link_order=0") if o)
    env["LD_PRELOAD"] = " ".join(preload)
    return env


class ResponderError(RuntimeError):
    pass


class Responder:
    """One mi_responder process with its sockets in @tmpdir."""

    def __init__(self, config, tmpdir, verbose=False, paths=None):
        self.config = config
        self.tmpdir = str(tmpdir)
        self.verbose = verbose
        self.paths = paths or binary_paths()
        self.socket_path = os.path.join(self.tmpdir, "mi.sock")
        self.control_path = os.path.join(self.tmpdir, "mi-control.sock")
        self.log_path = os.path.join(self.tmpdir, "mi_responder.log")
        self.proc = None
        self._ctl = None
        self._ctl_file = None
        self._lock = threading.Lock()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        config_path = os.path.join(self.tmpdir, "mi_responder.json")
        with open(config_path, "w") as f:
            json.dump(self.config, f)
        cmd = [self.paths["responder"], "--socket", self.socket_path,
               "--control", self.control_path, "--config", config_path]
        if self.verbose:
            cmd.append("--verbose")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise ResponderError(f"mi_responder exited {self.proc.returncode}: {self.log()}")
            try:
                self._connect()
                self._call({"op": "ping"})
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise ResponderError("mi_responder did not start: " + self.log())
                time.sleep(0.02)

    def _connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.control_path)
        except OSError:
            sock.close()
            raise
        sock.settimeout(10.0)
        self._ctl, self._ctl_file = sock, sock.makefile("rb")

    def stop(self):
        """Stops the process; returns its exit status (0 after a clean stop)."""
        if self._ctl:
            self._ctl_file.close()
            self._ctl.close()
            self._ctl = self._ctl_file = None
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _call(self, request):
        with self._lock:
            self._ctl.sendall(json.dumps(request).encode() + b"\n")
            line = self._ctl_file.readline()
        if not line:
            raise ResponderError("control connection closed: " + self.log())
        reply = json.loads(line)
        if not reply.get("ok"):
            raise ResponderError(reply.get("error", "request failed"))
        return reply

    def set(self, net, eid, **behaviour):
        """Changes the keys given; the others keep their values."""
        self._call({"op": "set", "net": net, "eid": eid, "behaviour": behaviour})

    def stats(self, net, eid):
        reply = self._call({"op": "stats", "net": net, "eid": eid})
        reply.pop("ok")
        return reply

    def health(self, net, eid, ctrl=None, **health):
        """Overrides SMART values of the endpoint's simulated controllers (all,
        or the @ctrl-th): critical_warning, temperature (Kelvin),
        avail_spare, percent_used, media_errors; None drops one."""
        req = {"op": "health", "net": net, "eid": eid, "health": health}
        if ctrl is not None:
            req["ctrl"] = ctrl
        return self._call(req)["health"]

    def reset_stats(self, net=None, eid=None):
        req = {"op": "reset_stats"}
        if net is not None:
            req.update(net=net, eid=eid)
        self._call(req)


def mi_request(opcode, cdw0=0, cdw1=0, csi=0):
    """An MI command message: type byte first, no MIC."""
    nmp = NMIMT_MI << 3 | csi
    return struct.pack("<BBBBB3xII", MCTP_TYPE_NVME_MI, nmp, 0, 0, opcode, cdw0, cdw1)


def admin_request(opcode, ctrl_id, cdw1=0, cdw10=0, dlen=0, doff=0, flags=0x3, data=b""):
    """A tunnelled Admin command message: type byte first, no MIC."""
    hdr = struct.pack("<BBBBBBH5III2I6I", MCTP_TYPE_NVME_MI, NMIMT_ADMIN << 3, 0, 0, opcode,
                      flags, ctrl_id, cdw1, 0, 0, 0, 0, doff, dlen, 0, 0, cdw10, 0, 0, 0, 0, 0)
    return hdr + data


class RawEndpoint:
    """A seqpacket connection to the responder, as the shim makes one."""

    def __init__(self, responder, net, eid):
        self.net, self.eid = net, eid
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(responder.socket_path)

    def close(self):
        self.sock.close()

    def send(self, msg, tag=0, good_mic=True):
        """Sends @msg (type byte first) with its MIC appended."""
        mic = crc32c(msg) ^ (0 if good_mic else 0xFFFFFFFF)
        hdr = WIRE_HDR.pack(self.net, self.eid, msg[0], MCTP_TAG_OWNER | tag, 0)
        self.sock.send(hdr + msg[1:] + struct.pack("<I", mic))

    def recv(self, timeout=2.0):
        """Returns (wire header tuple, message with type byte, MIC ok), or
        None when nothing comes within @timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return None
        hdr = WIRE_HDR.unpack_from(data)
        msg = bytes([hdr[2]]) + data[WIRE_HDR.size:]
        body, mic = msg[:-4], struct.unpack("<I", msg[-4:])[0]
        return hdr, body, crc32c(body) == mic
