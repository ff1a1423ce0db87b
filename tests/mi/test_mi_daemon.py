"""The NVMe-MI backend end to end: nvmerpcd (unchanged binary) with the
AF_MCTP interposer preloaded, talking NVMe-MI to the responder, whose
endpoints are simulated subsystems."""
import base64

import pytest

import nvmerpc
from conftest import MI_DEADLINE_MS, QUARANTINE_AFTER, ep_name, it

SIM_SN = "NRSIM0000000001"  # the built-in simulated controller, also the responder's default
TWO = {"subsystems": [{
    "nqn": "nqn.2026-11.io.nvmerpcd:mi-two",
    "controllers": [{"sn": "NRMI0000000002A", "mn": "nvmerpcd MI two", "cntlid": 3},
                    {"sn": "NRMI0000000002B", "mn": "nvmerpcd MI two", "cntlid": 5}],
    "namespaces": [{"nsid": 1, "lba_size": 4096, "blocks": 262144}]}]}


def error_of(excinfo):
    return excinfo.value.code, excinfo.value.data


# ---- discovery, names, nvme.list ------------------------------------------------

def test_scan_lists_controllers_behind_each_endpoint(mi_rig, validate_result):
    rig = mi_rig([{"net": 1, "eid": 8}, {"net": 1, "eid": 9, "sim": TWO}], scan=False)
    scan = validate_result("mi.scan", rig.scan())
    got = {e["name"]: e["controllers"] for e in scan["endpoints"]}
    assert got == {"mctp:1,8": ["mctp:1,8:1"], "mctp:1,9": ["mctp:1,9:3", "mctp:1,9:5"]}
    with rig.client() as c:
        listing = validate_result("nvme.list", c.call("nvme.list"))
        mi_subsys = [s for s in listing["subsystems"] if s["backend"] == "mi"]
        names = sorted(ctrl["name"] for s in mi_subsys for ctrl in s["controllers"])
        assert names == ["mctp:1,8:1", "mctp:1,9:3", "mctp:1,9:5"]
        two = next(s for s in mi_subsys if s["nqn"] == "nqn.2026-11.io.nvmerpcd:mi-two")
        assert [ns["name"] for ns in two["namespaces"]] == ["mctp:1,9:3n1"]
        assert two["namespaces"][0]["controllers"] == ["mctp:1,9:3", "mctp:1,9:5"]
        assert {ctrl["transport"] for ctrl in two["controllers"]} == {"mctp"}
        eps = validate_result("mi.endpoints", c.call("mi.endpoints"))
        states = {e["name"]: (e["state"], e["source"]) for e in eps["endpoints"]}
        assert states == {"mctp:1,8": ("ok", "config"), "mctp:1,9": ("ok", "config")}


