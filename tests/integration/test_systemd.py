"""systemd integration (server/sd.c): the socket a socket unit passes (LISTEN_FDS), READY=1,
STATUS=, WATCHDOG=1 and STOPPING=1 over NOTIFY_SOCKET, and the socket left in place on stop.

The test plays the service manager: it creates the listening socket and the notification
socket and starts the daemon with the LISTEN_*/NOTIFY_SOCKET/WATCHDOG_* variables, the way
systemd (or systemd-socket-activate) does.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import nvmerpc
from conftest import DAEMON, SIM_SN, START_TIMEOUT_S, STOP_TIMEOUT_S

# LISTEN_PID must be the daemon's pid: the shell sets it to its own and execs the daemon.
# The passed socket is moved to descriptor 3 (SD_LISTEN_FDS_START) before that.
WRAPPER = 'LISTEN_PID=$$ WATCHDOG_PID=$$ exec "$@"'


def linked_with_libsystemd():
    out = subprocess.run(["ldd", DAEMON], capture_output=True, text=True).stdout
    return "libsystemd" in out


pytestmark = pytest.mark.skipif(not linked_with_libsystemd(),
                                reason="nvmerpcd built without libsystemd (NR_SYSTEMD)")


class Manager:
    """A listening socket, a notification socket and the daemon started on them."""

    def __init__(self, tmp, args=(), env=None, listen=True, watchdog_usec=None, fdname="nvmerpcd"):
        os.chmod(tmp, 0o755)
        self.path = os.path.join(tmp, "activated.sock")
        self.notify_path = os.path.join(tmp, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.messages = []
        if listen:
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(self.path)
            self.listener.listen(16)
        else:  # something that is not a listening socket
            self.listener = open(os.path.join(tmp, "plain"), "w+")
        environ = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES=fdname,
                       NOTIFY_SOCKET=self.notify_path, **(env or {}))
        if watchdog_usec:
            environ["WATCHDOG_USEC"] = str(watchdog_usec)
        fd = self.listener.fileno()
        self.stderr = open(os.path.join(tmp, "stderr.log"), "w+b")
        # --socket names a path that must stay unused: the passed socket is served instead.
        self.proc = subprocess.Popen(
            ["sh", "-c", WRAPPER, "sh", DAEMON, "--simulate", "--no-passthru",
             "--socket", os.path.join(tmp, "unused.sock"), *args],
            env=environ, pass_fds=(3,), preexec_fn=lambda: os.dup2(fd, 3), stdin=subprocess.DEVNULL, stdout=self.stderr,
            stderr=self.stderr)
        self.listener.close()  # the daemon holds its copy, as systemd would keep its own

    def wait_for(self, prefix, timeout=START_TIMEOUT_S):
        """Notification messages until one has a line starting with @prefix; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in self.messages:
                if any(row.startswith(prefix) for row in msg.split("\n")):
                    self.messages.remove(msg)
                    return msg
            if self.proc.poll() is not None and not self._drain(0.05):
                break
            self._drain(0.2)
        raise AssertionError(f"no {prefix!r} notification; got {self.messages}, "
                             f"daemon: {self.proc.poll()}\n{self.log()}")

    def _drain(self, timeout):
        self.notify.settimeout(timeout)
        try:
            self.messages.append(self.notify.recv(4096).decode())
            return True
        except socket.timeout:
            return False

    def log(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("daemon ignored SIGTERM:\n" + self.log())

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        self.stderr.close()


@pytest.fixture
def manager():
    made = []

    def start(**kw):
        m = Manager(tempfile.mkdtemp(prefix="nr-sd-"), **kw)
        made.append(m)
        return m

    yield start
    for m in made:
        m.close()


def test_serves_the_passed_socket_and_reports_ready_with_device_counts(manager):
    m = manager()
    ready = m.wait_for("READY=1")
    assert f"STATUS=Serving 1 controller, 2 namespaces on {m.path}" in ready.split("\n")
    with nvmerpc.Client(m.path, timeout=10) as c:
        assert c.nvme_id_ctrl(device="sim0")["sn"] == SIM_SN
    assert not os.path.exists(os.path.join(os.path.dirname(m.path), "unused.sock"))
    assert "(socket from systemd)" in m.log()


def test_stop_says_stopping_and_leaves_the_socket_to_the_manager(manager):
    m = manager()
    m.wait_for("READY=1")
    assert m.stop() == 0, m.log()
    assert m.wait_for("STOPPING=1")
    # systemd keeps listening on it and starts the service for the next client.
    assert os.path.exists(m.path), "the daemon removed the socket unit's socket"
    assert not os.path.exists(m.path + ".lock")


def test_watchdog_pings_come_from_the_loop(manager):
    m = manager(watchdog_usec=200000)  # a ping every 100 ms
    m.wait_for("READY=1")
    for _ in range(3):
        m.wait_for("WATCHDOG=1", timeout=2)
    assert m.stop() == 0, m.log()


def test_no_watchdog_pings_unless_asked(manager):
    m = manager()
    m.wait_for("READY=1")
    time.sleep(0.5)
    m._drain(0.1)
    assert not [msg for msg in m.messages if "WATCHDOG=1" in msg]
    assert m.stop() == 0


def test_reload_leaves_the_socket_units_mode_alone(manager):
    m = manager()
    m.wait_for("READY=1")
    os.chmod(m.path, 0o600)
    m.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert os.stat(m.path).st_mode & 0o777 == 0o600
    with nvmerpc.Client(m.path, timeout=10) as c:
        assert c.rpc_ping() is not None
    assert m.stop() == 0


def test_a_single_socket_is_taken_whatever_its_name(manager):
    # systemd-socket-activate names it "unknown" unless --fdname is given.
    m = manager(fdname="unknown")
    m.wait_for("READY=1")
    with nvmerpc.Client(m.path, timeout=10) as c:
        assert c.rpc_ping() is not None
    assert m.stop() == 0


def test_a_passed_descriptor_that_is_not_a_listening_socket_is_refused(manager):
    m = manager(listen=False)
    assert m.proc.wait(START_TIMEOUT_S) == 1
    assert "not a listening Unix stream socket" in m.log()
    assert not [msg for msg in m.messages if "READY=1" in msg]


def test_ready_waits_for_the_first_mi_scan_and_still_comes(manager, tmp_path):
    # No MCTP here: the endpoint's scan fails, and READY=1 follows the scan's end.
    cfg = tmp_path / "mi.json"
    cfg.write_text('{"mi": {"endpoints": [{"net": 1, "eid": 8}], "dbus": false, '
                   '"timeout_ms": 200, "deadline_ms": 1000}}')
    os.chmod(tmp_path, 0o755)
    m = manager(args=("--config", str(cfg)))
    ready = m.wait_for("READY=1", timeout=START_TIMEOUT_S + 5)
    assert "STATUS=Serving 1 controller, 2 namespaces" in ready, ready
    with nvmerpc.Client(m.path, timeout=10) as c:
        assert c.mi_endpoints()["scans"] >= 1
    assert m.stop() == 0, m.log()
