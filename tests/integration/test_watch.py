"""nvme.watch: the snapshot, the events fault injection causes (in order,
nothing else), one poller shared by its watchers (counted in device commands
by sim.fault's "commands"), and the poller stopping when the last watcher is
cancelled or goes away. Orderings are decided by what arrives on the stream,
never by sleeping: each fault is injected only after the previous one's
events arrived.
"""
import base64
import os
import socket
import time

from conftest import SIM_SN, as_nobody, assert_error, assert_result, line, rpc, sim_json

FAST_MS = 100  # poll interval of the event tests
SLOW_MS = 3600000  # an interval no test outlives: only the first poll runs


def two_sims():
    return sim_json([
        {"nqn": f"nqn.2026-11.io.nvmerpcd:watch{i}", "controllers": [
            {"sn": f"WATCH{i:04d}", "cntlid": 1}],
         "namespaces": [{"nsid": 1, "blocks": 4096}]} for i in range(2)])


def start(daemon, sim=None, args=()):
    return daemon(args=["--no-passthru", *args], sim=sim)


def stream_items(conn, id):
    """The items of the next rpc.stream notification of call @id (asserting
    that nothing else arrives first)."""
    msg = conn.recv()
    assert msg.get("method") == "rpc.stream", msg
    assert msg["params"]["id"] == id, msg
    return msg["params"]["items"]


def watch(conn, id="w", **params):
    conn.send(rpc("nvme.watch", id=id, **params))
    items = stream_items(conn, id)
    assert len(items) == 1 and items[0]["kind"] == "snapshot", items
    return items[0]


def fault(conn, **params):
    return assert_result(conn.call(rpc("sim.fault", id="f", **params)), "f")


def commands(conn, device):
    return fault(conn, device=device)["commands"]


def shape(events):
    return [(e["device"], e["kind"], e["before"], e["after"]) for e in events]


def test_snapshot_holds_the_smart_values(daemon):
    d = start(daemon)
    with d.raw() as w, d.raw() as c:
        snap = watch(w, interval_ms=SLOW_MS)
        smart = assert_result(c.call(rpc("nvme.smart_log", id=1, device="sim0")), 1)
        (dev,) = snap["devices"]
        assert dev["device"] == "sim0" and dev["serial"] == SIM_SN and dev["present"]
        for key in ("critical_warning", "temperature", "avail_spare", "spare_thresh",
                    "percent_used", "media_errors"):
            assert dev[key] == int(smart[key]), key
        assert dev["over_temp_threshold"] > dev["temperature"]
        assert [n["nsid"] for n in dev["namespaces"]] == [1, 2]
        assert dev["fw_slot"] == 1 and dev["fw_revision"] == "1.0"


def test_faults_make_exactly_their_events_in_order(daemon):
    d = start(daemon, sim=two_sims())
    with d.raw() as w, d.raw() as c:
        snap = watch(w, interval_ms=FAST_MS)
        assert [x["device"] for x in snap["devices"]] == ["sim0", "sim1"] or \
            sorted(x["device"] for x in snap["devices"]) == ["sim0", "sim1"]
        threshold = snap["devices"][0]["over_temp_threshold"]

        fault(c, device="sim1", health={"critical_warning": 0x04})  # reliability degraded
        got = stream_items(w, "w")
        assert shape(got) == [("sim1", "critical_warning", 0, 4)]
        assert got[0]["set"] == ["reliability"] and got[0]["cleared"] == []

        fault(c, device="sim1", health={"temperature": threshold + 10})
        got = stream_items(w, "w")
        # The drive sets its temperature bit too: two events of one poll, in order.
        assert shape(got) == [("sim1", "critical_warning", 4, 6),
                              ("sim1", "temperature", "normal", "over")]
        assert got[1]["temperature"] == threshold + 10

        fault(c, device="sim1", health={"temperature": None, "critical_warning": None})
        got = stream_items(w, "w")
        assert shape(got) == [("sim1", "critical_warning", 6, 0),
                              ("sim1", "temperature", "over", "normal")]
        assert sorted(got[0]["cleared"]) == ["reliability", "temperature"]

        fault(c, device="sim1", health={"percent_used": 91, "avail_spare": 5,
                                        "media_errors": 3})
        got = stream_items(w, "w")
        assert shape(got) == [("sim1", "critical_warning", 0, 1),
                              ("sim1", "available_spare", 100, 5),
                              ("sim1", "percentage_used", 0, 91),
                              ("sim1", "media_errors", 0, 3)]
        assert got[2]["level"] == 90

        fault(c, device="sim1", removed=True)
        assert shape(stream_items(w, "w")) == [("sim1", "controller", "present", "absent")]
        # sim0 never changed: nothing more arrives, not even for it.
        w.expect_silence(5 * FAST_MS / 1000)


