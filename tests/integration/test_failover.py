"""Multipath fail-over for every namespace-scoped method (issue 11).

A subsystem with two controllers shares its namespaces (the simulator attaches
a description's namespaces to every controller of the subsystem). When the
controller a namespace was reached through vanishes (sim.fault removed: its
commands fail with ENODEV, as a hot-removed PCI function's do), the method's
command goes again through the other controller, once. Before the fold of
nr_single into nr_job only the one-command methods did this: nvme.list_ns,
the log pages, features and zone reports answered DeviceNotFound.

Each case starts its own daemon: the first call after the removal is the one
that meets the vanished device (later calls no longer resolve to it).
"""
import pytest

from conftest import SIM_SN, assert_result, line, rpc, sim_json

SUBNQN = "nqn.2026-11.io.nvmerpcd:multipath"
ZONE = 64
ZONES = 10000  # several report chunks


def two_paths():
    return sim_json([{
        "nqn": SUBNQN,
        "controllers": [{"sn": SIM_SN, "mn": "mp", "fr": "1.0", "cntlid": 1},
                        {"sn": SIM_SN, "mn": "mp", "fr": "1.0", "cntlid": 2}],
        "namespaces": [{"nsid": 1, "lba_size": 512, "blocks": 4096},
                       {"nsid": 2, "lba_size": 512,
                        "zoned": {"zone_size": ZONE, "nr_zones": ZONES}}]}])


# (method, device, params, check on the result). Every namespace-scoped method that
# only reads, and the writes whose command never reached the vanished device.
CASES = [
    ("nvme.id_ctrl", "sim0n1", {}, lambda r: r["cntlid"] == 2),
    ("nvme.id_ns", "sim0n1", {}, lambda r: r["nsze"] == 4096),
    ("nvme.smart_log", "sim0n1", {}, lambda r: "critical_warning" in r),
    ("nvme.list_ns", "sim0n1", {}, lambda r: r["nsid_list"] == [{"nsid": 1}, {"nsid": 2}]),
    ("nvme.list_ctrl", "sim0n1", {"nsid": 1}, lambda r: r["num_ctrl"] == 2),
    ("nvme.ns_descs", "sim0n1", {}, lambda r: "nguid" in r),
    ("nvme.id_ns_csi", "sim0n1", {"csi": 0}, lambda r: isinstance(r, dict)),
    ("nvme.zns.id_ctrl", "sim0n2", {}, lambda r: "zasl" in r),
    ("nvme.zns.id_ns", "sim0n2", {}, lambda r: r["lbafe"][0]["zsze"] == ZONE),
    ("nvme.zns.report_zones", "sim0n2", {"limit": 8}, lambda r: r["nr_zones"] == 8),
    ("nvme.error_log", "sim0n1", {}, lambda r: "errors" in r),
    ("nvme.fw_log", "sim0n1", {}, lambda r: "afi" in r),
    ("nvme.effects_log", "sim0n1", {}, lambda r: "acs" in r),
    ("nvme.self_test_log", "sim0n1", {}, lambda r: "current_operation" in r),
    ("nvme.changed_ns_list", "sim0n1", {}, lambda r: "nsid_list" in r),
    ("nvme.get_log", "sim0n1", {"lid": 2, "length": 512, "nsid": 0xFFFFFFFF},
     lambda r: isinstance(r, dict)),
    ("nvme.get_feature", "sim0n1", {"fid": 4}, lambda r: r["fid"] == 4),
    ("nvme.set_feature", "sim0n1", {"fid": 4, "fields": {"tmpth": 350}},
     lambda r: r["value"] & 0xffff == 350),
    ("nvme.zns.mgmt_send", "sim0n2", {"action": "reset", "all": True, "confirm": SIM_SN},
     lambda r: r["all"] is True),
]


@pytest.mark.parametrize("method,device,params,check", CASES, ids=[c[0] for c in CASES])
def test_namespace_method_fails_over_when_its_controller_vanishes(daemon, method, device,
                                                                  params, check):
    d = daemon(args=["--no-passthru"], sim=two_paths())
    with d.raw() as conn:
        assert_result(conn.call(rpc("sim.fault", id="rm", device="sim0", removed=True)), "rm")
        result = assert_result(conn.call(rpc(method, id=1, device=device, **params)), 1)
        assert check(result), result
        # The vanished controller itself still answers DeviceNotFound, never hangs.
        resp = conn.call(rpc("nvme.id_ctrl", id=2, device="sim0"))
        assert resp["error"]["data"]["name"] == "DeviceNotFound", resp


def test_stream_fails_over_mid_report(daemon):
    """A streamed zone report whose controller vanishes between chunks goes on through
    the other path from the zone it had reached: every zone once, in order."""
    d = daemon(args=["--no-passthru"], sim=two_paths())
    with d.raw() as conn:
        # The removal is read while the report's first chunk is on the device or just
        # after: either way some chunk meets the vanished controller.
        conn.send(line(rpc("nvme.zns.report_zones", id=1, device="sim0n2", stream=True))
                  + line(rpc("sim.fault", id="rm", device="sim0", removed=True)))
        items, final, chunks = [], None, 0
        while final is None:
            msg = conn.recv()
            if msg.get("method") == "rpc.stream":
                assert msg["params"]["seq"] == chunks, msg
                chunks += 1
                items += msg["params"]["items"]
            elif msg.get("id") == 1:
                final = msg
            else:
                assert msg.get("id") == "rm" and "result" in msg, msg
        assert "result" in final, final
        assert chunks > 1
        assert [z["slba"] for z in items] == [i * ZONE for i in range(ZONES)]
        resp = conn.call(rpc("nvme.id_ctrl", id=2, device="sim0"))
        assert resp["error"]["data"]["name"] == "DeviceNotFound", resp


def test_controller_addressed_by_name_does_not_fail_over(daemon):
    """A call naming the controller (not a namespace) chose its path: no fail-over."""
    d = daemon(args=["--no-passthru"], sim=two_paths())
    with d.raw() as conn:
        assert_result(conn.call(rpc("sim.fault", id="rm", device="sim0", removed=True)), "rm")
        resp = conn.call(rpc("nvme.list_ns", id=1, device="sim0"))
        assert resp["error"]["data"]["name"] == "DeviceNotFound", resp
