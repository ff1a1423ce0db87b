"""Log pages against the simulator: decoded (error, firmware slot, effects, changed
namespaces), raw (nvme.get_log with offset, length and streaming), telemetry and the
persistent event log streamed as base64 chunks, and SMART counters that move."""
import base64
import struct

import pytest

import nvmerpc
from conftest import assert_error, rpc


def b64(text):
    return base64.b64decode(text, validate=True)


def smart_counter(c, key):
    return int(c.nvme_smart_log(device="sim0")[key])


# -- error log -------------------------------------------------------------------------------

def test_error_log_shape(c, validate_result):
    got = validate_result("nvme.error_log", c.call("nvme.error_log", device="sim0"))
    elpe = c.nvme_id_ctrl(device="sim0")["elpe"]
    assert len(got["errors"]) == elpe + 1 == 64
    got = validate_result("nvme.error_log", c.call("nvme.error_log", device="sim0", entries=3))
    assert len(got["errors"]) == 3
    # More than the controller keeps: capped at ELPE + 1.
    assert len(c.call("nvme.error_log", device="sim0", entries=256)["errors"]) == 64


def test_errors_land_in_the_error_log(c, validate_result):
    before = c.call("nvme.error_log", device="sim0", entries=1)["errors"][0]["error_count"]
    errs_before = smart_counter(c, "num_err_log_entries")
    with pytest.raises(nvmerpc.NvmeStatus) as e1:
        c.nvme_id_ns(device="sim0", nsid=40)
    with pytest.raises(nvmerpc.NvmeStatus) as e2:
        c.call("nvme.get_log", device="sim0", lid=0x99, length=512)
    log = validate_result("nvme.error_log", c.call("nvme.error_log", device="sim0", entries=2))
    newest, older = log["errors"]
    # Newest first, the count moving by one per error.
    assert (older["error_count"], newest["error_count"]) == (before + 1, before + 2)
    assert older["status_field"] == e1.value.data["raw"] == 0x400B
    assert older["nsid"] == 40
    assert newest["status_field"] == e2.value.data["raw"] == 0x4109
    assert newest["phase_tag"] == 0 and newest["sqid"] == 0
    # SMART's Number of Error Information Log Entries follows.
    assert smart_counter(c, "num_err_log_entries") == errs_before + 2


def test_error_log_entries_param_validated(d):
    with d.raw() as conn:
        for bad in (0, 257, "4"):
            assert_error(conn.call(rpc("nvme.error_log", id=1, device="sim0", entries=bad)),
                         -32602, "InvalidParams", id=1, field="params.entries")


# -- firmware slot and effects logs ------------------------------------------------------------

def test_fw_log(c, validate_result):
    got = validate_result("nvme.fw_log", c.call("nvme.fw_log", device="sim0"))
    fr = c.nvme_id_ctrl(device="sim0")["fr"]
    assert got["afi"] & 7 == got["active_slot"] == 1
    assert got["next_slot"] == 0 and got["afi"] >> 4 == 0
    assert got["frs1"] == fr == "1.0"
    assert c.call("nvme.fw_log", device="sim0n1") == got


# Opcodes of every admin command the daemon's methods send to the simulator.
ADMIN_OPCODES = {0x02, 0x06, 0x09, 0x0A, 0x0D, 0x10, 0x11, 0x14, 0x15, 0x80, 0x84}


def test_effects_log(c, validate_result):
    got = validate_result("nvme.effects_log", c.call("nvme.effects_log", device="sim0"))
    assert got["csi"] == 0
    acs = {e["opcode"]: e for e in got["acs"]}
    assert ADMIN_OPCODES <= set(acs), sorted(acs)
    assert all(e["csupp"] == 1 and e["effects"] & 1 for e in got["acs"] + got["iocs"])
    # Decoded bits agree with the raw word.
    for e in got["acs"] + got["iocs"]:
        w = e["effects"]
        assert (e["lbcc"], e["ncc"], e["nic"], e["ccc"], e["cse"], e["uss"]) == \
            (w >> 1 & 1, w >> 2 & 1, w >> 3 & 1, w >> 4 & 1, w >> 16 & 7, w >> 19 & 1), e
    # Format NVM changes LBA content and namespace capabilities; sanitize too.
    assert acs[0x80]["lbcc"] == 1 and acs[0x80]["ncc"] == 1
    assert acs[0x84]["lbcc"] == 1
    # Namespace management changes the namespace inventory.
    assert acs[0x0D]["nic"] == 1


