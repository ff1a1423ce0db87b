"""Firmware download, commit and controller reset on the simulator: the running revision
(Identify FR, the firmware slot log) changes as the commit action says."""
import base64

import pytest

import nvmerpc
from conftest import SIM_SN, sim_json


def fw_sim(fwug=1, slots=3):
    return sim_json([{"nqn": "nqn.2024-01.io.nvmerpcd:fw", "controllers": [
        {"sn": SIM_SN, "fr": "1.0", "fwug": fwug, "fw_slots": slots}],
        "namespaces": [{"nsid": 1, "blocks": 4096}]}])


def image(rev, size=8192):
    """An image the simulator reads its revision from: "NRFW", then the revision in bytes
    4..11 (docs/simulator.md)."""
    head = b"NRFW" + rev.encode().ljust(8, b" ")
    return base64.b64encode(head + bytes(size - len(head))).decode()


@pytest.fixture
def d(daemon):
    return daemon(sim=fw_sim())


@pytest.fixture
def c(d):
    with d.client() as client:
        yield client


def running(c):
    return c.nvme_id_ctrl(device="sim0")["fr"], c.call("nvme.fw_log", device="sim0")


def test_download_commit_reset(c, d, validate_result):
    done = validate_result("nvme.fw_download", c.call("nvme.fw_download", device="sim0",
                                                      image=image("2.0")))
    # Chunks: a multiple of FWUG (4 KiB) within MDTS (512 KiB) and the daemon's 256 KiB cap.
    assert done == {"offset": 0, "bytes": 8192, "chunk_size": 262144, "commands": 1}
    got = validate_result("nvme.fw_commit", c.call("nvme.fw_commit", device="sim0", slot=2,
                                                   action="replace_activate", confirm=SIM_SN))
    assert (got["slot"], got["action"]) == (2, "replace_activate")
    fr, log = running(c)
    # Activated at the next reset: still 1.0, slot 2 holds 2.0, next_slot 2.
    assert fr == "1.0" and log["frs2"] == "2.0" and log["next_slot"] == 2
    assert validate_result("nvme.reset", c.call("nvme.reset", device="sim0", confirm=SIM_SN)) \
        == {"device": "sim0"}
    fr, log = running(c)
    assert fr == "2.0" and log["active_slot"] == 2 and log["next_slot"] == 0
    # The topology was re-learnt: nvme.list shows the new revision.
    assert c.nvme_list()["subsystems"][0]["controllers"][0]["fr"] == "2.0"
    methods = [l.split("method=")[1].split()[0] for l in d.stderr_text().splitlines()
               if "audit:" in l]
    assert methods == ["nvme.fw_download", "nvme.fw_commit", "nvme.reset"]


def test_commit_replace_only_does_not_activate(c):
    c.call("nvme.fw_download", device="sim0", image=image("3.0"))
    c.call("nvme.fw_commit", device="sim0", slot=3, action="replace", confirm=SIM_SN)
    c.call("nvme.reset", device="sim0", confirm=SIM_SN)
    fr, log = running(c)
    assert fr == "1.0" and log["frs3"] == "3.0" and log["active_slot"] == 1
    # Activate the slot (CA 2): running after the next reset.
    c.call("nvme.fw_commit", device="sim0", slot=3, action=2, confirm=SIM_SN)
    c.call("nvme.reset", device="sim0", confirm=SIM_SN)
    assert running(c)[0] == "3.0"


def test_commit_to_read_only_slot_1_is_nvme_status(c):
    c.call("nvme.fw_download", device="sim0", image=image("9.9"))
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.call("nvme.fw_commit", device="sim0", slot=1, action="replace", confirm=SIM_SN)
    # Slot 1 is read-only (FRMW bit 0): Invalid Firmware Slot (SCT 1, 06h).
    assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0x06)
    assert running(c)[1]["frs1"] == "1.0"


def test_slot_beyond_frmw_rejected_before_sending(c):
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.call("nvme.fw_commit", device="sim0", slot=5, action="replace", confirm=SIM_SN)
    assert e.value.data["field"] == "params.slot"


def test_download_image_validated(c):
    for bad in ("AAAAAA", "AAA=", base64.b64encode(b"abc").decode()):
        with pytest.raises(nvmerpc.InvalidParams) as e:
            c.call("nvme.fw_download", device="sim0", image=bad)
        assert e.value.data["field"] == "params.image"
