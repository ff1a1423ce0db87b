"""Streamed report_zones: order, completeness, backpressure, cancel."""
import socket
import os
import time

import pytest

import nvmerpc
from conftest import STATS_SELF, assert_error, assert_result, rpc, sim_json, slow_fast_sim

BIG_ZONES = 100000
BIG_ZONE_SIZE = 2048
RSS_LIMIT_KIB = 64 * 1024


def big_zoned_sim():
    return sim_json([{"nqn": "nqn.2024-01.io.nvmerpcd:big",
                      "controllers": [{"sn": "BIG0001", "mn": "big", "fr": "1.0", "cntlid": 1,
                                       "latency_us": 0}],
                      "namespaces": [{"nsid": 1, "lba_size": 512, "zoned": {
                          "zone_size": BIG_ZONE_SIZE, "nr_zones": BIG_ZONES,
                          "max_open": 14, "max_active": 14}}]}])


def zoned_name(client):
    for sub in client.nvme_list()["subsystems"]:
        for ns in sub["namespaces"]:
            if ns["csi"] == "zns":
                return ns["name"]
    raise AssertionError("no zoned namespace")


def read_stream(conn, req_id):
    """Reads rpc.stream notifications for @req_id until its response; returns
    (list of notification params, final response)."""
    notes = []
    while True:
        msg = conn.recv()
        if msg.get("method") == "rpc.stream":
            assert "id" not in msg, msg  # a notification
            assert msg["params"]["id"] == req_id, msg
            notes.append(msg["params"])
            continue
        assert msg.get("id") == req_id, msg
        return notes, msg


def check_notes(notes, summary, nr_zones, zone_size):
    assert [n["seq"] for n in notes] == list(range(len(notes)))
    slbas = [z["slba"] for n in notes for z in n["items"]]
    assert len(slbas) == nr_zones
    assert slbas == [i * zone_size for i in range(nr_zones)]
    assert summary == {"nr_zones": nr_zones, "chunks": len(notes)}
    assert all(n["items"] for n in notes), "empty chunk"


def test_stream_default_namespace(daemon, validate_result, schema):
    d = daemon()
    with d.client() as c:
        zs = [ns for sub in c.nvme_list()["subsystems"] for ns in sub["namespaces"]
              if ns["name"] == "sim0n2"][0]["zone_size"]
    with d.raw() as conn:
        conn.send(rpc("nvme.zns.report_zones", id="z", device="sim0n2", stream=True))
        notes, resp = read_stream(conn, "z")
    summary = validate_result("nvme.zns.report_zones", assert_result(resp, "z"))
    check_notes(notes, summary, 4096, zs)
    zone_schema = {"$ref": "#/components/schemas/ZoneDescriptor",
                   "components": schema["components"]}
    import jsonschema
    v = jsonschema.Draft7Validator(zone_schema)
    for n in notes:
        for z in n["items"]:
            v.validate(z)
    first = notes[0]["items"]
    assert [z["state"] for z in first[:4]] == ["FULL", "IMP_OPENED", "CLOSED", "EMPTY"]


def test_stream_respects_state_and_limit(daemon):
    d = daemon()
    with d.client() as c:
        s = c.nvme_zns_report_zones_stream(device="sim0n2", state="closed")
        assert [z["state"] for z in s] == ["CLOSED"]
        assert s.summary["nr_zones"] == 1
        s = c.nvme_zns_report_zones_stream(device="sim0n2", limit=3000)
        assert len(list(s)) == 3000 and s.summary["nr_zones"] == 3000
        assert s.seqs == list(range(s.chunks))


def test_stream_error_raises_from_iterator(daemon):
    d = daemon()
    with d.client() as c:
        s = c.nvme_zns_report_zones_stream(device="sim0n1")
        with pytest.raises(nvmerpc.NotSupported):
            list(s)
        assert c.rpc_ping() == "pong"


def test_stream_100k_zones_with_slow_reader(daemon):
    d = daemon(sim=big_zoned_sim())
    with d.client() as c:
        name = zoned_name(c)
    with d.raw(timeout=60) as conn, d.client() as other:
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        conn.send(rpc("nvme.zns.report_zones", id=1, device=name, stream=True))
        # Do not read for a second: the daemon must hold back, not buffer it all.
        peak = 0
        for _ in range(10):
            time.sleep(0.1)
            peak = max(peak, d.rss_kib())
        stats = other.server_stats()
        assert stats["connections"] == 2
        assert stats["in_flight"] >= STATS_SELF + 1
        notes = []
        while True:
            msg = conn.recv()
            if msg.get("method") == "rpc.stream":
                assert msg["params"]["id"] == 1
                notes.append(msg["params"])
                if len(notes) % 50 == 0:
                    peak = max(peak, d.rss_kib())
                continue
            break
        summary = assert_result(msg, 1)
        check_notes(notes, summary, BIG_ZONES, BIG_ZONE_SIZE)
        peak = max(peak, d.rss_kib())
        # AddressSanitizer's shadow memory and quarantine make RSS meaningless.
        if os.environ.get("NR_SANITIZED") != "1":
            assert peak < RSS_LIMIT_KIB, f"daemon VmRSS peaked at {peak} KiB"
        assert other.rpc_ping() == "pong"
        assert other.server_stats()["in_flight"] == STATS_SELF


