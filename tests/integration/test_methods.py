"""Every method against the default simulator, results validated by schema."""
import os
import sys
import threading

import pytest

import nvmerpc
from conftest import (STATS_SELF, SIM_SN, SOURCE_DIR, as_nobody, assert_error, rpc, rpc_outcome,
                      slow_fast_sim)


def zone_size(client, name="sim0n2"):
    for sub in client.nvme_list()["subsystems"]:
        for ns in sub["namespaces"]:
            if ns["name"] == name:
                return ns["zone_size"]
    raise AssertionError(f"{name} not in nvme.list")


def test_ping(c, validate_result):
    assert validate_result("rpc.ping", c.rpc_ping()) == "pong"


def test_discover_is_the_schema(c, schema, validate_result):
    doc = validate_result("rpc.discover", c.rpc_discover())
    assert doc["openrpc"] == schema["openrpc"]
    assert doc["info"] == schema["info"]
    assert doc["methods"] == schema["methods"]
    assert doc["components"] == schema["components"]
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))
    import schema_build
    from_dir = schema_build.assemble(os.path.join(SOURCE_DIR, "schema"))
    assert [m["name"] for m in doc["methods"]] == [m["name"] for m in from_dir["methods"]]
    assert doc["methods"] == from_dir["methods"]


def test_server_info(daemon, validate_result):
    d = daemon(args=["--threads", "3"])
    with d.client() as c:
        info = validate_result("server.info", c.server_info())
    assert info["pid"] == d.proc.pid
    assert info["threads"] == 3
    assert "sim" in info["backends"]
    assert 0 <= info["uptime_s"] < 60


def test_server_stats_counts(c, validate_result):
    before = validate_result("server.stats", c.server_stats())
    for _ in range(5):
        c.rpc_ping()
    with pytest.raises(nvmerpc.DeviceNotFound):
        c.nvme_id_ctrl(device="nope0")
    after = validate_result("server.stats", c.server_stats())
    assert after["connections"] == 1
    assert after["connections_total"] >= 1
    assert after["in_flight"] == STATS_SELF
    ping_before = before["methods"].get("rpc.ping", {"calls": 0})["calls"]
    assert after["methods"]["rpc.ping"]["calls"] == ping_before + 5
    assert after["methods"]["nvme.id_ctrl"]["errors"] >= 1
    assert after["errors"] >= before["errors"] + 1
    # 5 pings + 1 id_ctrl + the second server.stats (the first may count itself).
    assert after["requests"] - before["requests"] in (6, 7)


def test_list_default_topology(c, validate_result):
    topo = validate_result("nvme.list", c.nvme_list())
    assert len(topo["subsystems"]) == 1
    sub = topo["subsystems"][0]
    assert sub["backend"] == "sim"
    ctrls = {ct["name"]: ct for ct in sub["controllers"]}
    assert list(ctrls) == ["sim0"]
    assert ctrls["sim0"]["sn"] == SIM_SN
    assert sorted(ctrls["sim0"]["namespaces"]) == ["sim0n1", "sim0n2"]
    nss = {ns["name"]: ns for ns in sub["namespaces"]}
    assert nss["sim0n1"]["nsid"] == 1 and nss["sim0n1"]["csi"] == "nvm"
    assert nss["sim0n2"]["nsid"] == 2 and nss["sim0n2"]["csi"] == "zns"
    assert nss["sim0n2"]["nr_zones"] == 4096
    assert nss["sim0n2"]["zone_size"] > 0


def test_list_from_sim_file(daemon, validate_result):
    d = daemon(sim=slow_fast_sim(0))
    with d.client() as c:
        topo = validate_result("nvme.list", c.nvme_list())
    sns = sorted(ct["sn"] for sub in topo["subsystems"] for ct in sub["controllers"])
    assert sns == ["FAST0001", "SLOW0001"]
    nqns = [sub["nqn"] for sub in topo["subsystems"]]
    assert nqns == ["nqn.2024-01.io.nvmerpcd:slow", "nqn.2024-01.io.nvmerpcd:fast"]


def test_id_ctrl(c, validate_result):
    ctrl = validate_result("nvme.id_ctrl", c.nvme_id_ctrl(device="sim0"))
    assert ctrl["sn"] == SIM_SN
    # A namespace name is answered by its controller.
    assert c.nvme_id_ctrl(device="sim0n2") == ctrl


