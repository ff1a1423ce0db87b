"""Fixtures for the NVMe-MI suite: the integration suite's daemon factory,
the NVMe-MI responder behind the AF_MCTP interposer, and a daemon wired to it.

Environment (tests/mi/*.cmake): NVMERPCD, NR_OPENRPC, NR_MI_RESPONDER,
NR_MCTP_INTERPOSE, NR_FAKE_MCTPD, NR_DBUS_CONF, NR_SANITIZED.
"""
import importlib.util
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("NR_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "clients", "python"))
sys.path.insert(0, HERE)

# The integration suite's fixtures (daemon factory, result validation),
# loaded under another name: both files are called conftest.py.
_spec = importlib.util.spec_from_file_location(
    "nr_integration_conftest", os.path.join(SOURCE_DIR, "tests", "integration", "conftest.py"))
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)
daemon = it.daemon
schema = it.schema
validate_result = it.validate_result
pytest_runtest_makereport = it.pytest_runtest_makereport

import mi_harness  # noqa: E402

SANITIZED = os.environ.get("NR_SANITIZED", "").upper() in ("1", "ON", "TRUE")

# Endpoint defaults for the daemon under test: short enough that timeout
# cases finish quickly, long enough for a loaded 2-core CI machine.
MI_TIMEOUT_MS = 1000
MI_DEADLINE_MS = 2500
QUARANTINE_AFTER = 3
QUARANTINE_MS = 1500


def ep_name(net, eid, ctrl=None):
    return f"mctp:{net},{eid}" if ctrl is None else f"mctp:{net},{eid}:{ctrl}"


class MiRig:
    """A responder and a daemon reaching it: .responder, .daemon, .client(), .scan()."""

    def __init__(self, responder, daemon):
        self.responder = responder
        self.daemon = daemon

    def client(self, timeout=30.0):
        return self.daemon.client(timeout)

    def scan(self):
        with self.client() as c:
            return c.call("mi.scan")


@pytest.fixture
def mi_rig(daemon, tmp_path):
    """Factory: mi_rig(endpoints, mi=None, args=(), scan=True, dbus=None) -> MiRig.

    @endpoints is the responder's list ({net, eid, sim?, behaviour?}); the
    daemon's config names each one statically unless @mi overrides the "mi"
    section. The daemon runs on the built-in simulator too (sim0), so MI
    answers can be compared with the simulator's direct ones.
    """
    responders = []

    def start(endpoints, mi=None, args=(), scan=True, static=True):
        resp = mi_harness.Responder({"endpoints": endpoints}, str(tmp_path))
        resp.start()
        responders.append(resp)
        section = {"timeout_ms": MI_TIMEOUT_MS, "deadline_ms": MI_DEADLINE_MS,
                   "quarantine_after": QUARANTINE_AFTER, "quarantine_ms": QUARANTINE_MS}
        if static:
            section["endpoints"] = [{"net": e["net"], "eid": e["eid"]} for e in endpoints]
        section.update(mi or {})
        config = tmp_path / "nvmerpcd.json"
        config.write_text(json.dumps({"mi": section}))
        env = dict(os.environ)
        env.update(mi_harness.preload_env(None, resp, SANITIZED))
        d = daemon(args=("--no-passthru", "--config", str(config), *args), env=env)
        rig = MiRig(resp, d)
        if scan:
            rig.scan()
        return rig

    yield start
    for resp in responders:
        resp.stop()