def test_stream_small_write_buffer(daemon):
    d = daemon(args=["--write-buffer", "65536"], sim=big_zoned_sim())
    with d.client(timeout=60) as c:
        name = zoned_name(c)
        s = c.nvme_zns_report_zones_stream(device=name, limit=20000)
        time.sleep(0.5)
        slbas = [z["slba"] for z in s]
        assert slbas == [i * BIG_ZONE_SIZE for i in range(20000)]
        assert s.seqs == list(range(s.chunks))
        assert s.summary == {"nr_zones": 20000, "chunks": s.chunks,
                             "next_slba": 20000 * BIG_ZONE_SIZE}


def test_cancel_stream_midway(daemon):
    d = daemon(sim=big_zoned_sim())
    with d.client(timeout=60) as c:
        name = zoned_name(c)
        s = c.nvme_zns_report_zones_stream(device=name)
        first = s.next_chunk()
        assert first["seq"] == 0 and first["id"] == s.id
        assert s.cancel() == {"cancelled": True}
        items = len(first["items"])
        with pytest.raises(nvmerpc.Cancelled) as e:
            for _ in s:
                items += 1
        assert e.value.code == -32010 and e.value.data["name"] == "Cancelled"
        assert items < BIG_ZONES
        assert s.seqs == list(range(len(s.seqs)))
        # The id is gone now: a second cancel finds nothing.
        assert c.rpc_cancel(id=s.id) == {"cancelled": False}
        assert c.rpc_ping() == "pong"
        assert c.server_stats()["in_flight"] == STATS_SELF


def test_cancel_unknown_id(daemon):
    d = daemon()
    with d.client() as c:
        assert c.rpc_cancel(id=12345) == {"cancelled": False}
        assert c.rpc_cancel(id="nope") == {"cancelled": False}


def test_cancel_is_per_connection(daemon):
    d = daemon(sim=big_zoned_sim())
    with d.client(timeout=60) as a, d.client() as b:
        name = zoned_name(a)
        s = a.nvme_zns_report_zones_stream(device=name, limit=30000)
        first = s.next_chunk()
        # Another connection cannot cancel it, even with the same id.
        assert b.rpc_cancel(id=s.id) == {"cancelled": False}
        assert len(first["items"]) + sum(1 for _ in s) == 30000
        assert s.summary["nr_zones"] == 30000


def test_cancel_slow_request(daemon):
    d = daemon(sim=slow_fast_sim(1000000))
    with d.client() as c:
        slow = [ct["name"] for sub in c.nvme_list()["subsystems"] for ct in sub["controllers"]
                if ct["sn"] == "SLOW0001"][0]
    with d.raw() as conn:
        conn.send(rpc("nvme.id_ctrl", id=7, device=slow))
        time.sleep(0.1)
        conn.send({"jsonrpc": "2.0", "id": 8, "method": "rpc.cancel", "params": {"id": 7}})
        got = {}
        for _ in range(2):
            r = conn.recv()
            got[r["id"]] = r
        assert got[8]["result"] == {"cancelled": True}
        assert_error(got[7], -32010, "Cancelled", id=7)
        conn.expect_silence(1.5)  # no late answer when the device call ends


def test_disconnect_mid_stream(daemon):
    d = daemon(sim=big_zoned_sim())
    with d.client() as c:
        name = zoned_name(c)
    for _ in range(3):
        conn = d.raw()
        conn.send(rpc("nvme.zns.report_zones", id=1, device=name, stream=True))
        msg = conn.recv()
        assert msg["method"] == "rpc.stream"
        conn.close()
    with d.client() as c:
        assert c.rpc_ping() == "pong"
        deadline = time.monotonic() + 5
        while True:
            stats = c.server_stats()
            if stats["in_flight"] == STATS_SELF and stats["connections"] == 1:
                break
            assert time.monotonic() < deadline, stats
            time.sleep(0.05)
        assert c.nvme_zns_report_zones(device=name, limit=5)["nr_zones"] == 5
    assert d.proc.poll() is None


def test_stream_interleaves_with_other_requests(daemon):
    # Responses to other requests on the same connection are not stuck
    # behind a long stream; the client dispatches them by id.
    d = daemon(sim=big_zoned_sim())
    with d.client(timeout=60) as c:
        name = zoned_name(c)
        s = c.nvme_zns_report_zones_stream(device=name, limit=50000)
        s.next_chunk()
        assert c.rpc_ping() == "pong"
        assert c.nvme_id_ctrl(device=name)["sn"] == "BIG0001"
        count = sum(1 for _ in s)
        assert s.summary["nr_zones"] == 50000
        assert count > 0