def test_id_ns(c, validate_result):
    ns1 = validate_result("nvme.id_ns", c.nvme_id_ns(device="sim0n1"))
    assert c.nvme_id_ns(device="sim0", nsid=1) == ns1
    assert c.nvme_id_ns(device="sim0n1", nsid=1) == ns1
    ns2 = validate_result("nvme.id_ns", c.nvme_id_ns(device="sim0n2"))
    assert ns1 != ns2
    listed = {ns["name"]: ns for sub in c.nvme_list()["subsystems"] for ns in sub["namespaces"]}
    assert ns1["nsze"] == listed["sim0n1"]["nsze"]
    assert ns2["nsze"] == listed["sim0n2"]["nsze"]


def test_id_ns_of_controller_needs_nsid(c):
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.nvme_id_ns(device="sim0")
    assert e.value.data["field"] == "params.nsid"


def test_id_ns_inactive_nsid_is_zeroed(c):
    # NVMe base spec, Identify CNS 00h: an inactive NSID (1..NN, not attached)
    # returns a zero-filled structure.
    nn = c.nvme_id_ctrl(device="sim0")["nn"]
    assert nn >= 9
    ns = c.nvme_id_ns(device="sim0", nsid=9)
    assert (ns["nsze"], ns["ncap"], ns["nlbaf"]) == (0, 0, 0)


@pytest.mark.parametrize("beyond", [1, 1000])
def test_id_ns_invalid_nsid_is_nvme_status(d, beyond):
    with d.client() as c:
        nn = c.nvme_id_ctrl(device="sim0")["nn"]
    with d.raw() as conn:
        data = assert_error(conn.call(rpc("nvme.id_ns", id=1, device="sim0", nsid=nn + beyond)),
                            -32004, "NvmeStatus", id=1)
    assert data["sct"] == 0
    assert data["sc"] == 0x0b
    assert data["dnr"] is True and data["more"] is False and data["crd"] == 0
    assert data["raw"] == (1 << 14) | (0 << 8) | 0x0b
    assert isinstance(data["status"], str) and data["status"]


def test_smart_log(c, validate_result):
    validate_result("nvme.smart_log", c.nvme_smart_log(device="sim0"))
    validate_result("nvme.smart_log", c.nvme_smart_log(device="sim0n1"))
    lpa = c.nvme_id_ctrl(device="sim0")["lpa"]
    if lpa & 1:  # SMART per namespace supported
        validate_result("nvme.smart_log", c.nvme_smart_log(device="sim0", nsid=1))
    else:  # the spec's answer to a namespace's SMART log then: Invalid Field
        with pytest.raises(nvmerpc.NvmeStatus) as e:
            c.nvme_smart_log(device="sim0", nsid=1)
        assert (e.value.data["sct"], e.value.data["sc"]) == (0, 0x02)


@pytest.mark.parametrize("name", ["/dev/null", "../x", "sim0n9", "sim1", "nvme0", "sim0n",
                                  "/dev/nvme0", "sim0/../sim0"])
def test_unknown_device(d, name):
    with d.raw() as conn:
        for method in ("nvme.id_ctrl", "nvme.smart_log", "nvme.zns.report_zones"):
            assert_error(conn.call(rpc(method, id=2, device=name)), -32001, "DeviceNotFound",
                         id=2)


def test_report_zones_page(c, validate_result):
    zs = zone_size(c)
    rep = validate_result("nvme.zns.report_zones",
                          c.nvme_zns_report_zones(device="sim0n2", limit=10))
    assert rep["nr_zones"] == 10
    zl = rep["zone_list"]
    assert [z["slba"] for z in zl] == [i * zs for i in range(10)]
    assert rep["next_slba"] == 10 * zs
    assert zl[0]["state"] == "FULL" and zl[0]["wp"] == -1
    assert zl[1]["state"] == "IMP_OPENED"
    assert zl[2]["state"] == "CLOSED"
    assert all(z["state"] == "EMPTY" and z["wp"] == z["slba"] for z in zl[3:])


def test_report_zones_paging_covers_all(c):
    zs = zone_size(c)
    slbas, slba, pages = [], 0, 0
    while True:
        rep = c.nvme_zns_report_zones(device="sim0n2", slba=slba, limit=1000)
        slbas += [z["slba"] for z in rep["zone_list"]]
        pages += 1
        if "next_slba" not in rep:
            break
        slba = rep["next_slba"]
    assert pages == 5
    assert slbas == [i * zs for i in range(4096)]