def test_events_filter_and_devices(daemon):
    d = start(daemon, sim=two_sims())
    with d.raw() as w, d.raw() as c:
        snap = watch(w, devices=["sim1n1"], events=["temperature"], interval_ms=FAST_MS)
        assert [x["device"] for x in snap["devices"]] == ["sim1"]
        fault(c, device="sim0", health={"temperature": 400})
        fault(c, device="sim1", health={"critical_warning": 0x08})
        fault(c, device="sim1", health={"temperature": 400})
        got = stream_items(w, "w")
        assert shape(got) == [("sim1", "temperature", "normal", "over")]


def test_namespace_detach_is_an_event(daemon):
    d = start(daemon)
    with d.raw() as w, d.raw() as c:
        watch(w, events=["namespace"], interval_ms=FAST_MS)
        resp = c.call(rpc("nvme.ns_detach", id=1, device="sim0", nsid=1, controllers=[1],
                          confirm=SIM_SN))
        assert_result(resp, 1)
        got = stream_items(w, "w")
        assert [(e["kind"], e["nsid"], e["change"]) for e in got] == [("namespace", 1, "detached")]
        assert got[0]["after"] is None and got[0]["before"]["nsid"] == 1


def test_two_watchers_share_one_poll(daemon):
    d = start(daemon, sim=two_sims())
    with d.raw() as a, d.raw() as b, d.raw() as c:
        base = commands(c, "sim0")
        watch(a, devices=["sim0"], interval_ms=SLOW_MS)
        first = commands(c, "sim0")
        assert first > base  # the first watcher's poll reached the device
        watch(b, devices=["sim0"], interval_ms=SLOW_MS)
        watch(a, id="w2", devices=["sim0"], interval_ms=SLOW_MS)
        assert commands(c, "sim0") == first  # the others were answered from its poll
        # Positive control: a controller nobody polled yet costs its own poll.
        other = commands(c, "sim1")
        watch(b, id="w3", devices=["sim1"], interval_ms=SLOW_MS)
        assert commands(c, "sim1") - other == first - base


def polls_stop(conn, device, seconds=1.0):
    """Whether @device receives no command for @seconds (ten poll intervals),
    after three intervals for a poll already queued to finish."""
    time.sleep(3 * FAST_MS / 1000)
    before = commands(conn, device)
    time.sleep(seconds)
    return commands(conn, device) == before


def test_cancel_stops_the_poller_with_its_last_watcher(daemon):
    d = start(daemon)
    with d.raw() as a, d.raw() as c:
        watch(a, id="one", interval_ms=FAST_MS)
        watch(a, id="two", interval_ms=FAST_MS)
        assert not polls_stop(c, "sim0")
        a.send(rpc("rpc.cancel", id="c1", params={"id": "one"}))
        replies = {m["id"]: m for m in (a.recv(), a.recv())}
        assert_error(replies["one"], -32010, "Cancelled", id="one")
        assert not polls_stop(c, "sim0")  # "two" still watches
        a.send(rpc("rpc.cancel", id="c2", params={"id": "two"}))
        replies = {m["id"]: m for m in (a.recv(), a.recv())}
        assert_error(replies["two"], -32010, "Cancelled", id="two")
        assert polls_stop(c, "sim0")


def test_disconnect_stops_the_poller(daemon):
    d = start(daemon)
    with d.raw() as c:
        a = d.raw()
        watch(a, interval_ms=FAST_MS)
        assert not polls_stop(c, "sim0")
        a.close()
        assert polls_stop(c, "sim0")
        # The daemon still serves, and a new watcher starts a new poller.
        with d.raw() as b:
            watch(b, interval_ms=FAST_MS)
            assert not polls_stop(c, "sim0")


def test_unknown_device_is_refused(daemon):
    d = start(daemon)
    with d.raw() as c:
        resp = c.call(rpc("nvme.watch", id=1, devices=["sim0", "nvme9"]))
        assert_error(resp, -32001, "DeviceNotFound", id=1)


