"""Namespace lifecycle (create, attach, detach, delete, format) on the simulator, nvme.list
following it; confirmation, permission and audit of every destructive method; device
self-test and sanitize progressing over time (wait + stream)."""
import base64
import os

import pytest

import nvmerpc
from conftest import SIM_SN, as_nobody, assert_error, rpc, rpc_outcome, sim_json

# Fast long operations (docs/simulator.md: per-controller timing knobs).
FAST = {"self_test_ms": {"short": 600, "extended": 1200}, "sanitize_ms": 800}


def fast_sim(**ctrl):
    return sim_json([{"nqn": "nqn.2024-01.io.nvmerpcd:fast", "capacity": 1 << 36, "controllers": [
        dict({"sn": SIM_SN, "cntlid": 1}, **FAST, **ctrl)],
        "namespaces": [{"nsid": 1, "blocks": 2097152},
                       {"nsid": 2, "zoned": {"zone_size": 2048, "nr_zones": 64}}]}])


def two_ctrl_sim():
    return sim_json([{"nqn": "nqn.2024-01.io.nvmerpcd:two", "capacity": 64 * 1024 * 1024 * 1024,
                      "controllers": [dict({"sn": SIM_SN, "cntlid": 1}, **FAST),
                                      dict({"sn": SIM_SN, "cntlid": 2}, **FAST)],
                      "namespaces": [{"nsid": 1, "blocks": 65536}]}])


@pytest.fixture
def d(daemon):
    return daemon(sim=fast_sim())


@pytest.fixture
def c(d):
    with d.client() as client:
        yield client


def listed(c):
    return {ns["name"]: ns for sub in c.nvme_list()["subsystems"] for ns in sub["namespaces"]}


# -- confirmation: nothing reaches the device -----------------------------------------------

DESTRUCTIVE = [
    ("nvme.ns_delete", {"device": "sim0", "nsid": 1}),
    ("nvme.ns_detach", {"device": "sim0", "nsid": 1, "controllers": [1]}),
    ("nvme.format", {"device": "sim0n1", "lbaf": 1}),
    ("nvme.sanitize", {"device": "sim0", "action": "block"}),
    ("nvme.fw_commit", {"device": "sim0", "slot": 2, "action": "replace_activate"}),
    ("nvme.reset", {"device": "sim0"}),
    ("nvme.admin_passthru", {"device": "sim0", "opcode": 0x80, "nsid": 1, "cdw10": 1}),
    ("nvme.io_passthru", {"device": "sim0n2", "opcode": 0x79, "cdw13": 0x104}),
]


def state(c):
    """What a destructive method above would change."""
    return {"list": c.nvme_list(), "ns1": c.nvme_id_ns(device="sim0", nsid=1),
            "sanitize": c.call("nvme.sanitize_log", device="sim0"),
            "fw": c.call("nvme.fw_log", device="sim0"),
            "zones": c.nvme_zns_report_zones(device="sim0n2", limit=4)}


@pytest.mark.parametrize("method,params", DESTRUCTIVE, ids=[m for m, _ in DESTRUCTIVE])
def test_destructive_needs_confirm(d, c, method, params):
    c.call("nvme.zns.mgmt_send", device="sim0n2", action="open", slba=0, confirm=SIM_SN)
    before = state(c)
    errors_before = c.call("nvme.error_log", device="sim0", entries=1)
    with d.raw() as conn:
        for i, confirm in enumerate((None, "WRONG", SIM_SN.lower(), SIM_SN + " ", "")):
            p = dict(params) if confirm is None else dict(params, confirm=confirm)
            assert_error(conn.call(rpc(method, id=i, **p)), -32008, "ConfirmationRequired", id=i)
    assert state(c) == before
    assert c.call("nvme.error_log", device="sim0", entries=1) == errors_before
    audit = [l for l in d.stderr_text().splitlines() if f"method={method} " in l]
    assert len(audit) == 5, audit
    assert all(l.endswith("outcome=ConfirmationRequired") for l in audit), audit


