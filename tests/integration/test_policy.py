"""The authorization policy in the config file: classes and per-method rules
by uid and group (supplementary groups from the kernel), the socket's group
and mode, SIGHUP reload, what a refused peer sees, the audit line, and
server.stats' visibility. Peers other than root are uid 65534 children."""
import base64
import hashlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time

import pytest

from conftest import DAEMON, SIM_SN, as_nobody, fork_as_nobody, rpc

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to uid 65534")

WRITERS = 41234  # a gid no account has: only the children given it belong to it
OPEN = rpc("nvme.zns.mgmt_send", id=1, device="sim0n2", action="open", slba=2048)
RESET = rpc("nvme.zns.mgmt_send", id=2, device="sim0n2", action="reset", slba=2048,
            confirm=SIM_SN)
ID_CTRL = rpc("nvme.id_ctrl", id=3, device="sim0")
SMART = rpc("nvme.smart_log", id=4, device="sim0")


def config(tmp_path, doc, name="nvmerpcd.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    os.chmod(tmp_path, 0o755)
    return str(path)


def denied(resp, cls):
    assert resp["error"]["code"] == -32007, resp
    data = resp["error"]["data"]
    assert data["name"] == "PermissionDenied" and data["class"] == cls, resp
    assert data["uid"] == 65534, resp
    return data


def wait_log(d, pattern, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.findall(pattern, d.stderr_text())
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {pattern!r} in:\n{d.stderr_text()}")


def test_group_member_may_write_others_may_not(daemon, tmp_path):
    cfg = config(tmp_path, {"policy": {"write": {"groups": [WRITERS]}}})
    d = daemon(args=["--config", cfg])
    assert "result" in as_nobody(d.socket, [OPEN], groups=[WRITERS])[0]
    data = denied(as_nobody(d.socket, [OPEN])[0], "write")
    assert "uid 65534" in data["reason"]
    # Writers are not destroyers: reset still needs the destructive rule.
    denied(as_nobody(d.socket, [RESET], groups=[WRITERS])[0], "destructive")


def test_names_resolve_users_and_groups(daemon, tmp_path):
    cfg = config(tmp_path, {"policy": {"write": {"uids": ["nobody"]},
                                       "destructive": {"groups": ["nogroup"]}}})
    d = daemon(args=["--config", cfg])
    # uid 65534 is nobody, gid 65534 nogroup (its primary group counts too).
    assert [("result" in r) for r in as_nobody(d.socket, [OPEN, RESET])] == [True, True]


def test_per_method_rule_replaces_its_class_rule(daemon, tmp_path):
    cfg = config(tmp_path, {"policy": {"methods": {"nvme.id_ctrl": {"uids": []},
                                                   "nvme.zns.mgmt_send": "any"}}})
    d = daemon(args=["--config", cfg])
    got = as_nobody(d.socket, [ID_CTRL, SMART, OPEN, RESET])
    denied(got[0], "read")
    assert "result" in got[1]
    assert "result" in got[2], got[2]  # open: the method's own class, the override says any
    denied(got[3], "destructive")  # reset raises the class: the class rule applies


def test_read_rule_can_exclude_everyone_but_root(daemon, tmp_path):
    cfg = config(tmp_path, {"policy": {"read": {"uids": []}}})
    d = daemon(args=["--config", cfg])
    denied(as_nobody(d.socket, [SMART])[0], "read")
    with d.client() as c:
        assert c.nvme_smart_log(device="sim0") is not None


def test_batch_elements_and_notifications_are_each_checked(daemon, tmp_path):
    d = daemon()
    note = {"jsonrpc": "2.0", "method": "nvme.format", "params": {
        "device": "sim0", "lbaf": 0, "confirm": SIM_SN}}
    got = as_nobody(d.socket, [[ID_CTRL, OPEN, note, SMART], note, rpc("rpc.ping", id=9)])
    batch = {r["id"]: r for r in got[0]}
    assert set(batch) == {3, 1, 4}  # the notification got no answer
    assert "result" in batch[3] and "result" in batch[4]
    denied(batch[1], "write")
    assert got[1] is None and got[2]["result"] == "pong"
    refused = wait_log(d, r"audit: uid=65534 .*method=nvme\.format device=sim0 "
                          r"outcome=PermissionDenied")
    assert len(refused) == 2  # the notification in the batch and the one alone
    with d.client() as c:  # and nothing was formatted: sim0n1 is still there
        assert c.nvme_id_ns(device="sim0n1")["nsze"] > 0


def test_socket_group_and_mode(daemon, tmp_path):
    cfg = config(tmp_path, {"socket": {"group": WRITERS, "mode": "0660"}})
    d = daemon(args=["--config", cfg])
    st = os.stat(d.socket)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == WRITERS
    with pytest.raises(AssertionError, match="Permission denied"):
        as_nobody(d.socket, [rpc("rpc.ping", id=1)])
    assert as_nobody(d.socket, [rpc("rpc.ping", id=1)], groups=[WRITERS])[0]["result"] == "pong"


def test_default_socket_mode_without_policy_group(daemon):
    d = daemon()
    assert stat.S_IMODE(os.stat(d.socket).st_mode) == 0o666


def test_bad_config_refused_at_start_naming_the_key(tmp_path):
    for doc, key in [({"policy": {"write": {"groups": ["no-such-group-here"]}}},
                      "policy.write.groups[0]: no such group"),
                     ({"policy": {"methods": {"nvme.nope": "any"}}},
                      "policy.methods.nvme.nope: no such method"),
                     ({"policy": {"writ": "any"}}, "policy.writ: unknown key"),
                     ({"socket": {"mode": "888"}}, "socket.mode"),
                     ({"polcy": {}}, "polcy: unknown key")]:
        cfg = config(tmp_path, doc)
        out = subprocess.run([DAEMON, "--stdio", "--simulate", "--no-passthru", "--config", cfg],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        assert out.returncode == 1, doc
        assert key in out.stderr.decode(), (doc, out.stderr)


def test_sighup_reloads_policy_and_keeps_it_on_a_bad_file(daemon, tmp_path):
    cfg = config(tmp_path, {"policy": {"write": {"uids": []}}})
    d = daemon(args=["--config", cfg])
    denied(as_nobody(d.socket, [OPEN])[0], "write")
    config(tmp_path, {"policy": {"write": {"uids": [65534]}}})
    d.proc.send_signal(signal.SIGHUP)
    wait_log(d, r"SIGHUP: reloaded")
    assert "result" in as_nobody(d.socket, [OPEN])[0]
    # A bad file changes nothing, and the log names the key at fault.
    config(tmp_path, {"policy": {"write": {"uids": [65534], "groups": ["no-such-group-here"]}}})
    d.proc.send_signal(signal.SIGHUP)
    wait_log(d, r"SIGHUP: .*policy\.write\.groups\[0\]: no such group.*kept the running")
    assert "result" in as_nobody(d.socket, [OPEN])[0]
    assert d.proc.poll() is None


def test_sighup_changes_socket_access(daemon, tmp_path):
    cfg = config(tmp_path, {})
    d = daemon(args=["--config", cfg])
    assert as_nobody(d.socket, [rpc("rpc.ping", id=1)])[0]["result"] == "pong"
    config(tmp_path, {"socket": {"group": WRITERS, "mode": "0660"}})
    d.proc.send_signal(signal.SIGHUP)
    wait_log(d, r"SIGHUP: reloaded")
    assert stat.S_IMODE(os.stat(d.socket).st_mode) == 0o660
    with pytest.raises(AssertionError, match="Permission denied"):
        as_nobody(d.socket, [rpc("rpc.ping", id=1)])


def test_server_stats_are_read_class_for_the_unprivileged_exporter(daemon, tmp_path):
    """The daemon-wide aggregates go to every peer allowed the read-class
    method (the exporter runs as an unprivileged user); a per-method rule
    still narrows them."""
    d = daemon()
    with d.client() as c:
        for _ in range(5):
            c.rpc_ping()
    stats = rpc("server.stats", id=7)
    mine = as_nobody(d.socket, [rpc("rpc.ping", id=1), stats])[1]["result"]
    assert mine["scope"] == "server" and mine["requests"] >= 7, mine
    assert mine["methods"]["rpc.ping"]["calls"] >= 6 and "sim0" in mine["queues"], mine
    assert mine["connection"] == {"requests": 2, "errors": 0, "in_flight": 1}
    cfg = config(tmp_path, {"policy": {"methods": {"server.stats": {"groups": [WRITERS]}}}})
    d = daemon(args=["--config", cfg])
    denied(as_nobody(d.socket, [stats])[0], "read")
    member = as_nobody(d.socket, [stats], groups=[WRITERS])[0]["result"]
    assert member["scope"] == "server" and member["methods"]["server.stats"]["calls"] >= 1


def test_audit_line_has_gid_params_digest_and_duration(daemon):
    d = daemon()
    data = base64.b64encode(bytes(range(256)) * 2).decode()  # one 512-byte block
    with d.client() as c:
        c.nvme_zns_mgmt_send(device="sim0n2", action="open", slba=4096)
        c.nvme_zns_append(device="sim0n2", slba=4096, data=data)
    lines = wait_log(d, r"audit: uid=0 pid=\d+ gid=0 params=sha256:([0-9a-f]{64}) "
                        r"duration_ms=(\d+\.\d{3}) method=nvme\.zns\.mgmt_send device=sim0n2 "
                        r"outcome=ok")
    params = {"device": "sim0n2", "action": "open", "slba": 4096}
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":")).encode()
    assert lines[0][0] == hashlib.sha256(canonical).hexdigest()
    # A payload is digested as its length, never logged.
    log = d.stderr_text()
    assert data not in log
    append = re.findall(r"params=sha256:([0-9a-f]{64}) \S+ method=nvme\.zns\.append "
                        r"device=sim0n2 outcome=ok", log)
    with_len = {"device": "sim0n2", "slba": 4096, "data": len(data)}
    assert append == [hashlib.sha256(json.dumps(
        with_len, sort_keys=True, separators=(",", ":")).encode()).hexdigest()]


def test_refused_peer_sees_class_and_uid(daemon):
    d = daemon()
    resp = as_nobody(d.socket, [rpc("nvme.get_log", id=5, device="sim0", lid=2, length=512,
                                    rae=False)])[0]
    data = denied(resp, "write")
    assert data["param"] == "params.rae"
    assert resp["error"]["message"].startswith("Permission denied: nvme.get_log with rae false")


def test_zone_open_needs_no_confirm_reset_does(daemon):
    d = daemon()
    with d.client() as c:
        assert c.nvme_zns_mgmt_send(device="sim0n2", action="open", slba=6144)["action"] == "open"
        with pytest.raises(Exception) as e:
            c.nvme_zns_mgmt_send(device="sim0n2", action="reset", slba=6144)
        assert e.value.code == -32008
    got = as_nobody(d.socket, [rpc("nvme.zns.mgmt_send", id=1, device="sim0n2",
                                   action="close", slba=6144)])
    denied(got[0], "write")


def test_connect_as_nobody_to_socket_for_group_only_fails_cleanly(daemon, tmp_path):
    cfg = config(tmp_path, {"socket": {"group": WRITERS, "mode": "0660"}})
    d = daemon(args=["--config", cfg])

    def refused():
        with pytest.raises(PermissionError):
            socket.socket(socket.AF_UNIX).connect(d.socket)

    assert fork_as_nobody(refused) == 0


def test_rpc_cancel_reaches_only_its_own_connections_calls(daemon):
    from conftest import slow_fast_sim
    d = daemon(sim=slow_fast_sim(slow_us=400000))
    with d.raw() as a, d.raw() as b:
        a.send(rpc("nvme.id_ctrl", id=1, device="sim0"))
        time.sleep(0.1)
        # Another connection (root, even) cannot cancel it by guessing the id.
        assert b.call(rpc("rpc.cancel", id=2, params={"id": 1}))["result"]["cancelled"] is False
        assert a.recv()["result"]["sn"] == "SLOW0001"


def test_second_sighup_with_the_same_mi_section_reports_no_change(daemon, tmp_path):
    # The running MI section is compared with the file on each reload; a
    # reload once lost it, so the next one claimed the section had changed.
    cfg = config(tmp_path, {"mi": {"endpoints": [], "dbus": False}})
    d = daemon(args=["--config", cfg])
    for n in (1, 2):
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while d.stderr_text().count("SIGHUP: reloaded") < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert d.stderr_text().count("SIGHUP: reloaded") == n
    assert "the mi section changed" not in d.stderr_text()
    config(tmp_path, {"mi": {"endpoints": [], "dbus": False, "timeout_ms": 500}})
    d.proc.send_signal(signal.SIGHUP)
    wait_log(d, r"the mi section changed: it takes effect at restart")