def test_effects_log_zns(c):
    got = c.call("nvme.effects_log", device="sim0", csi=2)
    assert got["csi"] == 2
    io = {e["opcode"]: e for e in got["iocs"]}
    # Zone Management Send / Receive and Zone Append.
    assert {0x79, 0x7A, 0x7D} <= set(io), sorted(io)
    assert io[0x79]["lbcc"] == 1 and io[0x7D]["lbcc"] == 1 and io[0x7A]["lbcc"] == 0


# -- nvme.get_log: raw, offset, length, stream ------------------------------------------------

def test_get_log_raw_smart_matches_decoded(c, validate_result):
    got = validate_result("nvme.get_log", c.call("nvme.get_log", device="sim0", lid=2,
                                                 length=512))
    assert (got["lid"], got["offset"], got["length"]) == (2, 0, 512)
    raw = b64(got["data"])
    assert len(raw) == 512
    smart = c.nvme_smart_log(device="sim0")
    assert raw[0] == smart["critical_warning"]
    assert struct.unpack_from("<H", raw, 1)[0] == smart["temperature"] == 308
    assert (raw[3], raw[4]) == (smart["avail_spare"], smart["spare_thresh"]) == (100, 10)
    assert int.from_bytes(raw[112:128], "little") == int(smart["power_cycles"]) == 1


def test_get_log_offset_and_length(c, validate_result):
    whole = b64(c.call("nvme.get_log", device="sim0", lid=2, length=512)["data"])
    part = validate_result("nvme.get_log", c.call("nvme.get_log", device="sim0", lid=2,
                                                  offset=112, length=16))
    assert (part["offset"], part["length"]) == (112, 16)
    assert b64(part["data"]) == whole[112:128]
    # The firmware slot log's slot 1 revision at byte 8.
    fw = b64(c.call("nvme.get_log", device="sim0", lid=3, offset=8, length=8)["data"])
    assert fw.rstrip(b" \0") == b"1.0"


def test_get_log_zero_length(c, validate_result):
    got = validate_result("nvme.get_log", c.call("nvme.get_log", device="sim0", lid=2, length=0))
    assert got == {"lid": 2, "offset": 0, "length": 0, "data": ""}


def test_get_log_stream_equals_inline(c, validate_result):
    # The controller-initiated telemetry log (12800 bytes), inline and streamed.
    inline = c.call("nvme.get_log", device="sim0", lid=8, length=12800)
    stream = c.stream("nvme.get_log", device="sim0", lid=8, length=12800)
    items = list(stream)
    validate_result("nvme.get_log", stream.summary)
    assert stream.summary == {"lid": 8, "offset": 0, "length": 12800, "chunks": stream.chunks}
    assert stream.chunks >= 1 and stream.seqs == sorted(stream.seqs)
    assert [i["offset"] for i in items] == \
        [sum(i["length"] for i in items[:k]) for k in range(len(items))]
    assert b"".join(b64(i["data"]) for i in items) == b64(inline["data"])
    assert sum(i["length"] for i in items) == 12800


def test_get_log_stream_in_chunks_of_mdts(daemon):
    # Chunks of at most 64 KiB (the simulator's MDTS, 7, allows 512 KiB).
    d = daemon()
    with d.client() as c:
        stream = c.stream("nvme.get_log", device="sim0", lid=8, length=12800, offset=0)
        items = list(stream)
        assert all(i["length"] <= 65536 for i in items)
        # An offset: the stream starts there.
        stream = c.stream("nvme.get_log", device="sim0", lid=8, length=1024, offset=512)
        items = list(stream)
        assert items[0]["offset"] == 512 and sum(i["length"] for i in items) == 1024
        assert stream.summary["offset"] == 512 and stream.summary["length"] == 1024


def test_get_log_errors(d):
    with d.raw() as conn:
        assert_error(conn.call(rpc("nvme.get_log", id=1, device="sim0", lid=2, length=6)),
                     -32602, "InvalidParams", id=1, field="params.length")
        data = assert_error(conn.call(rpc("nvme.get_log", id=2, device="sim0", lid=2,
                                          length=2 * 1024 * 1024)),
                            -32011, "ResultTooLarge", id=2)
        assert data["limit"] == 1024 * 1024
        data = assert_error(conn.call(rpc("nvme.get_log", id=3, device="sim0", lid=0x99,
                                          length=512)), -32004, "NvmeStatus", id=3)
        assert (data["sct"], data["sc"]) == (1, 0x09)  # Invalid Log Page
        # An offset past the page: Invalid Field in Command.
        data = assert_error(conn.call(rpc("nvme.get_log", id=4, device="sim0", lid=3,
                                          offset=4096, length=8)), -32004, "NvmeStatus", id=4)
        assert (data["sct"], data["sc"]) == (0, 0x02)
        assert_error(conn.call(rpc("nvme.get_log", id=5, device="sim0", lid=256, length=4)),
                     -32602, "InvalidParams", id=5, field="params.lid")


