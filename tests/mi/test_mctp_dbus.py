"""MCTP endpoint discovery over D-Bus (src/backends/mi/mctp_dbus.c) against fake_mctpd.

Each case starts its own private bus; mctp_discover prints what
nr_mctp_dbus_discover returned, and the assertions compare exact lists.
"""

import errno
import time

import pytest

from dbus_harness import FakeMctpd, PrivateBus, discover, endpoint

NVME_MI = 0x04
CONTROL = 0x00
PLDM = 0x01


@pytest.fixture
def bus(tmp_path):
    with PrivateBus(tmp_path) as private_bus:
        yield private_bus


def assert_found(bus, expected):
    rc, found, stderr = discover(bus.address)
    assert (rc, stderr) == (0, "")
    assert found == expected


def test_codeconstruct_only(bus):
    eps = [(1, 8, [CONTROL]), (1, 9, [CONTROL, NVME_MI]), (1, 10, [NVME_MI])]
    with FakeMctpd(bus, "codeconstruct", eps):
        assert_found(bus, [endpoint("codeconstruct", 1, 9), endpoint("codeconstruct", 1, 10)])


def test_openbmc_only(bus):
    eps = [(1, 20, [CONTROL, NVME_MI]), (3, 21, [NVME_MI, 0x05])]
    with FakeMctpd(bus, "openbmc", eps):
        assert_found(bus, [endpoint("openbmc", 1, 20), endpoint("openbmc", 3, 21)])


def test_both_services_deduplicated_codeconstruct_first(bus):
    # The old name is started first, so the order on the bus does not decide.
    old = [(1, 9, [NVME_MI]), (1, 11, [NVME_MI]), (2, 9, [NVME_MI])]
    new = [(1, 9, [CONTROL, NVME_MI]), (1, 12, [NVME_MI])]
    with FakeMctpd(bus, "openbmc", old), FakeMctpd(bus, "codeconstruct", new):
        assert_found(bus, [
            endpoint("codeconstruct", 1, 9),
            endpoint("codeconstruct", 1, 12),
            endpoint("openbmc", 1, 11),
            endpoint("openbmc", 2, 9),
        ])


def test_endpoints_without_nvme_mi_filtered(bus):
    eps = [(1, 8, [CONTROL]), (1, 9, [PLDM, 0x05, 0x7E]), (1, 10, []),
           (1, 11, [0x14, 0x40]), (1, 12, [PLDM, NVME_MI])]
    with FakeMctpd(bus, "codeconstruct", eps):
        assert_found(bus, [endpoint("codeconstruct", 1, 12)])


def test_only_non_nvme_mi_endpoints_gives_empty_list(bus):
    with FakeMctpd(bus, "openbmc", [(1, 8, [CONTROL]), (1, 9, [PLDM])]):
        assert_found(bus, [])


@pytest.mark.parametrize("type_code,net", [
    ("u", 70000), ("i", 70000), ("y", 7), ("q", 700), ("t", 4294967295), ("x", 70000)])
def test_network_id_integer_types(bus, type_code, net):
    eps = [(net, 30, [NVME_MI])]
    with FakeMctpd(bus, "codeconstruct", eps, network_id_type=type_code):
        assert_found(bus, [endpoint("codeconstruct", net, 30)])


def test_no_mctp_service_gives_empty_list(bus):
    assert_found(bus, [])


def test_no_address_uses_the_system_bus_address(bus):
    with FakeMctpd(bus, "openbmc", [(1, 9, [NVME_MI])]):
        rc, found, stderr = discover(None, system_bus_address=bus.address)
    assert (rc, found, stderr) == (0, [endpoint("openbmc", 1, 9)], "")


def test_unreachable_bus_is_an_error(tmp_path):
    rc, found, stderr = discover(f"unix:path={tmp_path}/no-bus-here")
    assert (rc, found) == (1, [])
    assert stderr.startswith(f"error: -{errno.ECONNREFUSED}: Cannot reach the D-Bus bus at ")


def test_malformed_eid_is_eproto_naming_the_path(bus):
    with FakeMctpd(bus, "openbmc", [(1, 9, [NVME_MI])], extra_args=["--malformed"]):
        rc, found, stderr = discover(bus.address)
    assert (rc, found) == (1, [])
    assert stderr == (f"error: -{errno.EPROTO}: Endpoint /xyz/openbmc_project/mctp/1/9 "
                      "has a malformed EID property (type 'q').\n")


def test_negative_network_id_is_eproto(bus):
    # 4294967295 sent as int32 is -1: not a network id.
    eps = [(4294967295, 9, [NVME_MI])]
    with FakeMctpd(bus, "codeconstruct", eps, network_id_type="i"):
        rc, found, stderr = discover(bus.address)
    assert (rc, found) == (1, [])
    assert stderr == (f"error: -{errno.EPROTO}: Endpoint "
                      "/au/com/codeconstruct/mctp1/networks/4294967295/endpoints/9 "
                      "has a malformed NetworkId property (type 'i').\n")


def test_stalled_service_times_out_within_the_bound(bus):
    with FakeMctpd(bus, "codeconstruct", [(1, 9, [NVME_MI])], extra_args=["--stall"]):
        started = time.monotonic()
        rc, found, stderr = discover(bus.address)
        elapsed = time.monotonic() - started
    assert (rc, found) == (1, [])
    assert stderr.startswith(f"error: -{errno.ETIMEDOUT}: au.com.codeconstruct.MCTP1 failed "
                             "GetManagedObjects on /au/com/codeconstruct/mctp1: ")
    # NR_MCTP_DBUS_CALL_TIMEOUT_MS is 2000.
    assert 1.8 <= elapsed < 5.0