WRITES = [
    ("nvme.ns_create", {"device": "sim0", "nsze": 1024, "lba_size": 512}),
    ("nvme.ns_attach", {"device": "sim0", "nsid": 1}),
    ("nvme.set_feature", {"device": "sim0", "fid": 4, "value": 300}),
    ("nvme.self_test", {"device": "sim0", "action": "short"}),
    ("nvme.fw_download", {"device": "sim0", "image": base64.b64encode(b"FWIMAGE!").decode()}),
]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to uid 65534")
def test_non_root_peer_cannot_write_or_destroy(d, c):
    calls = [(m, dict(p, confirm=SIM_SN) if m in dict(DESTRUCTIVE) else p)
             for m, p in DESTRUCTIVE + WRITES]
    before = state(c)
    feature = c.call("nvme.get_feature", device="sim0", fid=4)
    replies = as_nobody(d.socket, [rpc(m, id=i, **p) for i, (m, p) in enumerate(calls)] +
                        [rpc("nvme.fw_log", id="fw", device="sim0")])
    assert [rpc_outcome(r) for r in replies[:-1]] == [[-32007, "PermissionDenied"]] * len(calls)
    assert replies[-1]["result"]["frs1"] == "1.0", replies[-1]
    assert state(c) == before
    assert c.call("nvme.get_feature", device="sim0", fid=4) == feature
    assert c.call("nvme.self_test_log", device="sim0")["current_operation"] == 0
    log = d.stderr_text()
    for method, params in calls:
        assert f"audit: uid=65534" in log
        assert f"method={method} device={params['device']} outcome=PermissionDenied" in log, method


def test_read_methods_allowed_and_not_audited(c, d):
    c.call("nvme.get_feature", device="sim0", fid=4)
    c.call("nvme.error_log", device="sim0", entries=1)
    c.call("nvme.list_ns", device="sim0")
    assert "audit:" not in d.stderr_text()


# -- namespace lifecycle --------------------------------------------------------------------

def test_ns_create_attach_format_detach_delete(d, c, validate_result):
    nsid = validate_result("nvme.ns_create", c.call("nvme.ns_create", device="sim0",
                                                    nsze=8192, lba_size=4096))["nsid"]
    assert nsid == 3  # the lowest free NSID
    # Allocated, not attached: in the allocated list, not the active one, not in nvme.list.
    assert [e["nsid"] for e in c.call("nvme.list_ns", device="sim0", all=True)["nsid_list"]] \
        == [1, 2, 3]
    assert [e["nsid"] for e in c.call("nvme.list_ns", device="sim0")["nsid_list"]] == [1, 2]
    assert "sim0n3" not in listed(c)

    got = validate_result("nvme.ns_attach", c.call("nvme.ns_attach", device="sim0", nsid=nsid))
    assert got == {"nsid": 3, "controllers": [1]}
    ns = listed(c)["sim0n3"]  # the topology was re-learnt before the answer
    assert (ns["nsid"], ns["nsze"], ns["lba_size"], ns["csi"]) == (3, 8192, 4096, "nvm")
    assert c.nvme_id_ns(device="sim0n3")["nsze"] == 8192
    # The controller reports the change in its Changed Namespace List.
    changed = c.call("nvme.changed_ns_list", device="sim0")
    assert 3 in changed["nsid_list"] and changed["overflow"] is False
    # A plain read retains the event (rae defaults to true); rae: false (a
    # write-class call, audited) reads and clears it.
    assert c.call("nvme.changed_ns_list", device="sim0", rae=False) == changed
    assert c.call("nvme.changed_ns_list", device="sim0")["nsid_list"] == []

    # Format to 512-byte blocks: the same bytes, eight times the blocks.
    lbafs = c.nvme_id_ns(device="sim0n3")
    to512 = next(i for i, f in enumerate(lbafs["lbafs"]) if f["ds"] == 9)
    done = validate_result("nvme.format", c.call("nvme.format", device="sim0n3", lbaf=to512,
                                                 confirm=SIM_SN))
    assert done == {"nsid": 3, "lbaf": to512, "done": True}
    ns = listed(c)["sim0n3"]
    assert (ns["lba_size"], ns["nsze"]) == (512, 65536)

    got = validate_result("nvme.ns_detach", c.call("nvme.ns_detach", device="sim0", nsid=3,
                                                   confirm=SIM_SN))
    assert got == {"nsid": 3, "controllers": [1]}
    assert "sim0n3" not in listed(c)
    with pytest.raises(nvmerpc.DeviceNotFound):
        c.nvme_id_ns(device="sim0n3")
    got = validate_result("nvme.ns_delete", c.call("nvme.ns_delete", device="sim0", nsid=3,
                                                   confirm=SIM_SN))
    assert got == {"nsid": 3}
    assert [e["nsid"] for e in c.call("nvme.list_ns", device="sim0", all=True)["nsid_list"]] \
        == [1, 2]
    log = [l for l in d.stderr_text().splitlines() if "audit:" in l]
    methods = [l.split("method=")[1].split()[0] for l in log]
    assert methods == ["nvme.ns_create", "nvme.ns_attach", "nvme.changed_ns_list",
                       "nvme.format", "nvme.ns_detach", "nvme.ns_delete"], log
    assert all(l.endswith("outcome=ok") for l in log), log


