"""Framing and JSON-RPC envelope: parse errors, resync, limits, batches."""
import json

import pytest

from conftest import assert_error, assert_result, line, rpc

PING = rpc("rpc.ping", id=77)


@pytest.fixture
def sim_daemon(daemon):
    return daemon()


@pytest.mark.parametrize("garbage", [
    b"garbage\n",
    b'{"a":\n',
    b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping\n',
    b"}\n",
    b"[1,\n",
    b"\xff\xfe\n",
], ids=["word", "open-object", "unterminated-string", "close-brace", "open-array", "not-utf8"])
def test_parse_error_then_resync(sim_daemon, garbage):
    with sim_daemon.raw() as conn:
        conn.send(garbage)
        assert_error(conn.recv(), -32700, "ParseError", id=None)
        assert assert_result(conn.call(PING), 77) == "pong"


def test_parse_error_mid_line_discards_rest_of_line(sim_daemon):
    # After a parse error the rest of that line is dropped, even if it holds
    # a valid request; the next line is served.
    with sim_daemon.raw() as conn:
        conn.send(b'nope {"jsonrpc":"2.0","id":5,"method":"rpc.ping"}\n' + line(PING))
        assert_error(conn.recv(), -32700, "ParseError", id=None)
        assert assert_result(conn.recv(), 77) == "pong"
        conn.expect_silence()


def test_concatenated_values_on_one_line(sim_daemon):
    with sim_daemon.raw() as conn:
        conn.send(line(rpc("rpc.ping", id=1))[:-1] + line(rpc("rpc.ping", id=2))[:-1]
                  + b" " + line(rpc("rpc.ping", id="three")))
        got = {}
        for _ in range(3):
            resp = conn.recv()
            got[resp["id"]] = assert_result(resp, resp["id"])
        assert got == {1: "pong", 2: "pong", "three": "pong"}


def test_request_split_across_writes(sim_daemon):
    data = line(rpc("rpc.ping", id=9))
    with sim_daemon.raw() as conn:
        for i in range(len(data)):
            conn.send(data[i:i + 1])
        assert assert_result(conn.recv(), 9) == "pong"


def test_empty_lines_are_ignored(sim_daemon):
    with sim_daemon.raw() as conn:
        conn.send(b"\n\r\n   \n" + line(PING))
        assert assert_result(conn.recv(), 77) == "pong"
        conn.expect_silence()


def test_oversize_line_is_refused_and_connection_stays_usable(daemon):
    d = daemon(args=["--max-line", "4096"])
    with d.raw() as conn:
        # Valid JSON, but longer than the limit before its newline.
        big = b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping","params":{"pad":"' + \
            b"x" * 20000 + b'"}}\n'
        conn.send(big)
        data = assert_error(conn.recv(), -32600, "InvalidRequest", id=None)
        reason = data.get("reason", "")
        assert "4096" in reason or "limit" in reason.lower(), data
        assert assert_result(conn.call(PING), 77) == "pong"
        conn.expect_silence()


def test_line_just_under_limit_is_served(daemon):
    d = daemon(args=["--max-line", "4096"])
    base = line(rpc("rpc.ping", id=3))[:-1]
    padded = base + b" " * (4000 - len(base)) + b"\n"
    with d.raw() as conn:
        assert assert_result(conn.call(padded), 3) == "pong"


def test_batch_mixed(sim_daemon):
    batch = [
        rpc("rpc.ping", id=1),
        {"jsonrpc": "2.0", "method": "rpc.ping"},               # notification
        rpc("no.such.method", id=2),
        1,                                                     # invalid member
        rpc("nvme.id_ctrl", id=3, device="sim0"),
        {"jsonrpc": "2.0", "method": "no.such.method"},        # erroring notification
    ]
    with sim_daemon.raw() as conn:
        resp = conn.call(line(batch))
        assert isinstance(resp, list), resp
        assert len(resp) == 4, resp
        by_id = {}
        invalid = [r for r in resp if r.get("id") is None]
        assert len(invalid) == 1, resp
        assert_error(invalid[0], -32600, "InvalidRequest")
        for r in resp:
            if r.get("id") is not None:
                by_id[r["id"]] = r
        assert sorted(by_id) == [1, 2, 3]
        assert assert_result(by_id[1], 1) == "pong"
        assert_error(by_id[2], -32601, "MethodNotFound")
        assert assert_result(by_id[3], 3)["sn"] == "NRSIM0000000001"
        conn.expect_silence()


def test_batch_of_notifications_gets_no_reply(sim_daemon):
    with sim_daemon.raw() as conn:
        conn.send(line([{"jsonrpc": "2.0", "method": "rpc.ping"},
                        {"jsonrpc": "2.0", "method": "server.info"}]))
        conn.expect_silence(0.5)
        assert assert_result(conn.call(PING), 77) == "pong"


def test_empty_batch_is_one_invalid_request(sim_daemon):
    with sim_daemon.raw() as conn:
        resp = conn.call(b"[]\n")
        assert isinstance(resp, dict), resp
        assert_error(resp, -32600, "InvalidRequest", id=None)