def test_reader_that_never_reads_is_ended_not_grown(daemon):
    """64 controllers whose warning bit flips every poll, a watcher that never
    reads: once the kernel's buffer and --write-buffer are full, the daemon
    holds at most 1024 events for it, then ends the stream with
    watch-backlog. Its memory stays bounded."""
    sim = sim_json([{"nqn": f"nqn.2026-11.io.nvmerpcd:flood{i}", "controllers": [
        {"sn": f"FLOOD{i:04d}", "cntlid": 1}], "namespaces": [{"nsid": 1, "blocks": 64}]}
        for i in range(64)])
    d = start(daemon, sim=sim, args=["--write-buffer", "4096"])
    names = [f"sim{i}" for i in range(64)]
    with d.raw() as c:
        w = d.raw()
        w.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        watch(w, interval_ms=FAST_MS, events=["critical_warning"])
        rss0 = d.rss_kib()
        ended = None
        deadline = time.monotonic() + 120
        flip = 0
        while time.monotonic() < deadline and ended is None:
            flip ^= 1
            # One call at a time, not a batch: a batch answer larger than
            # --write-buffer written at once leaves the connection unread.
            for n in names:
                fault(c, device=n, health={"critical_warning": flip})
            time.sleep(FAST_MS / 1000)
            # Whether the watch call still lives (server.stats counts itself).
            resp = c.call(rpc("server.stats", id="s"))
            if assert_result(resp, "s")["in_flight"] <= 1:
                ended = True
        assert ended, "the stream never ended"
        if os.environ.get("NR_SANITIZED") != "1":  # ASan's quarantine holds freed memory
            assert d.rss_kib() - rss0 < 16 * 1024
        w.sock.settimeout(10)
        last = None
        while True:
            msg = w.recv()
            if "id" in msg:
                last = msg
                break
        assert last["error"]["code"] == -32013
        assert last["error"]["data"]["limit"] == "watch-backlog"
        w.close()


def test_uid_65534_may_watch_but_not_inject(daemon):
    d = start(daemon)
    watch_req = rpc("nvme.watch", id="w", devices=["sim0"], interval_ms=SLOW_MS)
    # The child reads one line per request: the watch's is its snapshot; the
    # watch ends when the child goes away.
    replies = as_nobody(d.socket, [watch_req, rpc("sim.fault", id="f", device="sim0",
                                                  removed=True),
                                   rpc("sim.insert", id="i", controller="sim0")])
    assert replies[0]["method"] == "rpc.stream"
    assert replies[0]["params"]["items"][0]["kind"] == "snapshot"
    assert_error(replies[1], -32007, "PermissionDenied", id="f")
    assert_error(replies[2], -32007, "PermissionDenied", id="i")


def test_shutdown_with_watchers_exits_0(daemon):
    d = start(daemon, sim=two_sims())
    with d.raw() as a, d.raw() as b:
        watch(a, interval_ms=FAST_MS)
        watch(b, devices=["sim1"], interval_ms=FAST_MS)
        assert d.stop() == 0


def test_rewatch_right_after_the_last_watcher_left_still_polls(daemon):
    """Regression: the last watcher's leaving closes the service's timer; a
    watch started before that close completed joined the closing hub and was
    never polled again."""
    d = start(daemon)
    with d.raw() as a, d.raw() as c:
        watch(a, id="old", interval_ms=FAST_MS)
        # One write: the cancel ends the last watcher, the new watch follows at once.
        a.send(line(rpc("rpc.cancel", id="c", params={"id": "old"})) +
               line(rpc("nvme.watch", id="new", interval_ms=FAST_MS)))
        snapshot = None
        while snapshot is None:
            msg = a.recv()
            if msg.get("method") == "rpc.stream" and msg["params"]["id"] == "new":
                snapshot = msg["params"]["items"][0]
        assert snapshot["kind"] == "snapshot"
        fault(c, device="sim0", health={"critical_warning": 0x10})
        assert shape(stream_items(a, "new")) == [("sim0", "critical_warning", 0, 16)]


