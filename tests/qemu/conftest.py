"""Fixtures of the QEMU suite: one guest boot per session, the daemon inside it.

Environment (set by ctest): NVMERPCD (the daemon, run inside the guest from the host's root),
NR_OPENRPC, NR_SOURCE_DIR, PYTHONPATH=clients/python, NR_QEMU_IMAGE_DIR (where build-image.sh
caches the kernel and initramfs; default build/qemu), NR_QEMU_DAEMON_ARGS (default
"--log-level debug"). A failing test's report carries the guest console and the daemon's stderr.
Tests marked `last` (they change the guest for good) run after all the others.
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import guest as guest_mod  # noqa: E402

SOURCE_DIR = guest_mod.SOURCE_DIR
DAEMON = os.environ.get("NVMERPCD") or os.path.join(SOURCE_DIR, "build", "nvmerpcd")
TIMINGS = {}


def _load_integration_helpers():
    """tests/integration/conftest.py under another module name: its schema validator and
    assertions are shared, and it must not shadow this conftest."""
    path = os.path.join(SOURCE_DIR, "tests", "integration", "conftest.py")
    spec = importlib.util.spec_from_file_location("nr_integration_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _load_integration_helpers()


def _provision(image_dir):
    """Runs build-image.sh (idempotent); skips the suite only when QEMU or the guest kernel
    cannot be provisioned on this machine."""
    t0 = time.monotonic()
    proc = subprocess.run(["sh", os.path.join(HERE, "build-image.sh"), image_dir],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    TIMINGS["build-image.sh"] = time.monotonic() - t0
    have_qemu = subprocess.run(["sh", "-c", "command -v qemu-system-x86_64"],
                               stdout=subprocess.DEVNULL).returncode == 0
    have_kernel = all(os.path.exists(os.path.join(image_dir, f))
                      for f in ("vmlinuz", "initrd.cpio.gz"))
    if proc.returncode != 0:
        if not (have_qemu and have_kernel):
            pytest.skip(f"QEMU or the guest kernel cannot be provisioned:\n{proc.stdout[-3000:]}")
        pytest.fail(f"build-image.sh failed:\n{proc.stdout[-3000:]}")


@pytest.fixture(scope="session")
def guest(request):
    if not os.access(DAEMON, os.X_OK):
        pytest.fail(f"daemon binary {DAEMON} not found: build it or set NVMERPCD")
    image_dir = os.environ.get("NR_QEMU_IMAGE_DIR") or os.path.join(SOURCE_DIR, "build", "qemu")
    _provision(image_dir)
    args = os.environ.get("NR_QEMU_DAEMON_ARGS", "--log-level debug").split()
    run_dir = tempfile.mkdtemp(prefix="nr-qemu-")
    g = guest_mod.Guest(image_dir, run_dir, DAEMON, args)
    request.session.nr_guest = g
    try:
        g.start()
    except guest_mod.GuestError as e:
        g.stop()
        pytest.fail(str(e))
    TIMINGS["boot (QEMU start to /init READY)"] = g.boot_seconds
    TIMINGS["suite start"] = time.monotonic()
    yield g
    g.stop()
    TIMINGS["suite (after boot)"] = time.monotonic() - TIMINGS.pop("suite start")
    if not request.session.testsfailed:
        import shutil
        shutil.rmtree(run_dir, ignore_errors=True)


class Connection:
    """The session's connection to the daemon in the guest: an nvmerpc.Client (its attributes
    pass through) that reconnect() replaces. The guest runs one daemon per host connection, so
    a reconnection starts a new daemon, with the arguments then in force (set_daemon_args)."""

    def __init__(self, guest):
        self.guest = guest
        self.client = guest.client()

    def __getattr__(self, name):
        return getattr(self.client, name)

    def reconnect(self):
        self.client = self.guest.reconnect(self.client)
        return self

    def close(self):
        self.client.close()


@pytest.fixture(scope="session")
def c(guest):
    """The session's connection to the daemon in the guest."""
    conn = Connection(guest)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def schema():
    return helpers.load_openrpc()


@pytest.fixture(scope="session")
def validate_result(schema):
    return helpers.make_validator(schema)


def pytest_configure(config):
    config.addinivalue_line("markers", "last: changes the guest for good (hot removal); runs "
                            "after every other test of the session")


def pytest_collection_modifyitems(items):
    """Tests marked last run last, in their order, whatever the file order."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    g = getattr(item.session, "nr_guest", None)
    if rep.failed and g is not None:
        rep.sections.append(("guest console and daemon log", g.diagnostics(tail_lines=150)))


def pytest_terminal_summary(terminalreporter):
    for what, seconds in TIMINGS.items():
        if what != "suite start":
            terminalreporter.write_line(f"qemu timing: {what}: {seconds:.1f} s")