def test_unknown_endpoint_name_is_device_not_found(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    with rig.client() as c, pytest.raises(nvmerpc.RpcError) as e:
        c.call("mi.health_status_poll", device="mctp:1,99")
    assert e.value.code == -32001


# ---- tunneled admin equals the simulator ---------------------------------------------

def test_identify_and_smart_via_mi_equal_the_simulators(mi_rig, validate_result):
    rig = mi_rig([{"net": 1, "eid": 8}])
    with rig.client() as c:
        via_mi = validate_result("nvme.id_ctrl", c.call("nvme.id_ctrl", device="mctp:1,8:1"))
        direct = c.call("nvme.id_ctrl", device="sim0")
        assert via_mi == direct
        assert via_mi["sn"].strip() == SIM_SN
        ns_mi = c.call("nvme.id_ns", device="mctp:1,8:1n1")
        assert ns_mi == c.call("nvme.id_ns", device="sim0n1")
        smart_mi = validate_result("nvme.smart_log", c.call("nvme.smart_log", device="mctp:1,8:1"))
        smart = c.call("nvme.smart_log", device="sim0")
        for key in ("critical_warning", "temperature", "avail_spare", "spare_thresh",
                    "percent_used"):
            assert smart_mi[key] == smart[key], key


def test_state_changed_through_mi_is_read_back_through_mi(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    dev = "mctp:1,8:1"
    with rig.client() as c:
        before = c.call("nvme.get_feature", device=dev, fid=0x04)["value"]  # temperature threshold
        c.call("nvme.set_feature", device=dev, fid=0x04, value=before - 5)
        assert c.call("nvme.get_feature", device=dev, fid=0x04)["value"] == before - 5
        assert c.call("nvme.get_feature", device="sim0", fid=0x04)["value"] == before


def test_large_log_read_in_pieces_matches_simulator(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    with rig.client() as c:
        via_mi = c.call("nvme.get_log", device="mctp:1,8:1", lid=0x01, length=16384)
        direct = c.call("nvme.get_log", device="sim0", lid=0x01, length=16384)
        assert via_mi["data"] == direct["data"]
        assert len(via_mi["data"]) > 4096  # base64 of more than one MI message


def test_destructive_over_mi_requires_confirm(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    with rig.client() as c:
        with pytest.raises(nvmerpc.RpcError) as e:
            c.call("nvme.format", device="mctp:1,8:1n1", lbaf=0)
        assert e.value.code == -32008
        assert rig.responder.stats(1, 8)["opcodes"].get("admin:0x80", 0) == 0
        c.call("nvme.format", device="mctp:1,8:1n1", lbaf=0, confirm=SIM_SN)
        assert rig.responder.stats(1, 8)["opcodes"].get("admin:0x80", 0) == 1


def test_nvme_error_status_over_mi_is_nvme_status(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    with rig.client() as c, pytest.raises(nvmerpc.RpcError) as e:
        c.call("nvme.get_log", device="mctp:1,8:1", lid=0x70, length=512)
    code, data = error_of(e)
    assert code == -32004 and (data["sct"], data["sc"]) in ((0, 0x02), (1, 0x09)), data


@pytest.mark.parametrize("method,params", [
    ("nvme.zns.report_zones", {"device": "mctp:1,8:1n2"}),
    ("nvme.io_passthru", {"device": "mctp:1,8:1n1", "opcode": 2, "confirm": SIM_SN}),
    ("nvme.zns.append", {"device": "mctp:1,8:1n2", "slba": 0, "data": "AAAA"}),
])
def test_io_and_zone_commands_are_not_supported_on_mi(mi_rig, method, params):
    rig = mi_rig([{"net": 1, "eid": 8}])
    before = rig.responder.stats(1, 8)["requests"]
    with rig.client() as c, pytest.raises(nvmerpc.RpcError) as e:
        c.call(method, **params)
    assert e.value.code in (-32006, -32602), e.value.data
    if e.value.code == -32602:
        pytest.fail(f"params rejected before the backend check: {e.value.data}")
    assert rig.responder.stats(1, 8)["requests"] == before


# ---- the MI command set --------------------------------------------------------------

def test_health_status_poll(mi_rig, validate_result):
    rig = mi_rig([{"net": 1, "eid": 8}])
    with rig.client() as c:
        h = validate_result("mi.health_status_poll",
                            c.call("mi.health_status_poll", device="mctp:1,8"))
        smart = c.call("nvme.smart_log", device="sim0")
        assert h["ctemp"] == smart["temperature"] - 273
        assert h["pdlu"] == smart["percent_used"]
        assert h["status"]["drive_functional"] is True
        assert not any(h["warnings"].values())
        # The same poll addressed through a controller name reaches the same endpoint.
        again = c.call("mi.health_status_poll", device="mctp:1,8:1", clear=True)
        assert again["ctemp"] == h["ctemp"]


@pytest.mark.parametrize("kind", ["subsystem", "port", "controller_list", "controller"])
def test_read_data_each_type(mi_rig, validate_result, kind):
    rig = mi_rig([{"net": 1, "eid": 9, "sim": TWO}])
    with rig.client() as c:
        params = {"ctrl_id": 5} if kind == "controller" else {}
        data = validate_result("mi.read_data",
                               c.call("mi.read_data", device="mctp:1,9", type=kind, **params))
    assert data["type"] == kind
    if kind == "subsystem":
        assert data["ports"] == data["nump"] + 1 >= 1 and data["mjr"] == 1
    elif kind == "port":
        assert data["type"] == "port" and data["mmctptus"] >= 64
    elif kind == "controller_list":
        assert data["controllers"] == [3, 5]
    else:
        assert "vid" in data and "portid" in data


def test_read_data_unknown_controller_is_mi_status(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 9, "sim": TWO}])
    with rig.client() as c, pytest.raises(nvmerpc.RpcError) as e:
        c.call("mi.read_data", device="mctp:1,9", type="controller", ctrl_id=77)
    code, data = error_of(e)
    assert code == -32005 and data["mi_status"] == 0x04
    assert data["status"] == "Invalid Parameter"


def test_config_set_then_get(mi_rig, validate_result):
    rig = mi_rig([{"net": 1, "eid": 8}])
    with rig.client() as c:
        c.call("mi.config_set", device="mctp:1,8", config="smbus_frequency", value=2)
        got = validate_result("mi.config_get",
                              c.call("mi.config_get", device="mctp:1,8", config="smbus_frequency"))
        assert (got["value"], got["frequency"]) == (2, "400kHz")
        c.call("mi.config_set", device="mctp:1,8", config="mctp_mtu", value=128)
        assert c.call("mi.config_get", device="mctp:1,8", config="mctp_mtu")["value"] == 128
        with pytest.raises(nvmerpc.RpcError) as e:
            c.call("mi.config_set", device="mctp:1,8", config="smbus_frequency", value=9)
        assert e.value.code == -32602


def test_mi_methods_refuse_other_backends(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    with rig.client() as c, pytest.raises(nvmerpc.RpcError) as e:
        c.call("mi.health_status_poll", device="sim0")
    assert e.value.code == -32006


# ---- failures on the wire ----------------------------------------------------------

def test_mi_status_from_endpoint_is_mi_status_error(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    rig.responder.set(1, 8, mi_status=0x02, mi_status_count=1)
    with rig.client() as c:
        with pytest.raises(nvmerpc.RpcError) as e:
            c.call("nvme.id_ctrl", device="mctp:1,8:1")
        code, data = error_of(e)
        assert code == -32005 and data["mi_status"] == 2 and data["status"] == "Internal Error"
        assert c.call("nvme.id_ctrl", device="mctp:1,8:1")["sn"].strip() == SIM_SN


@pytest.mark.parametrize("behaviour,errno_name", [("corrupt_mic", "EBADMSG"),
                                                  ("short", "EPROTO")])
def test_damaged_response_is_transport_error(mi_rig, behaviour, errno_name):
    rig = mi_rig([{"net": 1, "eid": 8}])
    rig.responder.set(1, 8, **{behaviour: 1})
    with rig.client() as c:
        with pytest.raises(nvmerpc.RpcError) as e:
            c.call("mi.health_status_poll", device="mctp:1,8")
        code, data = error_of(e)
        assert code == -32009 and data["errno_name"] == errno_name, data
        c.call("mi.health_status_poll", device="mctp:1,8")  # the next one is clean


def test_silent_endpoint_times_out_then_is_quarantined_and_recovers(mi_rig, validate_result):
    rig = mi_rig([{"net": 1, "eid": 8}])
    rig.responder.set(1, 8, silent=True)
    with rig.client() as c:
        for _ in range(QUARANTINE_AFTER):
            with pytest.raises(nvmerpc.RpcError) as e:
                c.call("mi.health_status_poll", device="mctp:1,8")
            assert e.value.code == -32003, e.value.data
        eps = validate_result("mi.endpoints", c.call("mi.endpoints"))["endpoints"]
        assert eps[0]["state"] == "quarantined" and eps[0]["quarantine_remaining_ms"] > 0
        assert eps[0]["counters"]["timeouts"] == QUARANTINE_AFTER
        sent = rig.responder.stats(1, 8)["requests"]
        with pytest.raises(nvmerpc.RpcError) as e:
            c.call("nvme.id_ctrl", device="mctp:1,8:1")
        code, data = error_of(e)
        assert code == -32009 and data["errno_name"] == "EHOSTDOWN"
        assert rig.responder.stats(1, 8)["requests"] == sent  # refused before sending
        rig.responder.set(1, 8, silent=False)
        while c.call("mi.endpoints")["endpoints"][0]["state"] == "quarantined":
            pass  # the quarantine ends by itself; the next request is a probe
        c.call("mi.health_status_poll", device="mctp:1,8")
        assert c.call("mi.endpoints")["endpoints"][0]["state"] == "ok"


def test_more_processing_required_then_answer(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    rig.responder.set(1, 8, mpr=2, mprt=1)
    with rig.client() as c:
        assert c.call("nvme.id_ctrl", device="mctp:1,8:1")["sn"].strip() == SIM_SN


def test_endless_more_processing_required_is_cut_by_the_deadline(mi_rig):
    """The endpoint says More Processing Required forever: the daemon's deadline
    ends the request and frees the worker and the endpoint's queue."""
    rig = mi_rig([{"net": 1, "eid": 8}], args=("--timeout-ms", str(MI_DEADLINE_MS * 20)))
    rig.responder.set(1, 8, mpr=-1, mprt=10)  # every 100 ms, each promising 1 s more
    with rig.client() as c:
        with pytest.raises(nvmerpc.RpcError) as e:
            c.call("mi.health_status_poll", device="mctp:1,8")
        assert e.value.code == -32003
        rig.responder.set(1, 8, mpr=0)
        # Answered by the MI deadline, not the per-command timeout (20 times
        # longer): the same worker and FIFO serve the next request.
        c.call("mi.health_status_poll", device="mctp:1,8")


# ---- isolation and sharing -----------------------------------------------------------

def test_silent_endpoint_does_not_delay_eight_others(mi_rig):
    eps = [{"net": 1, "eid": 8 + i} for i in range(9)]
    rig = mi_rig(eps, args=("--threads", "4"))
    rig.responder.set(1, 8, silent=True)
    with rig.daemon.raw() as raw:
        raw.send(it.rpc("mi.health_status_poll", id="silent", device="mctp:1,8"))
        for i in range(1, 9):
            raw.send(it.rpc("mi.health_status_poll", id=i, device=ep_name(1, 8 + i)))
        order = [raw.recv() for _ in range(9)]
    assert order[-1]["id"] == "silent", [r["id"] for r in order]
    assert all("result" in r for r in order[:8]), order[:8]
    assert order[-1]["error"]["code"] == -32003


def test_scan_with_a_silent_endpoint_does_not_block_the_loop(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8, "behaviour": {"silent": True}}, {"net": 1, "eid": 9}],
                 scan=False)
    with rig.daemon.raw() as raw:
        raw.send(it.rpc("mi.scan", id="scan"))
        raw.send(it.rpc("rpc.ping", id="ping"))
        first, second = raw.recv(), raw.recv()
    assert (first["id"], second["id"]) == ("ping", "scan")
    report = {e["name"]: e for e in second["result"]["endpoints"]}
    assert report["mctp:1,9"]["controllers"] == ["mctp:1,9:1"]
    assert report["mctp:1,8"]["controllers"] == [] and "error" in report["mctp:1,8"]


def test_identical_reads_in_flight_share_one_answer(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    rig.responder.set(1, 8, delay_ms=300)
    rig.responder.reset_stats()
    with rig.client() as c:
        before = c.call("mi.endpoints")["endpoints"][0]["counters"]["coalesced"]
    with rig.daemon.raw() as raw:
        for i in range(8):
            raw.send(it.rpc("nvme.id_ctrl", id=i, device="mctp:1,8:1"))
        answers = [raw.recv() for _ in range(8)]
    assert all(a["result"] == answers[0]["result"] for a in answers)
    assert rig.responder.stats(1, 8)["requests"] == 1
    with rig.client() as c:
        counters = c.call("mi.endpoints")["endpoints"][0]["counters"]
    assert counters["coalesced"] - before == 7


def test_different_or_later_reads_are_not_shared(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    rig.responder.reset_stats()
    with rig.client() as c:
        c.call("nvme.id_ctrl", device="mctp:1,8:1")
        c.call("nvme.id_ctrl", device="mctp:1,8:1")  # after the first completed
        c.call("nvme.id_ns", device="mctp:1,8:1n1")
    assert rig.responder.stats(1, 8)["requests"] == 3


def test_writes_are_never_shared(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    rig.responder.set(1, 8, delay_ms=200)
    rig.responder.reset_stats()
    with rig.daemon.raw() as raw:
        for i in range(3):
            raw.send(it.rpc("mi.config_set", id=i, device="mctp:1,8", config="mctp_mtu",
                            value=100 + i))
        assert all("result" in raw.recv() for _ in range(3))
    assert rig.responder.stats(1, 8)["requests"] == 3


def test_firmware_image_goes_in_messages_of_at_most_4k(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    image = bytes(range(256)) * 48  # 12 KiB
    rig.responder.reset_stats()
    with rig.client() as c:
        c.call("nvme.fw_download", device="mctp:1,8:1", image=base64.b64encode(image).decode())
    # Firmware Image Download (11h): at least three messages for 12 KiB.
    assert rig.responder.stats(1, 8)["opcodes"].get("admin:0x11", 0) >= 3


# ---- discovery over D-Bus --------------------------------------------------------------

def test_dbus_discovery_with_both_mctp_daemon_names(mi_rig, tmp_path):
    from dbus_harness import FakeMctpd, PrivateBus
    eps = [{"net": 1, "eid": 8}, {"net": 1, "eid": 10}, {"net": 2, "eid": 8}]
    with PrivateBus(tmp_path) as bus, \
            FakeMctpd(bus, "codeconstruct", [(1, 8, [0, 4]), (1, 9, [0])]), \
            FakeMctpd(bus, "openbmc", [(1, 10, [4]), (1, 8, [4]), (2, 8, [0, 4])],
                      network_id_type="i"):
        rig = mi_rig(eps, mi={"dbus": bus.address}, static=False, scan=False)
        scan = rig.scan()
        assert scan["dbus"] == "ok"
        with rig.client() as c:
            got = {e["name"]: (e["source"], e["controllers"])
                   for e in c.call("mi.endpoints")["endpoints"]}
    assert got == {
        "mctp:1,8": ("au.com.codeconstruct.MCTP1", ["mctp:1,8:1"]),
        "mctp:1,10": ("xyz.openbmc_project.MCTP", ["mctp:1,10:1"]),
        "mctp:2,8": ("xyz.openbmc_project.MCTP", ["mctp:2,8:1"]),
    }  # eid 9 does not speak NVMe-MI (type 4): not listed


def test_dbus_endpoint_gone_is_unlisted_on_rescan(mi_rig, tmp_path):
    from dbus_harness import FakeMctpd, PrivateBus
    with PrivateBus(tmp_path) as bus:
        rig = None
        with FakeMctpd(bus, "codeconstruct", [(1, 8, [4]), (1, 9, [4])]):
            rig = mi_rig([{"net": 1, "eid": 8}, {"net": 1, "eid": 9}],
                         mi={"dbus": bus.address}, static=False, scan=False)
            rig.scan()
        with FakeMctpd(bus, "codeconstruct", [(1, 9, [4])]):
            rig.scan()
            with rig.client() as c:
                names = [e["name"] for e in c.call("mi.endpoints")["endpoints"]]
                listing = c.call("nvme.list")
                with pytest.raises(nvmerpc.RpcError) as e:
                    c.call("nvme.id_ctrl", device="mctp:1,8:1")
    assert names == ["mctp:1,9"]
    ctrls = [ctrl["name"] for s in listing["subsystems"] for ctrl in s["controllers"]]
    assert "mctp:1,8:1" not in ctrls and "mctp:1,9:1" in ctrls
    assert e.value.code == -32001


def test_dbus_unreachable_is_reported_and_config_endpoints_still_served(mi_rig, tmp_path):
    rig = mi_rig([{"net": 1, "eid": 8}],
                 mi={"dbus": f"unix:path={tmp_path}/no-such-bus"}, scan=False)
    scan = rig.scan()
    assert scan["dbus"] != "ok"
    assert [e["name"] for e in scan["endpoints"]] == ["mctp:1,8"]


# ---- per-method timeouts and topology after a change --------------------------------------

def test_long_commands_get_a_longer_endpoint_timeout_then_it_is_restored(mi_rig):
    """Format may take longer than an Identify: the endpoint timeout is raised
    for it and put back afterwards."""
    rig = mi_rig([{"net": 1, "eid": 8}])
    slow = int(1000 * 1.5)  # MI_TIMEOUT_MS is 1000; the long timeout is 10 s, cut at the deadline
    rig.responder.set(1, 8, delay_ms=slow)
    with rig.client() as c:
        c.call("nvme.format", device="mctp:1,8:1n1", lbaf=0, confirm=SIM_SN)
        with pytest.raises(nvmerpc.RpcError) as e:
            c.call("mi.health_status_poll", device="mctp:1,8")
        assert e.value.code == -32003  # back to the endpoint's own timeout
        # admin passthru's timeout_ms is the caller's choice for that command.
        out = c.call("nvme.admin_passthru", device="mctp:1,8:1", opcode=0x06, cdw10=1,
                     data_len=4096, timeout_ms=2400, confirm=SIM_SN)
        assert out["status"] == 0


def test_namespace_detach_and_attach_over_mi_update_nvme_list(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])

    def mi_namespaces(c):
        return sorted(ns["name"] for s in c.call("nvme.list")["subsystems"]
                      if s["backend"] == "mi" for ns in s["namespaces"])

    with rig.client() as c:
        assert mi_namespaces(c) == ["mctp:1,8:1n1", "mctp:1,8:1n2"]
        c.call("nvme.ns_detach", device="mctp:1,8:1", nsid=1, confirm=SIM_SN)
        assert mi_namespaces(c) == ["mctp:1,8:1n2"]
        c.call("nvme.ns_attach", device="mctp:1,8:1", nsid=1)
        assert mi_namespaces(c) == ["mctp:1,8:1n1", "mctp:1,8:1n2"]


def test_lifecycle_commands_over_mi(mi_rig, validate_result):
    """Sanitize, self-test, namespace create and firmware commit tunneled to
    the endpoint's simulated controller, each with its log read back over MI."""
    rig = mi_rig([{"net": 1, "eid": 8}])
    dev = "mctp:1,8:1"
    with rig.client() as c:
        c.call("nvme.self_test", device=dev, action="short", wait=True)
        log = validate_result("nvme.self_test_log", c.call("nvme.self_test_log", device=dev))
        assert log["results"] and log["results"][0]["result"] == 0, log
        c.call("nvme.sanitize", device=dev, action="block", confirm=SIM_SN, wait=True)
        assert c.call("nvme.sanitize_log", device=dev)["sprog"] == 65535
        created = c.call("nvme.ns_create", device=dev, nsze=1024, flbas=0)
        assert created["nsid"] >= 3
        image = base64.b64encode(b"NRFW2.0 " * 512).decode()
        c.call("nvme.fw_download", device=dev, image=image)
        c.call("nvme.fw_commit", device=dev, slot=2, action=1, confirm=SIM_SN)
        fw = validate_result("nvme.fw_log", c.call("nvme.fw_log", device=dev))
        assert fw["next_slot"] == 2 and fw["frs2"], fw
        c.call("mi.config_set", device="mctp:1,8", config="health_status_change", value=0xffff)
    opcodes = rig.responder.stats(1, 8)["opcodes"]
    for op in ("admin:0x14", "admin:0x84", "admin:0x0d", "admin:0x10", "mi:0x03"):
        assert opcodes.get(op, 0) >= 1, (op, opcodes)


def test_endpoint_unlisted_while_a_call_on_it_is_in_flight(mi_rig, tmp_path):
    """Regression: the call finishes on the FIFO of an endpoint that a rescan
    unlisted meanwhile (the FIFO outlives the listing; ASan checks it)."""
    from dbus_harness import FakeMctpd, PrivateBus
    with PrivateBus(tmp_path) as bus:
        with FakeMctpd(bus, "codeconstruct", [(1, 8, [4]), (1, 9, [4])]):
            rig = mi_rig([{"net": 1, "eid": 8}, {"net": 1, "eid": 9}],
                         mi={"dbus": bus.address}, static=False, scan=False)
            rig.scan()
        rig.responder.set(1, 8, delay_ms=700)
        with FakeMctpd(bus, "codeconstruct", [(1, 9, [4])]), rig.daemon.raw() as raw:
            raw.send(it.rpc("nvme.id_ctrl", id="inflight", device="mctp:1,8:1"))
            raw.send(it.rpc("mi.scan", id="scan"))
            replies = {r["id"]: r for r in (raw.recv(), raw.recv())}
            assert replies["inflight"]["result"]["sn"].strip() == SIM_SN
            assert [e["name"] for e in replies["scan"]["result"]["endpoints"]] == ["mctp:1,9"]
            raw.send(it.rpc("nvme.id_ctrl", id="after", device="mctp:1,8:1"))
            assert raw.recv()["error"]["code"] == -32001