def test_ns_delete_attached_namespace_drops_it_from_the_list(c):
    assert "sim0n1" in listed(c)
    assert c.call("nvme.ns_delete", device="sim0n1", confirm=SIM_SN) == {"nsid": 1}
    assert "sim0n1" not in listed(c)
    assert c.call("nvme.list_ns", device="sim0")["nsid_list"] == [{"nsid": 2}]


def test_ns_attach_to_second_controller(daemon, validate_result):
    d = daemon(sim=two_ctrl_sim())
    with d.client() as c:
        nsid = c.call("nvme.ns_create", device="sim0", nsze=2048, lba_size=512)["nsid"]
        assert nsid == 2
        got = c.call("nvme.ns_attach", device="sim0", nsid=nsid, controllers=[2])
        assert got == {"nsid": 2, "controllers": [2]}
        assert c.call("nvme.list_ctrl", device="sim0", nsid=2) == \
            {"num_ctrl": 1, "ctrl_list": [{"ctrl_id": 2}]}
        topo = c.nvme_list()["subsystems"][0]
        by_ctrl = {ct["name"]: ct["namespaces"] for ct in topo["controllers"]}
        new = [ns for ns in topo["namespaces"] if ns["nsid"] == 2]
        assert len(new) == 1 and new[0]["controllers"] == ["sim1"], topo
        assert new[0]["name"] in by_ctrl["sim1"] and new[0]["name"] not in by_ctrl["sim0"]
        # Attaching again: Namespace Already Attached (SCT 1, 18h).
        with pytest.raises(nvmerpc.NvmeStatus) as e:
            c.call("nvme.ns_attach", device="sim0", nsid=2, controllers=[2])
        assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0x18)
        # Detaching from a controller it is not attached to: Namespace Not Attached (1, 1Ah).
        with pytest.raises(nvmerpc.NvmeStatus) as e:
            c.call("nvme.ns_detach", device="sim0", nsid=2, controllers=[1], confirm=SIM_SN)
        assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0x1A)


def test_ns_create_errors(c):
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.call("nvme.ns_create", device="sim0", nsze=8)
    assert e.value.data["field"] in ("params.flbas", "params.lba_size")
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.call("nvme.ns_create", device="sim0", nsze=8, lba_size=1000)
    assert e.value.data["field"] == "params.lba_size"
    # More than the subsystem's capacity: Namespace Insufficient Capacity (SCT 1, 15h).
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.call("nvme.ns_create", device="sim0", nsze=1 << 47, lba_size=512)
    assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0x15)