def test_report_zones_mid_zone_slba_starts_at_its_zone(c):
    zs = zone_size(c)
    rep = c.nvme_zns_report_zones(device="sim0n2", slba=zs * 5 + 1, limit=2)
    assert [z["slba"] for z in rep["zone_list"]] == [5 * zs, 6 * zs]


@pytest.mark.parametrize("state,expect", [("full", [0]), ("implicitly_open", [1]),
                                          ("closed", [2]), ("explicitly_open", []),
                                          ("offline", [])])
def test_report_zones_state_filter(c, state, expect):
    zs = zone_size(c)
    rep = c.nvme_zns_report_zones(device="sim0n2", state=state)
    assert rep["nr_zones"] == len(expect)
    assert [z["slba"] for z in rep["zone_list"]] == [i * zs for i in expect]
    assert "next_slba" not in rep


def test_report_zones_too_large(c):
    with pytest.raises(nvmerpc.ResultTooLarge) as e:
        c.nvme_zns_report_zones(device="sim0n2")
    assert e.value.code == -32011 and e.value.data["name"] == "ResultTooLarge"
    with pytest.raises(nvmerpc.ResultTooLarge):
        c.nvme_zns_report_zones(device="sim0n2", state="empty")  # 4093 zones
    rep = c.nvme_zns_report_zones(device="sim0n2", limit=1024)
    assert rep["nr_zones"] == 1024 and len(rep["zone_list"]) == 1024


def test_report_zones_max_result_items(daemon):
    d = daemon(args=["--max-result-items", "5000"])
    with d.client() as c:
        rep = c.nvme_zns_report_zones(device="sim0n2")
    assert rep["nr_zones"] == 4096 and len(rep["zone_list"]) == 4096
    assert "next_slba" not in rep


def test_report_zones_conventional_not_supported(d):
    with d.raw() as conn:
        assert_error(conn.call(rpc("nvme.zns.report_zones", id=3, device="sim0n1")),
                     -32006, "NotSupported", id=3)


def test_mgmt_send_needs_confirmation(c):
    with pytest.raises(nvmerpc.ConfirmationRequired) as e:
        c.nvme_zns_mgmt_send(device="sim0n2", action="reset", slba=0)
    assert e.value.code == -32008
    with pytest.raises(nvmerpc.ConfirmationRequired):
        c.nvme_zns_mgmt_send(device="sim0n2", action="reset", slba=0, confirm="WRONGSN")
    with pytest.raises(nvmerpc.ConfirmationRequired):
        c.nvme_zns_mgmt_send(device="sim0n2", action="reset", all=True, confirm=SIM_SN.lower())
    # Nothing reached the device: zone 0 is still full.
    assert c.nvme_zns_report_zones(device="sim0n2", state="full")["nr_zones"] == 1


def test_mgmt_send_reset_open_finish(c, validate_result):
    zs = zone_size(c)
    done = validate_result("nvme.zns.mgmt_send",
                           c.nvme_zns_mgmt_send(device="sim0n2", action="reset", slba=0,
                                                confirm=SIM_SN))
    assert done["action"] == "reset" and done["slba"] == 0
    z0 = c.nvme_zns_report_zones(device="sim0n2", limit=1)["zone_list"][0]
    assert z0["state"] == "EMPTY" and z0["wp"] == 0
    c.nvme_zns_mgmt_send(device="sim0n2", action="open", slba=3 * zs, confirm=SIM_SN)
    z3 = c.nvme_zns_report_zones(device="sim0n2", slba=3 * zs, limit=1)["zone_list"][0]
    assert z3["slba"] == 3 * zs and z3["state"] == "EXP_OPENED"
    c.nvme_zns_mgmt_send(device="sim0n2", action="finish", slba=3 * zs, confirm=SIM_SN)
    z3 = c.nvme_zns_report_zones(device="sim0n2", slba=3 * zs, limit=1)["zone_list"][0]
    assert z3["state"] == "FULL" and z3["wp"] == -1


def test_mgmt_send_reset_all(c):
    done = c.nvme_zns_mgmt_send(device="sim0n2", action="reset", all=True, confirm=SIM_SN)
    assert done["action"] == "reset" and done["all"] is True
    rep = c.nvme_zns_report_zones(device="sim0n2", state="empty", limit=1024)
    assert rep["nr_zones"] == 1024
    # Closed and full zones are reset; the implicitly open one too.
    for state in ("full", "closed", "implicitly_open"):
        assert c.nvme_zns_report_zones(device="sim0n2", state=state)["nr_zones"] == 0


