"""Zone descriptor extensions on the simulator: nvme.zns.mgmt_send set_desc_ext and
nvme.zns.report_zones extended, streamed and not."""
import base64

import pytest

import nvmerpc
from conftest import SIM_SN, sim_json

ZONE = 64
ZONES = 10000  # an extended stream of them takes several chunks
EXT = 64  # zdes 1
ZDEV = 0x80


def zext_sim():
    return sim_json([{"nqn": "nqn.2024-01.io.nvmerpcd:zext", "controllers": [{"sn": SIM_SN}],
                      "namespaces": [
                          {"nsid": 1, "zoned": {"zone_size": ZONE, "nr_zones": ZONES, "zdes": 1}},
                          {"nsid": 2, "zoned": {"zone_size": ZONE, "nr_zones": 16}}]}])


@pytest.fixture
def c(daemon):
    with daemon(sim=zext_sim()).client() as client:
        yield client


def b64(data):
    return base64.b64encode(data).decode()


def set_ext(c, slba, data, device="sim0n1"):
    return c.nvme_zns_mgmt_send(device=device, action="set_desc_ext", slba=slba, data=b64(data),
                                confirm=SIM_SN)


def test_set_desc_ext_then_extended_report(c, validate_result):
    data = bytes(range(1, EXT + 1))
    slba = 7 * ZONE
    done = validate_result("nvme.zns.mgmt_send", set_ext(c, slba, data))
    assert done["action"] == "set_desc_ext" and done["slba"] == slba
    report = validate_result("nvme.zns.report_zones", c.nvme_zns_report_zones(
        device="sim0n1", slba=slba, limit=2, extended=True))
    zone, after = report["zone_list"]
    assert (zone["state"], zone["attrs"], zone["wp"]) == ("CLOSED", ZDEV, slba)
    assert base64.b64decode(zone["ext"]) == data
    assert (after["state"], after["attrs"]) == ("EMPTY", 0)
    assert base64.b64decode(after["ext"]) == bytes(EXT)
    plain = c.nvme_zns_report_zones(device="sim0n1", slba=slba, limit=1)["zone_list"][0]
    assert "ext" not in plain and plain["attrs"] == ZDEV


def test_extended_stream_matches_the_whole_report(c, validate_result):
    for i, slba in enumerate((0, 2047 * ZONE, 2048 * ZONE, (ZONES - 1) * ZONE)):
        set_ext(c, slba, bytes([i + 1]) * EXT)
    stream = c.nvme_zns_report_zones_stream(device="sim0n1", extended=True)
    zones = list(stream)
    validate_result("nvme.zns.report_zones", stream.summary)
    assert len(zones) == stream.summary["nr_zones"] == ZONES
    assert stream.summary["chunks"] > 1
    assert [z["slba"] for z in zones] == [i * ZONE for i in range(ZONES)]
    with_ext = {z["slba"]: base64.b64decode(z["ext"]) for z in zones if z["attrs"] & ZDEV}
    assert with_ext == {0: b"\x01" * EXT, 2047 * ZONE: b"\x02" * EXT,
                        2048 * ZONE: b"\x03" * EXT, (ZONES - 1) * ZONE: b"\x04" * EXT}
    assert all(len(base64.b64decode(z["ext"])) == EXT for z in zones)
    whole = c.nvme_zns_report_zones(device="sim0n1", slba=2000 * ZONE, limit=100, extended=True)
    assert whole["zone_list"] == zones[2000:2100]
    assert whole["next_slba"] == 2100 * ZONE


def test_reset_clears_the_extension(c):
    set_ext(c, 3 * ZONE, b"\xff" * EXT)
    c.nvme_zns_mgmt_send(device="sim0n1", action="reset", slba=3 * ZONE, confirm=SIM_SN)
    zone = c.nvme_zns_report_zones(device="sim0n1", slba=3 * ZONE, limit=1,
                                   extended=True)["zone_list"][0]
    assert (zone["state"], zone["attrs"], zone["ext"]) == ("EMPTY", 0, b64(bytes(EXT)))


@pytest.mark.parametrize("data", [bytes(EXT - 1), bytes(EXT + 1), bytes(2 * EXT)])
def test_set_desc_ext_needs_exactly_the_extension_size(c, data):
    with pytest.raises(nvmerpc.InvalidParams) as e:
        set_ext(c, 4 * ZONE, data)
    assert e.value.data["field"] == "params.data"
    zone = c.nvme_zns_report_zones(device="sim0n1", slba=4 * ZONE, limit=1)["zone_list"][0]
    assert (zone["state"], zone["attrs"]) == ("EMPTY", 0)


def test_set_desc_ext_needs_data_and_one_zone(c):
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.nvme_zns_mgmt_send(device="sim0n1", action="set_desc_ext", slba=0, confirm=SIM_SN)
    assert e.value.data["field"] == "params.data"
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.nvme_zns_mgmt_send(device="sim0n1", action="set_desc_ext", all=True,
                             data=b64(bytes(EXT)), confirm=SIM_SN)
    assert e.value.data["field"] == "params.all"
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.nvme_zns_mgmt_send(device="sim0n1", action="open", slba=0, data=b64(bytes(EXT)),
                             confirm=SIM_SN)
    assert e.value.data["field"] == "params.data"


def test_zdes_0_namespace_is_not_supported(c):
    with pytest.raises(nvmerpc.NotSupported):
        c.nvme_zns_report_zones(device="sim0n2", extended=True)
    with pytest.raises(nvmerpc.NotSupported):
        list(c.nvme_zns_report_zones_stream(device="sim0n2", extended=True))
    with pytest.raises(nvmerpc.NotSupported):
        set_ext(c, 0, bytes(EXT), device="sim0n2")


def test_set_desc_ext_on_a_non_empty_zone_is_nvme_status(c):
    c.nvme_zns_mgmt_send(device="sim0n1", action="open", slba=5 * ZONE, confirm=SIM_SN)
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        set_ext(c, 5 * ZONE, bytes(EXT))
    assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0xbf)  # Invalid Zone State Transition
    set_ext(c, 6 * ZONE, bytes(EXT))
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        set_ext(c, 6 * ZONE, bytes(EXT))  # now closed
    assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0xbf)


def test_set_desc_ext_is_write_class_without_confirm(c):
    # It only fills in an empty zone's extension: nothing is lost, so no serial is asked for.
    c.nvme_zns_mgmt_send(device="sim0n1", action="set_desc_ext", slba=0, data=b64(bytes(EXT)))
