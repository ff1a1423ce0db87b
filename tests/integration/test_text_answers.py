"""Answers written as text straight from the encoder tables (issue 12):
nvme.id_ctrl, nvme.id_ns, nvme.smart_log and nvme.get_feature no longer go
through a jansson value, so the daemon's own envelope writer puts the id and
the result text together. These tests read the raw bytes the daemon sends:
the envelope, the id echoed exactly as the request spelled it (strings with
quotes, escapes and non-ASCII, large and negative integers, null), compact
JSON whose result validates against the schema, inside batches too, and a
peer that leaves before its answer is written."""

import json
import socket

import pytest

from conftest import line, rpc

TEXT_CALLS = [
    ("nvme.id_ctrl", {"device": "sim0"}),
    ("nvme.id_ns", {"device": "sim0n1"}),
    ("nvme.id_ns", {"device": "sim0", "nsid": 1}),
    ("nvme.smart_log", {"device": "sim0"}),
    ("nvme.smart_log", {"device": "sim0n1"}),
    ("nvme.get_feature", {"device": "sim0", "fid": 4}),
    ("nvme.get_feature", {"device": "sim0", "fid": 4, "sel": "supported"}),
    ("nvme.get_feature", {"device": "sim0", "fid": 0x0E}),  # Timestamp: data
]

# Each id as the request spells it, and as the answer must spell it: the
# daemon writes ids compactly as jansson does (non-ASCII as UTF-8, "\u00e9"
# decoded, "\/" as "/").
IDS = [
    (b"7", b"7"),
    (b"-9223372036854775808", b"-9223372036854775808"),
    (b"null", b"null"),
    (b'"a\\"b\\\\c"', b'"a\\"b\\\\c"'),
    (b'"caf\\u00e9 \\/ x"', '"café / x"'.encode()),
    (b'"\xe2\x82\xac\\n"', b'"\xe2\x82\xac\\n"'),
]


def raw_request(id_text, method, params):
    body = json.dumps({"method": method, "params": params}, separators=(",", ":"))
    return b'{"jsonrpc":"2.0","id":' + id_text + b"," + body[1:].encode() + b"\n"


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("method,params", TEXT_CALLS)
def test_text_answer_envelope_and_id_echo(d, validate_result, method, params):
    with d.raw() as conn:
        for sent, echoed in IDS:
            conn.send(raw_request(sent, method, params))
            raw = conn.transport.readline()
            head = b'{"jsonrpc":"2.0","id":' + echoed + b',"result":{'
            assert raw.startswith(head), raw[:200]
            assert raw.endswith(b"}}\n"), raw[-100:]
            resp = json.loads(raw)
            assert list(resp) == ["jsonrpc", "id", "result"]
            validate_result(method, resp["result"])
            # Compact, and in the encoder tables' key order.
            assert compact(resp["result"]) in raw


def test_text_answers_in_a_batch_match_single_answers(d):
    with d.raw() as conn:
        singles = []
        for i, (method, params) in enumerate(TEXT_CALLS[:6]):
            conn.send(rpc(method, id=i, params=params))
            singles.append(json.loads(conn.transport.readline())["result"])
        batch = [rpc(m, id=i, params=p) for i, (m, p) in enumerate(TEXT_CALLS[:6])]
        batch.insert(2, {"jsonrpc": "2.0", "method": "nvme.id_ctrl", "params": {"device": "sim0"}})
        conn.send(batch)
        answers = json.loads(conn.transport.readline())
        assert len(answers) == 6, "the notification gets no answer"
        by_id = {a["id"]: a["result"] for a in answers}
        for i, result in enumerate(singles):
            if TEXT_CALLS[i][0] == "nvme.smart_log":
                continue  # its counters move between the two reads
            assert by_id[i] == result


def test_peer_gone_before_text_answers(d):
    """Many text-answered calls queued, then the peer leaves: the daemon
    drops their answers and keeps serving."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.socket)
    s.sendall(b"".join(line(rpc("nvme.id_ctrl", id=i, device="sim0")) for i in range(64)))
    s.close()
    with d.raw() as conn:
        resp = conn.call(rpc("nvme.id_ctrl", id=1, device="sim0"))
        assert resp["result"]["sn"]