def test_mgmt_send_misaligned_slba_is_nvme_status(c):
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.nvme_zns_mgmt_send(device="sim0n2", action="reset", slba=1, confirm=SIM_SN)
    # ZNS: an SLBA that is not a zone's lowest LBA is Invalid Field in Command.
    assert (e.value.data["sct"], e.value.data["sc"]) == (0, 0x02)


def test_mgmt_send_on_conventional_not_supported(c):
    with pytest.raises(nvmerpc.NotSupported):
        c.nvme_zns_mgmt_send(device="sim0n1", action="reset", slba=0, confirm=SIM_SN)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to uid 65534")
def test_non_root_peer_cannot_write(d):
    mode = os.stat(d.socket).st_mode & 0o777
    assert mode == 0o666, oct(mode)
    ping, ident, zones, reset = as_nobody(d.socket, [
        rpc("rpc.ping", id=1),
        rpc("nvme.id_ctrl", id=2, device="sim0"),
        rpc("nvme.zns.report_zones", id=3, device="sim0n2", limit=2),
        rpc("nvme.zns.mgmt_send", id=4, device="sim0n2", action="reset", slba=0,
            confirm=SIM_SN)])
    assert ping["result"] == "pong", ping
    assert ident["result"]["sn"] == SIM_SN, ident
    assert zones["result"]["nr_zones"] == 2, zones
    assert rpc_outcome(reset) == [-32007, "PermissionDenied"], reset
    # And it did not reach the device.
    with d.client() as c:
        assert c.nvme_zns_report_zones(device="sim0n2", state="full")["nr_zones"] == 1
    # The denied attempt is audited with the peer's uid.
    assert "audit: uid=65534" in d.stderr_text()
    assert "method=nvme.zns.mgmt_send device=sim0n2 outcome=PermissionDenied" \
        in d.stderr_text()


def test_write_and_destructive_calls_are_audited(daemon):
    d = daemon()
    with d.client() as c:
        c.nvme_id_ctrl(device="sim0")
        with pytest.raises(nvmerpc.ConfirmationRequired):
            c.nvme_zns_mgmt_send(device="sim0n2", action="reset", all=True, confirm="wrong")
        c.nvme_zns_mgmt_send(device="sim0n2", action="open", slba=4 * 2048, confirm=SIM_SN)
    log = [l for l in d.stderr_text().splitlines() if "audit:" in l]
    uid = os.getuid()
    assert len(log) == 2, log
    assert f"uid={uid} " in log[0] and "method=nvme.zns.mgmt_send device=sim0n2" in log[0]
    assert log[0].endswith("outcome=ConfirmationRequired")
    assert log[1].endswith("outcome=ok")


def test_timeout(daemon):
    d = daemon(args=["--timeout-ms", "100"], sim=slow_fast_sim(300000))
    with d.raw() as conn:
        names = {ct["sn"]: ct["name"] for sub in
                 conn.call(rpc("nvme.list", id=1))["result"]["subsystems"]
                 for ct in sub["controllers"]}
        data = assert_error(conn.call(rpc("nvme.id_ctrl", id=2, device=names["SLOW0001"])),
                            -32003, "Timeout", id=2)
        assert data["name"] == "Timeout"
        resp = conn.call(rpc("nvme.id_ctrl", id=3, device=names["FAST0001"]))
        assert resp["result"]["sn"] == "FAST0001"


def test_device_busy(daemon):
    d = daemon(args=["--max-queue", "1", "--threads", "4"], sim=slow_fast_sim(300000))
    with d.client() as c:
        slow = [ct["name"] for sub in c.nvme_list()["subsystems"] for ct in sub["controllers"]
                if ct["sn"] == "SLOW0001"][0]
    results = [None] * 3
    barrier = threading.Barrier(3)

    def worker(i):
        with d.client() as c:
            barrier.wait()
            try:
                results[i] = c.nvme_id_ctrl(device=slow)["sn"]
            except nvmerpc.RpcError as e:
                results[i] = e.code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count(-32002) >= 1, results
    assert results.count("SLOW0001") >= 1, results
    assert set(results) <= {-32002, "SLOW0001"}, results
