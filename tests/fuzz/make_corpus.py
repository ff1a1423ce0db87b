#!/usr/bin/python3
"""Writes the seed corpora of the fuzz harnesses to tests/fuzz/corpus/<harness>/.

Seeds are the requests the integration tests send (one per method, with the
parameters they use, and the protocol cases of test_protocol.py), the
simulator description of docs/simulator.md and MI configs of docs/mi.md.
Rerun after adding a method; the output is deterministic:

    /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import base64
import hashlib
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
SN = "NRSIM0000000001"
BLOCK = base64.b64encode(bytes(range(256)) * 2).decode()


def rpc(method, params=None, id=1):
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return json.dumps(msg, separators=(",", ":")).encode()


# One request per method, as the integration tests call them.
CALLS = [
    ("rpc.ping", None), ("rpc.discover", None), ("server.info", None), ("server.stats", None),
    ("rpc.cancel", {"id": 1}), ("nvme.list", None), ("nvme.rescan", None),
    ("nvme.id_ctrl", {"device": "sim0"}), ("nvme.id_ns", {"device": "sim0n1"}),
    ("nvme.id_ns", {"device": "sim0", "nsid": 2}), ("nvme.list_ns", {"device": "sim0", "all": True}),
    ("nvme.list_ctrl", {"device": "sim0", "nsid": 1}), ("nvme.ns_descs", {"device": "sim0n1"}),
    ("nvme.id_ns_csi", {"device": "sim0n2", "csi": 2}), ("nvme.smart_log", {"device": "sim0"}),
    ("nvme.error_log", {"device": "sim0", "entries": 4}), ("nvme.fw_log", {"device": "sim0"}),
    ("nvme.effects_log", {"device": "sim0", "csi": 2}), ("nvme.self_test_log", {"device": "sim0"}),
    ("nvme.sanitize_log", {"device": "sim0"}), ("nvme.changed_ns_list", {"device": "sim0"}),
    ("nvme.telemetry_log", {"device": "sim0", "host_initiated": True, "create": True,
                            "data_area": 3}),
    ("nvme.persistent_event_log", {"device": "sim0", "action": "establish"}),
    ("nvme.get_log", {"device": "sim0", "lid": 2, "length": 512}),
    ("nvme.get_log", {"device": "sim0", "lid": 7, "length": 4096, "offset": 512, "stream": True}),
    ("nvme.get_feature", {"device": "sim0", "fid": 4, "sel": "current"}),
    ("nvme.get_feature", {"device": "sim0n1", "fid": 0x84}),
    ("nvme.set_feature", {"device": "sim0", "fid": 4, "fields": {"tmpth": 350}, "save": True}),
    ("nvme.set_feature", {"device": "sim0", "fid": 0x0e, "data": "AAAAAAAA"}),
    ("nvme.ns_create", {"device": "sim0", "nsze": 2048, "ncap": 2048, "lba_size": 4096,
                        "nmic": 1}),
    ("nvme.ns_attach", {"device": "sim0", "nsid": 3, "controllers": [1, 2]}),
    ("nvme.ns_detach", {"device": "sim0", "nsid": 1, "confirm": SN}),
    ("nvme.ns_delete", {"device": "sim0", "nsid": 1, "confirm": SN}),
    ("nvme.format", {"device": "sim0n1", "lbaf": 1, "ses": 1, "confirm": SN, "wait": True}),
    ("nvme.sanitize", {"device": "sim0", "action": "block", "confirm": SN, "wait": True,
                       "stream": True}),
    ("nvme.self_test", {"device": "sim0", "action": "short", "wait": True}),
    ("nvme.fw_download", {"device": "sim0", "image": "AAECAwQFBgc=", "offset": 0}),
    ("nvme.fw_commit", {"device": "sim0", "slot": 2, "action": "replace_activate",
                        "confirm": SN}),
    ("nvme.reset", {"device": "sim0", "confirm": SN}), ("nvme.ns_rescan", {"device": "sim0"}),
    ("nvme.zns.id_ctrl", {"device": "sim0"}), ("nvme.zns.id_ns", {"device": "sim0n2"}),
    ("nvme.zns.report_zones", {"device": "sim0n2", "limit": 4}),
    ("nvme.zns.report_zones", {"device": "sim0n2", "state": "full", "stream": True,
                               "extended": True}),
    ("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "open", "slba": 8192,
                            "confirm": SN}),
    ("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "reset", "all": True, "confirm": SN}),
    ("nvme.zns.append", {"device": "sim0n2", "slba": 6144, "data": BLOCK}),
    ("nvme.zns.changed_zones", {"device": "sim0n2", "rae": False}),
    ("nvme.admin_passthru", {"device": "sim0", "opcode": 6, "cdw10": 1, "data_len": 4096}),
    ("nvme.io_passthru", {"device": "sim0n2", "opcode": 0x7a, "nsid": 2, "cdw12": 15,
                          "data_len": 64}),
    ("mi.endpoints", None), ("mi.scan", None), ("mi.health_status_poll", {"device": "mctp:1,8"}),
    ("mi.read_data", {"device": "mctp:1,8", "type": "subsystem"}),
    ("mi.config_get", {"device": "mctp:1,8", "config": "mctp_mtu"}),
]

# test_protocol.py: framing, envelope, batches, ids, invalid params.
PROTOCOL = [
    b"garbage", b'{"a":', b"\xff\xfe", b"[1,", b"}",
    b'nope {"jsonrpc":"2.0","id":5,"method":"rpc.ping"}',
    rpc("rpc.ping", id=1) + rpc("rpc.ping", id=2) + b" " + rpc("rpc.ping", id="three"),
    b'[{"jsonrpc":"2.0","id":1,"method":"rpc.ping"},{"jsonrpc":"2.0","method":"rpc.ping"},'
    b'{"jsonrpc":"2.0","id":3,"method":"nope"},5]',
    b"[]", b'[{"jsonrpc":"2.0","method":"rpc.ping"}]', b'"string"', b"42",
    b'{"jsonrpc":"1.0","id":1,"method":"rpc.ping"}', b'{"jsonrpc":"2.0","id":{"a":1},'
    b'"method":"rpc.ping"}', b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping","params":5}',
    b'{"jsonrpc":"2.0","id":null,"method":"rpc.ping"}',
    b'{"jsonrpc":"2.0","id":1,"id":2,"method":"rpc.ping"}',
    b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"rpc.ping"}',
    b'{"jsonrpc":"2.0","id":1,"method":"nvme.id_ns","params":{"device":"sim0","nsid":1e400}}',
    b'{"jsonrpc":"2.0","id":1,"method":"rpc.p\\u0000ing"}',
    b'{"jsonrpc":"2.0","id":1,"method":"nvme.id_ctrl","params":{"device":"sim\\u00000"}}',
    b'{"jsonrpc":"2.0","id":1,"method":"nvme.id_ctrl","params":{"de\\u0000vice":"sim0"}}',
    rpc("nvme.id_ns", {"device": "sim0", "nsid": 4294967296}),
    rpc("nvme.zns.report_zones", {"device": "sim0n2", "slba": -1}),
    rpc("nvme.id_ctrl", {"device": "/dev/null"}),
    b"[" * 70 + b"]" * 70,
]

SIM_DOC = {"subsystems": [{
    "nqn": "nqn.2026-11.io.nvmerpcd:sim-subsys0", "capacity": 8589934592,
    "controllers": [{"sn": SN, "mn": "nvmerpcd simulated controller", "fr": "1.0", "cntlid": 1,
                     "latency_us": 0, "self_test_ms": {"short": 2000, "extended": 5000},
                     "sanitize_ms": 2000, "fwug": 1, "fw_slots": 3}],
    "namespaces": [
        {"nsid": 1, "lba_size": 512, "blocks": 2097152},
        {"nsid": 2, "lba_size": 512, "zoned": {"zone_size": 2048, "nr_zones": 1000, "max_open": 14,
                                               "max_active": 14}}]}]}
SIM_TWO = {"subsystems": [
    {"nqn": "nqn.a", "controllers": [{"sn": "A1"}, {"sn": "A2", "cntlid": 7}],
     "namespaces": [{"nsid": 5, "lba_size": 4096, "blocks": 100},
                    {"nsid": 9, "zoned": {"zone_size": 64, "nr_zones": 8, "zone_capacity": 60,
                                          "zdes": 2}}]},
    {"nqn": "nqn.b", "controllers": [{"sn": "B1", "fw_slots": 7, "fwug": 255}]}]}

MI_DOCS = [
    {"mi": {"endpoints": [{"net": 1, "eid": 8}], "dbus": True}},
    {"mi": {"endpoints": [{"net": 1, "eid": 8}, {"net": 2, "eid": 9}], "timeout_ms": 500,
            "deadline_ms": 5000, "quarantine_after": 3, "quarantine_ms": 30000}},
    {"mi": {"dbus": "unix:path=/tmp/bus"}},
    {"mi": {"dbus": False, "endpoints": []}},
]


def call(method):
    """The first request of CALLS for @method."""
    return next(rpc(m, p, id=i) for i, (m, p) in enumerate(CALLS) if m == method)


def write(harness, data):
    folder = os.path.join(CORPUS, harness)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def requests():
    out = [rpc(m, p, id=i) for i, (m, p) in enumerate(CALLS)]
    return out + PROTOCOL


def framing_seeds(reqs):
    # Header: value limit, depth limit, two bytes seeding the split points.
    stream = b"\n".join(reqs[:12]) + b"\n"
    yield b"\xff\x40\x01\x00" + stream
    yield b"\x40\x03\x07\x00" + b"\n".join(PROTOCOL) + b"\n"
    yield b"\x10\x02\x33\x01" + b'{"a":[1,{"b":"x\\"y"}]} 17 true "s"\n[[[[1]]]]\n'
    for r in reqs[:6]:
        yield b"\xff\x08\x05\x00" + r + b"\n"


def encode_seeds():
    # Selector and parameter bytes (see fuzz_encode.c), then the structure.
    for which in range(20):
        yield bytes([which, 3]) + bytes(64)
        yield bytes([which, 0x41]) + bytes(range(256)) * 2
    zone = struct.pack("<BBBB4xQQQ32x", 2, 0xe0, 1, 0, 2048, 0, 0xFFFFFFFFFFFFFFFF)
    yield bytes([17, 0]) + zone
    descs = bytes([1, 8, 0, 0]) + bytes(8) + bytes([2, 16, 0, 0]) + bytes(16) + \
        bytes([3, 16, 0, 0]) + bytes(range(16)) + bytes([4, 1, 0, 0, 2])
    yield bytes([16, 0]) + descs
    yield bytes([15, 0]) + bytes([0xff, 0xff, 0, 0, 2, 0, 0x14, 0x40]) + bytes(56)


def dispatch_dict():
    """libFuzzer dictionary: every method, parameter and enum value of the schema."""
    import sys
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))
    import schema_build
    doc = schema_build.assemble(os.path.join(SOURCE_DIR, "schema"))
    words = {"jsonrpc", "2.0", "id", "method", "params", "sim0", "sim0n1", "sim0n2", "sim1",
             SN, "NRSIM0000000002"}
    for m in doc["methods"]:
        words.add(m["name"])
        for p in m["params"]:
            words.add(p["name"])
            words.update(json.dumps(v) for v in p["schema"].get("enum", [])
                         if not isinstance(v, str))
            words.update(v for v in p["schema"].get("enum", []) if isinstance(v, str))
    with open(os.path.join(HERE, "dispatch.dict"), "w") as f:
        f.write("# Generated by make_corpus.py from schema/: do not edit.\n")
        # A string word is quoted as in JSON text; a number is its digits.
        for w in sorted(words):
            token = w if w.isdigit() else json.dumps(w)
            f.write(json.dumps(token) + "\n")


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    dispatch_dict()
    reqs = requests()
    for r in reqs:
        write("dispatch", r)
    # Sequences on one session: create, attach, use, delete.
    write("dispatch", b"\n".join(call(m) for m in ("nvme.ns_create", "nvme.ns_attach",
                                                   "nvme.list", "nvme.ns_delete")))
    write("dispatch", b"\n".join(call(m) for m in ("nvme.zns.append", "nvme.zns.mgmt_send",
                                                   "nvme.zns.report_zones", "nvme.format")))
    for seed in framing_seeds(reqs):
        write("framing", seed)
    for seed in encode_seeds():
        write("encode", seed)
    for doc in MI_DOCS:
        write("mi_config", json.dumps(doc).encode())
    for doc in (SIM_DOC, SIM_TWO):
        write("sim_config", json.dumps(doc).encode())


if __name__ == "__main__":
    main()