# -- device self-test and sanitize over time -------------------------------------------------

def test_self_test_progress_stream(c, validate_result):
    assert c.call("nvme.self_test_log", device="sim0")["results"] == []
    stream = c.stream("nvme.self_test", device="sim0", action="short", wait=True)
    items = list(stream)
    final = validate_result("nvme.self_test", stream.summary)
    assert items, "no progress item before the final result"
    assert all(i["status"] in ("in_progress", "done") for i in items), items
    running = [i["percent"] for i in items if i["status"] == "in_progress"]
    assert running == sorted(running) and all(0 <= p < 100 for p in running), items
    assert final["action"] == "short" and final["current_operation"] == 0
    assert len(final["results"]) == 1
    r = final["results"][0]
    assert (r["result"], r["code"]) == (0, 1)  # completed without error, short
    assert c.call("nvme.self_test_log", device="sim0") == \
        {k: v for k, v in final.items() if k != "action"}


def test_self_test_without_wait_then_abort(c):
    got = c.call("nvme.self_test", device="sim0", action="extended")
    assert got == {"action": "extended", "accepted": True}
    log = c.call("nvme.self_test_log", device="sim0")
    assert log["current_operation"] == 2
    # A second test while one runs: Device Self-test in Progress (SCT 1, 1Dh).
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.call("nvme.self_test", device="sim0", action="short")
    assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0x1D)
    assert c.call("nvme.self_test", device="sim0", action="abort") == \
        {"action": "abort", "accepted": True}
    log = c.call("nvme.self_test_log", device="sim0")
    assert log["current_operation"] == 0
    assert (log["results"][0]["result"], log["results"][0]["code"]) == (1, 2)  # aborted


def test_sanitize_progress_stream(c, validate_result):
    assert c.call("nvme.sanitize_log", device="sim0")["status"] == "never_sanitized"
    c.call("nvme.zns.mgmt_send", device="sim0n2", action="open", slba=0, confirm=SIM_SN)
    stream = c.stream("nvme.sanitize", device="sim0", action="block", wait=True, confirm=SIM_SN)
    items = list(stream)
    final = validate_result("nvme.sanitize", stream.summary)
    assert items
    running = [i["percent"] for i in items if i["status"] == "in_progress"]
    assert running == sorted(running) and all(0 <= p < 100 for p in running), items
    assert final["action"] == "block"
    assert (final["status"], final["percent"], final["sprog"]) == ("success", 100, 65535)
    assert final["cdw10_info"] & 7 == 2  # SANACT block erase
    assert validate_result("nvme.sanitize_log", c.call("nvme.sanitize_log", device="sim0")) == \
        {k: v for k, v in final.items() if k != "action"}
    # The media was erased: every zone empty again.
    assert c.nvme_zns_report_zones(device="sim0n2", state="empty")["nr_zones"] == 64


def test_sanitize_in_progress_blocks_other_commands(c):
    assert c.call("nvme.sanitize", device="sim0", action="crypto", confirm=SIM_SN) == \
        {"action": "crypto", "accepted": True}
    log = c.call("nvme.sanitize_log", device="sim0")
    assert log["status"] == "in_progress" and log["percent"] < 100
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.call("nvme.format", device="sim0n1", lbaf=0, confirm=SIM_SN)
    assert (e.value.data["sct"], e.value.data["sc"]) == (0, 0x1D)  # Sanitize In Progress


def test_sanitize_exit_failure_without_failure_changes_nothing(c):
    # Exit Failure Mode when the last sanitize did not fail: success, no operation started.
    assert c.call("nvme.sanitize", device="sim0", action="exit_failure", confirm=SIM_SN) == \
        {"action": "exit_failure", "accepted": True}
    log = c.call("nvme.sanitize_log", device="sim0")
    assert (log["status"], log["percent"]) == ("never_sanitized", 100)
    assert c.nvme_zns_report_zones(device="sim0n2", state="empty")["nr_zones"] == 64