def test_notification_gets_no_reply_even_on_error(sim_daemon):
    with sim_daemon.raw() as conn:
        conn.send(line({"jsonrpc": "2.0", "method": "no.such.method"}))
        conn.send(line({"jsonrpc": "2.0", "method": "nvme.id_ctrl", "params": {"device": 5}}))
        conn.send(line({"jsonrpc": "2.0", "method": "rpc.ping"}))
        conn.expect_silence(0.5)
        assert assert_result(conn.call(PING), 77) == "pong"


@pytest.mark.parametrize("msg", [
    {"jsonrpc": "1.0", "id": 1, "method": "rpc.ping"},
    {"id": 1, "method": "rpc.ping"},
    {"jsonrpc": "2.0", "id": 1},
    {"jsonrpc": "2.0", "id": 1, "method": 5},
    {"jsonrpc": "2.0", "id": {"a": 1}, "method": "rpc.ping"},
    {"jsonrpc": "2.0", "id": 1, "method": "rpc.ping", "params": 5},
    "string",
    42,
], ids=["jsonrpc-1.0", "no-jsonrpc", "no-method", "method-number", "id-object",
        "params-number", "string", "number"])
def test_invalid_request(sim_daemon, msg):
    with sim_daemon.raw() as conn:
        assert_error(conn.call(msg), -32600, "InvalidRequest")
        assert assert_result(conn.call(PING), 77) == "pong"


def test_method_not_found(sim_daemon):
    with sim_daemon.raw() as conn:
        assert_error(conn.call(rpc("nvme.no_such_method", id=4)), -32601, "MethodNotFound", id=4)


@pytest.mark.parametrize("id", [0, -1, 2**53, "abc", "", "ü"])
def test_id_echoed(sim_daemon, id):
    with sim_daemon.raw() as conn:
        assert assert_result(conn.call(rpc("rpc.ping", id=id)), id) == "pong"


def test_null_id_is_answered(sim_daemon):
    # "id": null is a request (not a notification), answered with id null.
    with sim_daemon.raw() as conn:
        assert assert_result(conn.call({"jsonrpc": "2.0", "id": None, "method": "rpc.ping"}),
                             None) == "pong"


@pytest.mark.parametrize("method,params,field", [
    ("nvme.id_ctrl", {"device": 5}, "params.device"),                      # type
    ("nvme.id_ctrl", {}, "params.device"),                                 # required
    ("nvme.id_ctrl", {"device": "sim0", "bogus": 1}, "params.bogus"),      # unknown
    ("nvme.id_ctrl", {"device": "sim 0"}, "params.device"),                # pattern
    ("nvme.id_ctrl", {"device": ""}, "params.device"),                     # pattern (empty)
    ("nvme.id_ctrl", {"device": "a" * 65}, "params.device"),               # pattern (length)
    ("nvme.id_ns", {"device": "sim0", "nsid": 0}, "params.nsid"),          # minimum
    ("nvme.id_ns", {"device": "sim0", "nsid": 4294967296}, "params.nsid"),  # maximum
    ("nvme.id_ns", {"device": "sim0", "nsid": 1.5}, "params.nsid"),        # integer
    ("nvme.id_ns", {"device": "sim0", "nsid": "1"}, "params.nsid"),        # type
    ("nvme.id_ns", {"device": "sim0", "nsid": True}, "params.nsid"),       # bool isn't int
    ("nvme.zns.report_zones", {"device": "sim0n2", "state": "bogus"}, "params.state"),  # enum
    ("nvme.zns.report_zones", {"device": "sim0n2", "slba": -1}, "params.slba"),
    ("nvme.zns.report_zones", {"device": "sim0n2", "limit": 0}, "params.limit"),
    ("nvme.zns.report_zones", {"device": "sim0n2", "stream": "yes"}, "params.stream"),
    ("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "explode", "slba": 0,
                            "confirm": "NRSIM0000000001"}, "params.action"),
    ("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "reset", "slba": 0,
                            "confirm": "x" * 21}, "params.confirm"),       # maxLength
    ("rpc.cancel", {"id": 1.5}, "params.id"),
    ("rpc.cancel", {}, "params.id"),
    ("rpc.ping", {"stream": True}, "params.stream"),                       # not streaming
])
def test_invalid_params(sim_daemon, method, params, field):
    with sim_daemon.raw() as conn:
        resp = conn.call(rpc(method, id=11, params=params))
    data = assert_error(resp, -32602, "InvalidParams", id=11, field=field)
    # The message and the reason name the parameter (it was "Invalid params:
    # is required" for a missing one).
    assert f"Invalid params: {field}: " in resp["error"]["message"], resp
    assert data["reason"].startswith(f"{field}: "), resp


def test_error_response_has_no_result_and_is_one_line(sim_daemon):
    with sim_daemon.raw() as conn:
        conn.send(rpc("nvme.id_ctrl", id=13, device="nope"))
        raw = conn.transport.readline()
        assert raw.count(b"\n") == 1 and raw.endswith(b"\n")
        resp = json.loads(raw)
        assert set(resp) == {"jsonrpc", "id", "error"}, resp
        assert_error(resp, -32001, "DeviceNotFound", id=13)
