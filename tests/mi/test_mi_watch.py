"""nvme.watch over NVMe-MI: each poll is the cheap NVM Subsystem Health Status
Poll, and the SMART / Health and Firmware Slot logs are read (tunneled) only on
the first poll and when the health poll's answer changed. The responder counts
what reached the endpoint (MI opcodes, Get Log Page by LID); its "health"
control changes the drive's SMART values, and so its health poll, as a
failing drive's would. Orderings come from the stream, never from sleeping;
waiting for polls to happen polls the responder's counters under a deadline.
"""
import time

from conftest import ep_name, it

FAST_MS = 100
HEALTH_POLL = "mi:0x01"
SMART, FW_SLOT = "0x02", "0x03"


def stream_items(conn, id):
    msg = conn.recv()
    assert msg.get("method") == "rpc.stream", msg
    assert msg["params"]["id"] == id, msg
    return msg["params"]["items"]


def watch(conn, id="w", **params):
    conn.send(it.rpc("nvme.watch", id=id, **params))
    items = stream_items(conn, id)
    assert len(items) == 1 and items[0]["kind"] == "snapshot", items
    return items[0]


def counts(responder):
    stats = responder.stats(1, 8)
    return stats["opcodes"].get(HEALTH_POLL, 0), stats["log_pages"]


def wait_health_polls(responder, more, timeout=20.0):
    """Waits until @more health polls reached the endpoint; returns the counts."""
    start = counts(responder)[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        polls, logs = counts(responder)
        if polls >= start + more:
            return polls, logs
        time.sleep(FAST_MS / 1000)
    raise AssertionError(f"fewer than {more} health polls in {timeout} s: {counts(responder)}")


def shape(events):
    return [(e["device"], e["kind"]) for e in events]


def test_watch_over_mi_reads_smart_only_when_the_health_poll_changed(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    dev, r = ep_name(1, 8, 1), rig.responder
    r.reset_stats(1, 8)
    with rig.daemon.raw() as w:
        snap = watch(w, devices=[dev], interval_ms=FAST_MS)
        (d,) = snap["devices"]
        assert d["device"] == dev and d["backend"] == "mi" and d["present"], d
        health = d["mi_health"]
        # The health poll reports what SMART says: the same drive seen twice.
        assert health["ctemp"] == d["temperature"] - 273 and health["pdlu"] == d["percent_used"]
        assert health["sw"] == 0x3f and health["nss"] & 0x20, health  # no warning, functional
        polls, logs = counts(r)
        assert polls == 1 and logs == {SMART: 1, FW_SLOT: 1}, (polls, logs)

        # Nothing changes: health polls only, not one more log read, no event.
        polls, logs = wait_health_polls(r, 5)
        assert logs == {SMART: 1, FW_SLOT: 1}, logs
        w.expect_silence(0.05)

        # Hotter (under the threshold): one mi_health event, and one SMART read.
        kelvin = d["temperature"] + 7
        r.health(1, 8, temperature=kelvin)
        got = stream_items(w, "w")
        assert shape(got) == [(dev, "mi_health")], got
        assert got[0]["before"] == health
        assert got[0]["after"]["ctemp"] == kelvin - 273
        assert got[0]["changed"] == ["ctemp", "ccs"]  # CCS latches "temperature changed"
        assert got[0]["after"]["ccs"] == health["ccs"] | 1 << 9
        after_temp = got[0]["after"]
        polls, logs = wait_health_polls(r, 3)
        assert logs == {SMART: 2, FW_SLOT: 2}, logs
        w.expect_silence(0.05)

        # A change the health structure does not carry (media errors alone)
        # costs no SMART read, so it is not seen yet...
        r.health(1, 8, media_errors=5)
        polls, logs = wait_health_polls(r, 5)
        assert logs == {SMART: 2, FW_SLOT: 2}, logs
        w.expect_silence(0.05)
        # ...until the health changes: a critical warning (reliability).
        r.health(1, 8, critical_warning=0x04)
        got = stream_items(w, "w")
        assert shape(got) == [(dev, "mi_health"), (dev, "critical_warning"),
                              (dev, "media_errors")], got
        assert got[0]["before"] == after_temp
        assert got[0]["after"]["sw"] == 0x3f & ~0x04
        assert got[0]["changed"] == ["sw", "ccs"]
        assert (got[1]["before"], got[1]["after"], got[1]["set"]) == (0, 4, ["reliability"])
        assert (got[2]["before"], got[2]["after"]) == (0, 5)
        polls, logs = wait_health_polls(r, 3)
        assert logs == {SMART: 3, FW_SLOT: 3}, logs
        w.expect_silence(0.05)


def test_two_mi_watchers_share_one_health_poll(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    dev, r = ep_name(1, 8, 1), rig.responder
    with rig.daemon.raw() as a, rig.daemon.raw() as b:
        watch(a, id="a", devices=[dev], interval_ms=FAST_MS)
        watch(b, id="b", devices=[dev], interval_ms=FAST_MS)
        r.reset_stats(1, 8)
        wait_health_polls(r, 10)
        r.health(1, 8, percent_used=42)
        for conn, id in ((a, "a"), (b, "b")):
            got = stream_items(conn, id)
            assert shape(got) == [(dev, "mi_health")], got
            assert got[0]["after"]["pdlu"] == 42 and "pdlu" in got[0]["changed"]
        polls, logs = counts(r)
        # One poller: each change read once, however many watch it.
        assert logs == {SMART: 1, FW_SLOT: 1}, logs


def test_refused_health_poll_falls_back_to_reading_the_logs(mi_rig):
    """An endpoint that refuses the health poll (Invalid Command Opcode) is
    asked once; the poller then reads the logs every interval, as for a
    drive reached another way, and its snapshot has no mi_health."""
    rig = mi_rig([{"net": 1, "eid": 8}])
    dev, r = ep_name(1, 8, 1), rig.responder
    r.reset_stats(1, 8)
    r.set(1, 8, mi_status=0x03, mi_status_count=1)  # the next request: the watch's poll
    with rig.daemon.raw() as w:
        snap = watch(w, devices=[dev], interval_ms=FAST_MS)
        (d,) = snap["devices"]
        assert "mi_health" not in d and d["present"] and "temperature" in d, d
        deadline = time.monotonic() + 20
        while counts(r)[1].get(SMART, 0) < 4 and time.monotonic() < deadline:
            time.sleep(FAST_MS / 1000)
        polls, logs = counts(r)
        assert polls == 1 and logs.get(SMART, 0) >= 4, (polls, logs)
        # Changes are still seen, from SMART alone: no mi_health event.
        r.health(1, 8, critical_warning=0x04)
        assert shape(stream_items(w, "w")) == [(dev, "critical_warning")]
        assert counts(r)[0] == 1
