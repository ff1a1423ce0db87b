"""Fixtures for the nvmerpc.nvme collection's tests: daemons on the simulator (the integration
suite's Daemon, over its real socket) and ansible-playbook run with the collection from this tree.

Environment (set by ctest): NVMERPCD, NR_SOURCE_DIR.
"""
import base64
import importlib.util
import json
import os
import shutil
import subprocess

import pytest

SOURCE_DIR = os.environ.get("NR_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(SOURCE_DIR, "clients", "ansible")
COLLECTION = os.path.join(COLLECTIONS, "ansible_collections", "nvmerpc", "nvme")
SNAPSHOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snapshot.py")
PYTHON = "/usr/bin/python3"

_spec = importlib.util.spec_from_file_location(
    "nr_integration_conftest", os.path.join(SOURCE_DIR, "tests", "integration", "conftest.py"))
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)

GIB = 1 << 30
MIB = 1 << 20
FW_REV = "NEW00001"
# docs/simulator.md: an image starting with NRFW carries its revision in bytes 4..11.
FW_IMAGE = base64.b64encode(b"NRFW" + FW_REV.encode() + b"\0" * 4).decode()
# Firmware Image Download's opcode, for the injected failure.
OPC_FW_DOWNLOAD = 0x11


def sim(sn):
    """One controller (cntlid 1, serial @sn) with a 1 GiB namespace and a zoned one."""
    return integration.sim_json([{
        "nqn": f"nqn.2024-01.io.nvmerpcd:{sn.lower()}", "capacity": 8 * GIB,
        "controllers": [{"sn": sn, "cntlid": 1, "fr": "1.0"}],
        "namespaces": [{"nsid": 1, "lba_size": 512, "blocks": GIB // 512},
                       {"nsid": 2, "zoned": {"zone_size": 2048, "nr_zones": 16}}]}])


@pytest.fixture
def daemons():
    """daemons(n) starts n daemons on the simulator, serials NRANS000000000{1..n}, each in its
    own world-traversable directory (short socket paths; uid 65534 reaches them)."""
    started = []

    def start(n):
        for i in range(n):
            d = integration.Daemon(integration._workdir(), [],
                                   sim=sim(f"NRANS000000000{i + 1}"))
            started.append(d)
            d.wait_ready()
        return started
    yield start
    for d in started:
        assert d.stop() == 0, d.stderr_text()
        shutil.rmtree(d.workdir, ignore_errors=True)


def snapshot(daemon):
    """The controller's state as tests/ansible/snapshot.py reads it."""
    out = subprocess.run([PYTHON, SNAPSHOT, daemon.socket], check=True, capture_output=True)
    return json.loads(out.stdout)


def ansible_env(tmp_path):
    """The environment ansible-playbook and ansible-doc run in: the collection from this tree,
    Debian's Python, no colour, no retry files, and their temporary files under @tmp_path."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\nforks = 3\n[connection]\npipelining = True\n")
    env = dict(os.environ, HOME=str(home), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
               ANSIBLE_PYTHON_INTERPRETER=PYTHON, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_DEPRECATION_WARNINGS="false",
               ANSIBLE_LOCAL_TEMP=str(home / "tmp"), ANSIBLE_REMOTE_TEMP=str(home / "rtmp"),
               ANSIBLE_CONFIG=str(config))
    env.pop("PYTHONPATH", None)
    return env


def playbook(tmp_path, plays, inventory, *args):
    """Writes @plays (JSON is YAML) and @inventory (INI text), runs ansible-playbook with --diff
    and @args; returns the CompletedProcess (stdout and stderr together in .stdout)."""
    book = tmp_path / "playbook.yml"
    book.write_text(json.dumps(plays, indent=1))
    inv = tmp_path / "inventory.ini"
    inv.write_text(inventory)
    proc = subprocess.run(["ansible-playbook", "-i", str(inv), "--diff", *args, str(book)],
                          env=ansible_env(tmp_path), cwd=str(tmp_path), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    print(proc.stdout)
    return proc


def recap(output):
    """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}} from PLAY RECAP."""
    hosts = {}
    lines = output.split("PLAY RECAP")[-1].splitlines()[1:]
    for row in lines:
        if ":" not in row or "=" not in row:
            continue
        host, counts = row.split(":", 1)
        hosts[host.strip()] = {k: int(v) for k, v in (c.split("=") for c in counts.split())}
    return hosts
