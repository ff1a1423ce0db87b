"""nvmerpc-exporter in front of a daemon that reaches a drive over NVMe-MI:
the MI-reached controller gets the NVMe-MI health poll's metrics (values the
responder was told to show), a controller of another backend gets none, and
promtool accepts the output. The exporter binary is built from clients/go
with the project's Go (scripts/setup.sh installs it)."""
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import SOURCE_DIR, ep_name

GO = os.environ.get("GO", "/usr/lib/go-1.23/bin/go")
SN = "NRSIM0000000001"  # the responder's default subsystem, and the daemon's sim0
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


@pytest.fixture(scope="module")
def exporter(tmp_path_factory):
    if not os.access(GO, os.X_OK):
        pytest.fail(f"no Go toolchain at {GO}: ./scripts/setup.sh installs it")
    out = tmp_path_factory.mktemp("exporter") / "nvmerpc-exporter"
    build = os.path.dirname(os.environ.get("NVMERPCD", os.path.join(SOURCE_DIR, "build", "x")))
    env = dict(os.environ, GOPROXY="off", GOTOOLCHAIN="local", GO111MODULE="on",
               GOCACHE=os.path.join(build, "go-cache"))
    subprocess.run([GO, "build", "-o", str(out), "./cmd/nvmerpc-exporter"], check=True,
                   cwd=os.path.join(SOURCE_DIR, "clients", "go"), env=env)
    return str(out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def samples(text):
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def lab(ctrl, serial=SN, **extra):
    s = f'{{controller="{ctrl}",serial="{serial}"'
    return s + "".join(f',{k}="{v}"' for k, v in extra.items()) + "}"


def test_exporter_exports_mi_health_for_mi_controllers(mi_rig, exporter):
    rig = mi_rig([{"net": 1, "eid": 8}])
    dev = ep_name(1, 8, 1)
    rig.responder.health(1, 8, temperature=331, percent_used=37, critical_warning=0x04)
    port = free_port()
    proc = subprocess.Popen([exporter, "--listen", f"127.0.0.1:{port}", "--socket",
                             rig.daemon.socket, "--interval", "200ms"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, text, got = time.monotonic() + 30, "", {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
            except OSError:
                text = ""
            got = samples(text)
            if got.get("nvme_up" + lab(dev)) == 1 and \
                    ("nvme_mi_percentage_drive_life_used_ratio" + lab(dev)) in got:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the exporter never served {dev}'s MI health:\n{text}")
    finally:
        proc.terminate()
        proc.wait(10)
    assert got["nvme_mi_composite_temperature_celsius" + lab(dev)] == 331 - 273
    assert got["nvme_mi_percentage_drive_life_used_ratio" + lab(dev)] == 0.37
    assert got["nvme_mi_smart_warnings" + lab(dev)] == 4
    assert got["nvme_mi_smart_warning_bit" + lab(dev, bit="reliability")] == 1
    assert got["nvme_mi_smart_warning_bit" + lab(dev, bit="temperature")] == 0
    assert got["nvme_mi_nvm_subsystem_status_bit" + lab(dev, bit="drive_functional")] == 1
    assert got["nvme_mi_composite_controller_status_bit" + lab(dev, bit="ready")] == 1
    assert got["nvme_mi_composite_controller_status_bit" +
               lab(dev, bit="critical_warning_changed")] == 1
    # The same values through SMART, tunneled: the health poll agrees with the log.
    assert got["nvme_temperature_celsius" + lab(dev)] == pytest.approx(331 - 273.15)
    assert got["nvme_critical_warning" + lab(dev)] == 4
    # sim0 is not reached over MI: no MI series for it.
    assert not [k for k in got if k.startswith("nvme_mi_") and 'controller="sim0"' in k]
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.fail("promtool not found: ./scripts/setup.sh installs Debian's prometheus")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), \
        check.stdout + check.stderr
