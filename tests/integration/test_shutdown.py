"""SIGTERM and SIGINT: every client with a call in flight gets its answer
(the device's outcome, or -32010 for work never handed to the device)
before its connection closes; write and destructive commands on a device
are never interrupted; the daemon removes its socket and exits 0."""
import json
import os
import signal
import time

import pytest

from conftest import assert_error, assert_result, rpc, sim_json

SN = "SHUT0001"


def slow_sim(latency_us=1000000, sanitize_ms=1500):
    return sim_json([
        {"nqn": "nqn.2024-01.io.nvmerpcd:shutdown", "controllers": [
            {"sn": SN, "mn": "slow", "fr": "1.0", "cntlid": 1, "latency_us": latency_us,
             "sanitize_ms": sanitize_ms}],
         "namespaces": [{"nsid": 1, "lba_size": 512, "blocks": 2097152}]}])


def answers(conn, n):
    got = {}
    for _ in range(n):
        resp = conn.recv()
        got[resp["id"]] = resp
    return got


def wait_exit(d, timeout=20):
    rc = d.proc.wait(timeout)
    d.stopped = True
    return rc


def test_sigterm_answers_running_call_and_cancels_queued_ones(daemon):
    d = daemon(sim=slow_sim())
    with d.raw() as conn:
        for i in range(3):
            conn.send(rpc("nvme.id_ctrl", id=i, device="sim0"))
        time.sleep(0.3)  # call 0 is on the device, 1 and 2 wait in its FIFO
        d.proc.send_signal(signal.SIGTERM)
        got = answers(conn, 3)
        assert assert_result(got[0], 0)["sn"] == SN
        for i in (1, 2):
            data = assert_error(got[i], -32010, "Cancelled", id=i)
            assert "shutting down" in data.get("reason", ""), data
        assert conn.transport.readline() == b""  # then the connection closes
    assert wait_exit(d) == 0
    assert not os.path.exists(d.socket)
    assert not os.path.exists(d.socket + ".lock")


def test_sigterm_closes_idle_connections_and_refuses_new_ones(daemon):
    d = daemon(sim=slow_sim())
    with d.raw() as idle, d.raw() as busy:
        busy.send(rpc("nvme.id_ctrl", id=1, device="sim0"))
        time.sleep(0.2)
        d.proc.send_signal(signal.SIGINT)
        assert idle.transport.readline() == b""
        time.sleep(0.1)
        assert not os.path.exists(d.socket)  # no new clients while draining
        assert assert_result(busy.recv(), 1)["sn"] == SN
    assert wait_exit(d) == 0


@pytest.mark.parametrize("method,params", [
    ("nvme.format", {"lbaf": 0}),
    ("nvme.sanitize", {"action": "block", "wait": True}),
], ids=["format", "sanitize-wait"])
def test_sigterm_waits_for_destructive_command_in_flight(daemon, method, params):
    d = daemon(sim=slow_sim())
    with d.raw() as conn:
        conn.send(rpc(method, id=1, device="sim0", confirm=SN, **params))
        time.sleep(0.4)
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        d.proc.send_signal(signal.SIGTERM)  # a second one: logged, destructive work still waited for
        resp = conn.recv()
        assert "result" in resp, resp
        assert conn.transport.readline() == b""
    assert wait_exit(d) == 0
    log = d.stderr_text()
    audit = [x for x in log.splitlines() if "audit:" in x and method in x]
    assert audit and all("outcome=ok" in x for x in audit), log
    assert "Cancelled" not in "\n".join(audit), log
    assert "still waiting for 1 write or destructive" in log, log


def test_second_sigterm_ends_running_reads(daemon):
    d = daemon(sim=slow_sim(latency_us=2500000), ready=False).wait_ready(timeout=40)
    d2_start = time.monotonic()
    with d.raw() as conn:
        conn.send(rpc("nvme.id_ctrl", id=1, device="sim0"))
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGTERM)
        assert_error(conn.recv(), -32010, "Cancelled", id=1)
    assert wait_exit(d) == 0
    assert time.monotonic() - d2_start < 20


def test_sigterm_in_stdio_mode_answers_before_exit(tmp_path):
    import subprocess
    from conftest import DAEMON, line
    sim = tmp_path / "sim.json"
    sim.write_text(json.dumps(slow_sim()))
    proc = subprocess.Popen([DAEMON, "--stdio", f"--simulate={sim}", "--no-passthru"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdin.write(line(rpc("rpc.ping", id=0)))
    proc.stdin.flush()
    assert assert_result(json.loads(proc.stdout.readline()), 0) == "pong"  # serving
    proc.stdin.write(line(rpc("nvme.id_ctrl", id=1, device="sim0")))
    proc.stdin.flush()
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert assert_result(json.loads(out), 1)["sn"] == SN
