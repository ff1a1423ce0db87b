"""nvme.rescan and nvme.ns_rescan on the simulated controller (this host has no NVMe)."""
import pytest

import nvmerpc


def test_rescan_keeps_the_simulator_and_answers_the_topology(c, validate_result):
    before = c.nvme_list()
    after = validate_result("nvme.rescan", c.nvme_rescan())
    assert after == before == c.nvme_list()
    assert [s["backend"] for s in after["subsystems"]] == ["sim"]


def test_ns_rescan_relearns_the_namespaces(c, validate_result):
    created = c.call("nvme.ns_create", device="sim0", nsze=2048, ncap=2048, lba_size=512)
    nsid = created["nsid"]
    # Created but not attached: not active on sim0, so not in the topology.
    assert f"sim0n{nsid}" not in c.nvme_list()["subsystems"][0]["controllers"][0]["namespaces"]
    c.call("nvme.ns_attach", device="sim0", nsid=nsid)
    done = validate_result("nvme.ns_rescan", c.call("nvme.ns_rescan", device="sim0"))
    assert done == {"device": "sim0"}
    names = c.nvme_list()["subsystems"][0]["controllers"][0]["namespaces"]
    assert f"sim0n{nsid}" in names
    assert c.nvme_id_ns(device=f"sim0n{nsid}")["nsze"] == 2048


def test_ns_rescan_of_unknown_device(c):
    with pytest.raises(nvmerpc.DeviceNotFound):
        c.call("nvme.ns_rescan", device="sim7")