def test_firmware_activation_is_one_event(daemon):
    sim = sim_json([{"nqn": "nqn.2026-11.io.nvmerpcd:watchfw", "controllers": [
        {"sn": SIM_SN, "fr": "1.0", "fwug": 1, "fw_slots": 3}],
        "namespaces": [{"nsid": 1, "blocks": 4096}]}])
    d = start(daemon, sim=sim)
    head = b"NRFW" + b"2.0".ljust(8, b" ")  # the simulator reads the revision from the image
    image = base64.b64encode(head + bytes(8192 - len(head))).decode()
    with d.raw() as w, d.client() as c:
        watch(w, events=["firmware"], interval_ms=FAST_MS)
        c.call("nvme.fw_download", device="sim0", image=image)
        c.call("nvme.fw_commit", device="sim0", slot=2, action="replace_activate", confirm=SIM_SN)
        c.call("nvme.reset", device="sim0", confirm=SIM_SN)
        got = stream_items(w, "w")
        assert shape(got) == [("sim0", "firmware", {"slot": 1, "revision": "1.0"},
                               {"slot": 2, "revision": "2.0"})]


def test_reinserted_controller_is_added_after_a_rescan(daemon):
    """sim.insert plugs a removed controller back in: the next nvme.rescan
    lists it again and watchers of every controller (and of its name) see it
    added, then polled like any other (its health changes are events)."""
    d = start(daemon, sim=two_sims())
    with d.raw() as w, d.raw() as named, d.raw() as c:
        watch(w, interval_ms=FAST_MS)
        watch(named, id="n", interval_ms=FAST_MS, devices=["sim1"])
        fault(c, device="sim1", removed=True)
        assert shape(stream_items(w, "w")) == [("sim1", "controller", "present", "absent")]
        assert shape(stream_items(named, "n")) == [("sim1", "controller", "present", "absent")]
        # Not removed, or not a simulated controller: refused, nothing changes.
        for name in ("sim0", "sim7"):
            assert_error(c.call(rpc("sim.insert", id="i", controller=name)), -32602,
                         "InvalidParams", id="i", field="params.controller")
        listing = assert_result(c.call(rpc("nvme.rescan", id="r")), "r")
        names = [x["name"] for s in listing["subsystems"] for x in s["controllers"]]
        assert "sim1" not in names
        assert_error(c.call(rpc("nvme.smart_log", id="s", device="sim1")), -32001,
                     "DeviceNotFound", id="s")
        w.expect_silence(3 * FAST_MS / 1000)  # a rescan that lists nothing new says nothing

        assert assert_result(c.call(rpc("sim.insert", id="i", controller="sim1")), "i") == \
            {"controller": "sim1"}
        w.expect_silence(3 * FAST_MS / 1000)  # plugged in, but not listed until a rescan
        listing = assert_result(c.call(rpc("nvme.rescan", id="r")), "r")
        names = [x["name"] for s in listing["subsystems"] for x in s["controllers"]]
        assert sorted(names) == ["sim0", "sim1"]
        assert shape(stream_items(w, "w")) == [("sim1", "controller", "absent", "present")]
        assert shape(stream_items(named, "n")) == [("sim1", "controller", "absent", "present")]
        assert int(assert_result(c.call(rpc("nvme.smart_log", id="s", device="sim1")),
                                 "s")["temperature"]) > 0
        fault(c, device="sim1", health={"critical_warning": 0x04})
        assert shape(stream_items(w, "w")) == [("sim1", "critical_warning", 0, 4)]
        assert shape(stream_items(named, "n")) == [("sim1", "critical_warning", 0, 4)]
        w.expect_silence(3 * FAST_MS / 1000)


def test_reinserted_before_the_rescan_is_listed_afresh(daemon):
    """Removed (a poll found it gone) and plugged back in before any rescan:
    the rescan replaces the stale entry, and the watcher sees it added."""
    d = start(daemon, sim=two_sims())
    with d.raw() as w, d.raw() as c:
        watch(w, interval_ms=FAST_MS)
        fault(c, device="sim1", removed=True)
        assert shape(stream_items(w, "w")) == [("sim1", "controller", "present", "absent")]
        assert_result(c.call(rpc("sim.insert", id="i", controller="sim1")), "i")
        assert_error(c.call(rpc("nvme.smart_log", id="s", device="sim1")), -32001,
                     "DeviceNotFound", id="s")
        assert_result(c.call(rpc("nvme.rescan", id="r")), "r")
        assert shape(stream_items(w, "w")) == [("sim1", "controller", "absent", "present")]
        assert_result(c.call(rpc("nvme.smart_log", id="s", device="sim1")), "s")
