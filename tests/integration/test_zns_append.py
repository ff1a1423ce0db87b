"""nvme.zns.append and nvme.zns.changed_zones on the simulated controller."""
import base64

import pytest

import nvmerpc

ZONE = 2048  # blocks per zone in the default simulated sim0n2


@pytest.fixture
def c(daemon):
    with daemon().client() as client:
        yield client


def zone(c, slba):
    return c.nvme_zns_report_zones(device="sim0n2", slba=slba, limit=1)["zone_list"][0]


def test_append_returns_the_write_pointer_and_moves_it(c, validate_result):
    slba = 10 * ZONE
    assert zone(c, slba)["state"] == "EMPTY"
    first = c.nvme_zns_append(device="sim0n2", slba=slba, data=base64.b64encode(bytes(1024)).decode())
    validate_result("nvme.zns.append", first)
    assert first == {"lba": slba, "nlb": 2}
    second = c.nvme_zns_append(device="sim0n2", slba=slba, data=base64.b64encode(b"x" * 512).decode())
    assert second == {"lba": slba + 2, "nlb": 1}
    z = zone(c, slba)
    assert (z["wp"], z["state"]) == (slba + 3, "IMP_OPENED")


@pytest.mark.parametrize("data", [base64.b64encode(b"x" * 100).decode(), "AAAA", "bm90IGJhc2U2NA"])
def test_append_needs_whole_blocks_of_base64(c, data):
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.nvme_zns_append(device="sim0n2", slba=11 * ZONE, data=data)
    assert e.value.data["field"] == "params.data"
    assert zone(c, 11 * ZONE)["wp"] == 11 * ZONE


def test_append_to_a_full_zone_is_an_nvme_status(c):
    # Zone 0 of the default simulator starts FULL.
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.nvme_zns_append(device="sim0n2", slba=0, data=base64.b64encode(bytes(512)).decode())
    assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0xb9)  # Zone Is Full


def test_append_on_conventional_namespace_not_supported(c):
    with pytest.raises(nvmerpc.NotSupported):
        c.nvme_zns_append(device="sim0n1", slba=0, data=base64.b64encode(bytes(512)).decode())


def test_changed_zones_log_unsupported_by_the_simulator_is_a_clean_status(c):
    # The simulated controller does not implement LID BFh, like QEMU.
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.nvme_zns_changed_zones(device="sim0n2")
    assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0x09)  # Invalid Log Page


def test_report_zones_partial_false_counts_every_matching_zone(c, validate_result):
    # The default simulator: zone 0 full, 1 implicitly open, 2 closed, 4093 empty.
    whole = validate_result("nvme.zns.report_zones",
                            c.nvme_zns_report_zones(device="sim0n2", limit=2, partial=False))
    assert (whole["nr_zones"], len(whole["zone_list"]), whole["next_slba"]) == (4096, 2, 2 * ZONE)
    empty = c.nvme_zns_report_zones(device="sim0n2", state="empty", slba=2 * ZONE, limit=3,
                                    partial=False)
    assert (empty["nr_zones"], len(empty["zone_list"])) == (4093, 3)
    # The default (partial) answer counts what it returns.
    assert c.nvme_zns_report_zones(device="sim0n2", limit=2)["nr_zones"] == 2
    stream = c.nvme_zns_report_zones_stream(device="sim0n2", state="full", partial=False)
    assert [z["slba"] for z in stream] == [0]
    assert stream.summary["nr_zones"] == 1
