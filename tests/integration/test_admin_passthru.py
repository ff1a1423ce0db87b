"""Raw admin and I/O passthru on the simulator."""
import base64

import pytest

import nvmerpc
from conftest import SIM_SN, assert_error, rpc


def test_admin_passthru_identify(c, validate_result):
    got = validate_result("nvme.admin_passthru", c.call(
        "nvme.admin_passthru", device="sim0", opcode=0x06, cdw10=1, data_len=4096,
        confirm=SIM_SN))
    raw = base64.b64decode(got["data"])
    assert (got["cdw0"], got["status"], len(raw)) == (0, 0, 4096)
    assert raw[4:24].decode().rstrip() == SIM_SN
    ctrl = c.nvme_id_ctrl(device="sim0")
    assert int.from_bytes(raw[0:2], "little") == ctrl["vid"]
    assert int.from_bytes(raw[78:80], "little") == ctrl["cntlid"]


def test_admin_passthru_error_status(c):
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.call("nvme.admin_passthru", device="sim0", opcode=0xC3, confirm=SIM_SN)
    assert e.value.data["raw"] == 0x4001  # Invalid Command Opcode, DNR


def test_admin_passthru_set_features_to_device(c):
    c.call("nvme.admin_passthru", device="sim0", opcode=0x09, cdw10=4, cdw11=333,
           confirm=SIM_SN)
    assert c.call("nvme.get_feature", device="sim0", fid=4)["value"] == 333


def test_passthru_data_and_data_len_exclusive(d):
    with d.raw() as conn:
        assert_error(conn.call(rpc("nvme.admin_passthru", id=1, device="sim0", opcode=6,
                                   data="AAAAAA==", data_len=4, confirm=SIM_SN)),
                     -32602, "InvalidParams", id=1, field="params.data_len")
        assert_error(conn.call(rpc("nvme.admin_passthru", id=2, device="sim0", opcode=6,
                                   data="not base64!", confirm=SIM_SN)),
                     -32602, "InvalidParams", id=2, field="params.data")


def test_io_passthru_zone_mgmt_send(c, validate_result):
    # Zone Management Send, Open (action 3) on zone 5 of sim0n2.
    slba = 5 * 2048
    got = validate_result("nvme.io_passthru", c.call(
        "nvme.io_passthru", device="sim0n2", opcode=0x79, cdw10=slba, cdw13=3, confirm=SIM_SN))
    assert (got["status"], got["data"]) == (0, "")
    z = c.nvme_zns_report_zones(device="sim0n2", slba=slba, limit=1)["zone_list"][0]
    assert z["state"] == "EXP_OPENED"


def test_io_passthru_zone_append_returns_lba(c):
    slba = 6 * 2048
    got = c.call("nvme.io_passthru", device="sim0n2", opcode=0x7D, cdw10=slba, cdw12=1,
                 data=base64.b64encode(bytes(1024)).decode(), confirm=SIM_SN)
    # Zone Append: the assigned LBA in completion dwords 0-1 (low half here).
    assert (got["status"], got["cdw0"]) == (0, slba)
    z = c.nvme_zns_report_zones(device="sim0n2", slba=slba, limit=1)["zone_list"][0]
    assert (z["wp"], z["state"]) == (slba + 2, "IMP_OPENED")


def test_io_passthru_controller_needs_nsid(c):
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.call("nvme.io_passthru", device="sim0", opcode=0x79, confirm=SIM_SN)
    assert e.value.data["field"] == "params.nsid"