# -- telemetry and persistent event logs ------------------------------------------------------

def test_telemetry_host_initiated(c, validate_result):
    got = validate_result("nvme.telemetry_log", c.call("nvme.telemetry_log", device="sim0",
                                                       create=True))
    raw = b64(got["data"])
    assert got["lid"] == 7 and got["offset"] == 0 and got["data_area"] == 3
    assert got["length"] == len(raw) == (got["last_block"] + 1) * 512
    assert raw[0] == 7  # LID in the header
    # Data Area 1 Last Block in the header at byte 8, area 2 at 10, area 3 at 12.
    last = struct.unpack_from("<HHH", raw, 8)
    assert last[2] == got["last_block"]
    area1 = c.call("nvme.telemetry_log", device="sim0", data_area=1)
    assert area1["last_block"] == last[0] and area1["length"] == (last[0] + 1) * 512
    assert b64(area1["data"]) == raw[:area1["length"]]


def test_telemetry_stream_base64_chunks(c, validate_result):
    inline = c.call("nvme.telemetry_log", device="sim0", host_initiated=False)
    assert inline["lid"] == 8
    stream = c.stream("nvme.telemetry_log", device="sim0", host_initiated=False)
    items = list(stream)
    summary = validate_result("nvme.telemetry_log", stream.summary)
    assert "data" not in summary and summary["chunks"] == stream.chunks >= 1
    assert summary["length"] == inline["length"] and summary["last_block"] == inline["last_block"]
    assert b"".join(b64(i["data"]) for i in items) == b64(inline["data"])
    for i in items:
        assert len(b64(i["data"])) == i["length"]


def test_telemetry_create_only_host_initiated(d):
    with d.raw() as conn:
        assert_error(conn.call(rpc("nvme.telemetry_log", id=1, device="sim0",
                                   host_initiated=False, create=True)),
                     -32602, "InvalidParams", id=1, field="params.create")
        assert_error(conn.call(rpc("nvme.telemetry_log", id=2, device="sim0", data_area=4)),
                     -32602, "InvalidParams", id=2, field="params.data_area")


def test_persistent_event_log_context(c, validate_result):
    # Reading without a reporting context: Command Sequence Error.
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.call("nvme.persistent_event_log", device="sim0")
    assert (e.value.data["sct"], e.value.data["sc"]) == (0, 0x0C)
    got = validate_result("nvme.persistent_event_log",
                          c.call("nvme.persistent_event_log", device="sim0", action="establish"))
    raw = b64(got["data"])
    assert got["lid"] == 13 and got["length"] == len(raw)
    assert raw[0] == 0x0D and struct.unpack_from("<I", raw, 4)[0] == got["tnev"] >= 1
    assert struct.unpack_from("<Q", raw, 8)[0] == got["length"]
    again = c.call("nvme.persistent_event_log", device="sim0")
    assert again["tnev"] >= got["tnev"]
    stream = c.stream("nvme.persistent_event_log", device="sim0")
    chunks = b"".join(b64(i["data"]) for i in stream)
    assert len(chunks) == stream.summary["length"]
    assert c.call("nvme.persistent_event_log", device="sim0", action="release") == \
        {"action": "release"}
    with pytest.raises(nvmerpc.NvmeStatus):
        c.call("nvme.persistent_event_log", device="sim0")


# -- changed namespace list --------------------------------------------------------------------

def test_changed_ns_list_empty_at_start(c, validate_result):
    got = validate_result("nvme.changed_ns_list", c.call("nvme.changed_ns_list", device="sim0"))
    assert got == {"nsid_list": [], "overflow": False}


# -- SMART counters move -----------------------------------------------------------------------

def test_smart_read_counters_move(c):
    before = c.nvme_smart_log(device="sim0")
    for _ in range(5):
        c.nvme_id_ctrl(device="sim0")
    after = c.nvme_smart_log(device="sim0")
    # Every command that returned data counts as a read; the SMART read itself too.
    assert int(after["host_read_commands"]) == int(before["host_read_commands"]) + 6
    assert int(after["data_units_written"]) == int(before["data_units_written"])


def test_smart_write_counters_move_with_zone_append(c):
    before = c.nvme_smart_log(device="sim0")
    c.call("nvme.zns.append", device="sim0n2", slba=3 * 2048,
           data=base64.b64encode(bytes(512 * 4)).decode())
    after = c.nvme_smart_log(device="sim0")
    assert int(after["host_write_commands"]) == int(before["host_write_commands"]) + 1
    # Data Units Written: thousands of 512-byte units, rounded up.
    assert int(after["data_units_written"]) == int(before["data_units_written"]) + 1
