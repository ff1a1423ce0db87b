"""A command already handed to the device is never reported as cancelled:
its outcome is the device's, in the answer and in the audit log. Only calls
that never reached a device (queued), and reads, may be cancelled."""
import re
import time

from conftest import assert_error, rpc, sim_json, slow_fast_sim

LATENCY_S = 1.0
ZSN = "ZSLOW001"


def zoned_slow_sim():
    return sim_json([{"nqn": "nqn.2024-01.io.nvmerpcd:zslow",
                      "controllers": [{"sn": ZSN, "mn": "zslow", "fr": "1.0", "cntlid": 1,
                                       "latency_us": int(LATENCY_S * 1e6)}],
                      "namespaces": [{"nsid": 1, "lba_size": 512, "zoned": {
                          "zone_size": 4096, "nr_zones": 64,
                          "max_open": 14, "max_active": 14}}]}])


def finish_zone0(req_id):
    return rpc("nvme.zns.mgmt_send", id=req_id, device="sim0n1", action="finish", slba=0,
               confirm=ZSN)


def audit_outcomes(d, method):
    """The outcome= words of @method's audit lines in the daemon's log, in order."""
    return re.findall(rf"audit: .*method={re.escape(method)} .*outcome=(\S+)",
                      d.stderr_text())


def wait_audit(d, method, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = audit_outcomes(d, method)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return audit_outcomes(d, method)


def zone0_state(conn, req_id):
    r = conn.call(rpc("nvme.zns.report_zones", id=req_id, device="sim0n1", slba=0, limit=1))
    return r["result"]["zone_list"][0]["state"]


def test_cancel_running_zone_finish_is_not_reported_cancelled(daemon):
    d = daemon(sim=zoned_slow_sim())
    with d.raw(timeout=30) as conn:
        conn.send(finish_zone0(1))
        time.sleep(0.3)  # the Zone Management Send is on the device
        conn.send(rpc("rpc.cancel", id=2, params={"id": 1}))
        got = {}
        for _ in range(2):
            r = conn.recv()
            got[r["id"]] = r
        assert got[2]["result"]["cancelled"] is False, got[2]
        assert "running" in got[2]["result"]["reason"], got[2]
        assert "result" in got[1], got[1]
        assert zone0_state(conn, 3) == "FULL"
    assert wait_audit(d, "nvme.zns.mgmt_send", 1) == ["ok"]


def test_cancel_queued_destructive_call_never_runs(daemon):
    d = daemon(sim=zoned_slow_sim())
    with d.raw(timeout=30) as conn:
        conn.send(rpc("nvme.id_ctrl", id=1, device="sim0"))  # occupies the device
        time.sleep(0.2)
        conn.send(finish_zone0(2))  # waits in the FIFO
        time.sleep(0.2)
        conn.send(rpc("rpc.cancel", id=3, params={"id": 2}))
        got = {}
        for _ in range(3):
            r = conn.recv()
            got[r["id"]] = r
        assert got[3]["result"] == {"cancelled": True}, got[3]
        assert_error(got[2], -32010, "Cancelled", id=2)
        assert "result" in got[1], got[1]
        assert zone0_state(conn, 4) == "EMPTY"
    assert wait_audit(d, "nvme.zns.mgmt_send", 1) == ["Cancelled"]


def vanish(conn):
    """Closes @conn with an answer left unread: the daemon sees the peer gone
    (ECONNRESET), not a clean end of input it would drain."""
    conn.send(rpc("rpc.ping", id=99))
    time.sleep(0.2)
    conn.close()


def test_disconnect_during_format_audits_device_outcome(daemon):
    d = daemon(sim=slow_fast_sim(int(LATENCY_S * 1e6)))
    with d.raw(timeout=30) as conn:
        conn.send(rpc("nvme.format", id=1, device="sim0n1", lbaf=0, confirm="SLOW0001"))
        time.sleep(0.3)  # Format NVM is on the device
        vanish(conn)
    assert wait_audit(d, "nvme.format", 1) == ["ok"]
    with d.raw(timeout=30) as conn:  # the daemon stays sound
        assert conn.call(rpc("rpc.ping", id=2))["result"] == "pong"


def test_disconnect_during_sanitize_audits_device_outcome(daemon):
    d = daemon(sim=slow_fast_sim(int(LATENCY_S * 1e6)))
    with d.raw(timeout=30) as conn:
        conn.send(rpc("nvme.sanitize", id=1, device="sim0", action="block",
                      confirm="SLOW0001"))
        time.sleep(0.3)
        vanish(conn)
    assert wait_audit(d, "nvme.sanitize", 1) == ["ok"]


def test_timeout_of_destructive_call_audits_device_outcome(daemon):
    d = daemon(args=["--timeout-ms", "300"], sim=zoned_slow_sim())
    with d.raw(timeout=30) as conn:
        r = conn.call(finish_zone0(1))
        assert_error(r, -32003, "Timeout", id=1)
        # First line: the answer the client got; second: what the device did.
        assert wait_audit(d, "nvme.zns.mgmt_send", 2) == ["Timeout", "ok"]
