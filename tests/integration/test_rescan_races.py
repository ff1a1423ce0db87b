"""Races between a topology refresh (nvme.ns_rescan and the lifecycle methods
re-learn the controllers, replacing their entries) and other connections'
calls on the same device. A replaced entry is the same device: its calls keep
working, on one FIFO shared with the entry that replaced it."""
import threading
import time

from conftest import assert_error, rpc, sim_json, slow_fast_sim

SANITIZER_MARKS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")
# The simulator's refresh of one controller with one conventional namespace:
# Identify Controller, the active namespace list, Identify Namespace and its
# descriptor list, each after latency_us.
REFRESH_COMMANDS = 4


def assert_no_sanitizer_report(d):
    text = d.stderr_text()
    for mark in SANITIZER_MARKS:
        assert mark not in text, text


class Answer:
    """Receives one message on @conn in a thread: .msg and .at (monotonic)."""

    def __init__(self, conn):
        self.msg = None
        self.at = None
        self.thread = threading.Thread(target=self._run, args=(conn,))
        self.thread.start()

    def _run(self, conn):
        self.msg = conn.recv()
        self.at = time.monotonic()

    def wait(self):
        self.thread.join(60)
        assert self.msg is not None, "no answer"
        return self.msg


def test_cancel_during_rescan_replacement_no_use_after_free(daemon):
    """A read on sim0 runs while nvme.ns_rescan swaps sim0's entry; cancelling
    it dropped the last reference to the replaced entry in work_after, which
    then kicked that entry's FIFO through freed memory (ASan:
    heap-use-after-free in devq_kick)."""
    d = daemon(sim=slow_fast_sim(1000000))
    with d.raw(timeout=60) as x, d.raw(timeout=60) as y:
        x.send(rpc("nvme.ns_rescan", id=1, device="sim0"))
        # Shortly before the swap (REFRESH_COMMANDS seconds in).
        time.sleep(REFRESH_COMMANDS - 0.5)
        y.send(rpc("nvme.id_ctrl", id=2, device="sim0"))
        assert x.recv() == {"jsonrpc": "2.0", "id": 1, "result": {"device": "sim0"}}
        time.sleep(0.2)
        y.send(rpc("rpc.cancel", id=3, params={"id": 2}))
        got = {}
        for _ in range(2):
            r = y.recv()
            got[r["id"]] = r
        assert got[3]["result"] == {"cancelled": True}
        assert_error(got[2], -32010, "Cancelled", id=2)
        # Past the cancelled command's completion: the daemon is still sound.
        time.sleep(1.2)
        assert d.proc.poll() is None, d.stderr_text()
        r = y.call(rpc("nvme.id_ctrl", id=4, device="sim0"))
        assert r["result"]["sn"] == "SLOW0001", r
    assert_no_sanitizer_report(d)


def test_replaced_and_fresh_entries_share_one_fifo(daemon):
    """A call that started on sim0 before a rescan replaced its entry, and a
    call on the replacement, were on two FIFOs: two commands in flight on one
    device."""
    d = daemon(sim=slow_fast_sim(1000000))
    with d.raw(timeout=60) as x, d.raw(timeout=60) as y, d.raw(timeout=60) as w:
        x.send(rpc("nvme.ns_rescan", id=1, device="sim0"))
        time.sleep(REFRESH_COMMANDS - 0.5)
        y.send(rpc("nvme.id_ctrl", id=2, device="sim0"))  # resolves to the old entry
        assert x.recv()["result"] == {"device": "sim0"}
        w.send(rpc("nvme.id_ctrl", id=3, device="sim0"))  # resolves to the new one
        y_answer, w_answer = Answer(y), Answer(w)
        assert y_answer.wait()["result"]["sn"] == "SLOW0001", y_answer.msg
        assert w_answer.wait()["result"]["sn"] == "SLOW0001", w_answer.msg
        y_done, w_done = y_answer.at, w_answer.at
        # One command at a time on the device: w's second of latency starts
        # when y's command completed.
        assert w_done - y_done > 0.8, (y_done, w_done)
    assert_no_sanitizer_report(d)


def test_rescan_identify_serialized_with_device_commands(daemon):
    """The refresh's Identify commands ran on a bare worker, outside the
    device FIFO, in parallel with clients' commands on the same device."""
    d = daemon(sim=slow_fast_sim(1000000))
    with d.raw(timeout=60) as x, d.raw(timeout=60) as y:
        t0 = time.monotonic()
        x.send(rpc("nvme.ns_rescan", id=1, device="sim0"))
        time.sleep(1.0)  # the refresh's first Identify is on the device
        y.send(rpc("nvme.smart_log", id=2, device="sim0"))
        x_answer, y_answer = Answer(x), Answer(y)
        assert x_answer.wait()["result"] == {"device": "sim0"}, x_answer.msg
        assert "result" in y_answer.wait(), y_answer.msg
        x_done, y_done = x_answer.at - t0, y_answer.at - t0
        # y queued behind the whole refresh: it completes a second after it.
        assert y_done > x_done + 0.8, (x_done, y_done)
        assert x_done > REFRESH_COMMANDS - 0.2, x_done


def zoned_slow_sim(latency_us, nr_zones):
    return sim_json([{"nqn": "nqn.2024-01.io.nvmerpcd:zslow",
                      "controllers": [{"sn": "ZSLOW001", "mn": "zslow", "fr": "1.0",
                                       "cntlid": 1, "latency_us": latency_us}],
                      "namespaces": [{"nsid": 1, "lba_size": 512, "zoned": {
                          "zone_size": 4096, "nr_zones": nr_zones,
                          "max_open": 14, "max_active": 14}}]}])


def read_stream_answer(conn, req_id):
    """Reads rpc.stream notifications until @req_id's answer; returns
    (number of items streamed, answer)."""
    items = 0
    while True:
        msg = conn.recv()
        if msg.get("method") == "rpc.stream":
            assert msg["params"]["id"] == req_id, msg
            items += len(msg["params"]["items"])
            continue
        assert msg.get("id") == req_id, msg
        return items, msg


def test_stream_survives_rescan_replacement(daemon):
    """A zone report streamed from sim0n1 while nvme.ns_rescan replaced sim0's
    entry ended with a spurious DeviceNotFound: its next chunk was refused
    because the entry it resolved to was marked gone, though the device is
    still there."""
    nr_zones = 20000
    d = daemon(sim=zoned_slow_sim(20000, nr_zones))
    with d.raw(timeout=120) as s, d.raw(timeout=60) as x:
        s.send(rpc("nvme.zns.report_zones", id=1, device="sim0n1", stream=True))
        first = s.recv()
        assert first.get("method") == "rpc.stream", first
        for i in range(3):  # several replacements while the stream runs
            r = x.call(rpc("nvme.ns_rescan", id=10 + i, device="sim0"))
            assert r["result"] == {"device": "sim0"}, r
        items, answer = read_stream_answer(s, 1)
        assert "result" in answer, answer
        assert items + len(first["params"]["items"]) == nr_zones
    assert_no_sanitizer_report(d)
