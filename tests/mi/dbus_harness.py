"""A private D-Bus bus with fake MCTP daemons on it, for the NVMe-MI tests.

    with PrivateBus(tmp_path) as bus, FakeMctpd(bus, "codeconstruct", [(1, 9, [0, 4])]):
        rc, endpoints, stderr = discover(bus.address)

Binaries come from the environment tests/mi/dbus.cmake sets (NR_DBUS_TEST_ENV):
NR_FAKE_MCTPD, NR_MCTP_DISCOVER, NR_DBUS_CONF, NR_DBUS_DAEMON. Standard library only.
"""

import json
import os
import selectors
import shutil
import subprocess
import tempfile

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
DISCOVER_TIMEOUT_S = 30.0
# sun_path holds 108 bytes; pytest's tmp_path can be longer than that allows.
SOCKET_PATH_MAX = 100

SERVICES = {
    "codeconstruct": ("au.com.codeconstruct.MCTP1", "/au/com/codeconstruct/mctp1/networks/{net}/endpoints/{eid}"),
    "openbmc": ("xyz.openbmc_project.MCTP", "/xyz/openbmc_project/mctp/{net}/{eid}"),
}


def _env_path(name, default=None):
    value = os.environ.get(name, default)
    if not value or not os.path.exists(value):
        raise RuntimeError(f"{name}={value!r} is not an existing file; run through ctest "
                           "(tests/mi/dbus.cmake sets it)")
    return value


def _read_line(proc, timeout, what):
    """Returns the first stdout line of @proc, or raises when none comes in time."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            raise RuntimeError(f"{what} printed nothing within {timeout} s")
        line = proc.stdout.readline()
    finally:
        sel.close()
    if not line:
        raise RuntimeError(f"{what} exited (rc {proc.wait()}) before printing a line")
    return line.strip()


def _stop(proc, name):
    """Terminates @proc and returns its exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{name} ignored SIGTERM for {STOP_TIMEOUT_S} s")
    proc.stdout.close()
    return proc.returncode


class PrivateBus:
    """A dbus-daemon on a unix socket under @tmpdir, for as long as the context lasts."""

    def __init__(self, tmpdir):
        self.tmpdir = str(tmpdir)
        self.address = None
        self.proc = None
        self._dir = None

    def start(self):
        parent = self.tmpdir if len(self.tmpdir) < SOCKET_PATH_MAX - 20 else None
        self._dir = tempfile.mkdtemp(prefix="bus-", dir=parent)
        daemon = _env_path("NR_DBUS_DAEMON", shutil.which("dbus-daemon"))
        conf = _env_path("NR_DBUS_CONF")
        self._log = open(os.path.join(self._dir, "dbus-daemon.log"), "w")
        self.proc = subprocess.Popen(
            [daemon, f"--config-file={conf}",
             f"--address=unix:path={self._dir}/bus", "--nofork", "--print-address"],
            stdout=subprocess.PIPE, stderr=self._log, text=True)
        self.address = _read_line(self.proc, READY_TIMEOUT_S, "dbus-daemon")
        return self

    def stop(self):
        if self.proc:
            _stop(self.proc, "dbus-daemon")
            self.proc = None
            self._log.close()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class FakeMctpd:
    """fake_mctpd owning @service ("codeconstruct" or "openbmc") on @bus.

    @endpoints: (net, eid, [types]) tuples. stop() fails when the fake exits
    non-zero, so a sanitizer report in it fails the test.
    """

    def __init__(self, bus, service, endpoints, network_id_type="u", extra_args=()):
        self.bus = bus
        self.service = service
        self.endpoints = list(endpoints)
        self.network_id_type = network_id_type
        self.extra_args = list(extra_args)
        self.proc = None

    def argv(self):
        args = [_env_path("NR_FAKE_MCTPD"), "--address", self.bus.address,
                "--service", self.service, "--network-id-type", self.network_id_type]
        for net, eid, types in self.endpoints:
            args += ["--endpoint", f"{net}:{eid}:" + ",".join(f"0x{t:02x}" for t in types)]
        return args + self.extra_args

    def start(self):
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, text=True)
        line = _read_line(self.proc, READY_TIMEOUT_S, "fake_mctpd")
        if line != "ready":
            raise RuntimeError(f"fake_mctpd printed {line!r}, not 'ready'")
        return self

    def stop(self):
        if self.proc:
            rc = _stop(self.proc, "fake_mctpd")
            self.proc = None
            if rc != 0:
                raise RuntimeError(f"fake_mctpd exited with status {rc}")

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *exc):
        try:
            self.stop()
        except RuntimeError:
            if exc_type is None:
                raise


def endpoint(service, net, eid):
    """The line mctp_discover prints for an endpoint @service reports."""
    name, path = SERVICES[service]
    return {"net": net, "eid": eid, "service": name, "path": path.format(net=net, eid=eid)}


def discover(address, system_bus_address=None):
    """Runs mctp_discover on @address (None: the system bus, which is
    @system_bus_address when given). Returns (exit status, [endpoint dicts], stderr)."""
    argv = [_env_path("NR_MCTP_DISCOVER")] + ([address] if address is not None else [])
    env = dict(os.environ)
    if system_bus_address is not None:
        env["DBUS_SYSTEM_BUS_ADDRESS"] = system_bus_address
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=DISCOVER_TIMEOUT_S,
                          env=env)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, lines, proc.stderr

