"""nvme.plan and nvme.apply on the simulator (docs/desired-state.md): a table of start states,
desired states and the operations planned, each applied and planned again (empty: idempotent);
validation naming the JSON path; the digest refusing a changed device; a failure mid-apply
reporting done, failed and not attempted; streaming; policy for uid 65534; a peer that goes
away mid-apply."""
import base64
import json
import time

import pytest

from conftest import SIM_SN, as_nobody, assert_error, assert_result, rpc, sim_json

GIB = 1 << 30
MIB = 1 << 20
FW_REV = "NEW00001"
# docs/simulator.md: an image starting with NRFW carries its revision in bytes 4..11.
FW_IMAGE = base64.b64encode(b"NRFW" + FW_REV.encode() + b"\0" * 4).decode()


def ns(nsid, size, lba_size=512, **extra):
    return dict({"nsid": nsid, "lba_size": lba_size, "blocks": size // lba_size}, **extra)


def sim(namespaces, capacity=8 * GIB, controllers=1):
    ctrls = [{"sn": SIM_SN, "cntlid": i + 1} for i in range(controllers)]
    return sim_json([{"nqn": "nqn.2024-01.io.nvmerpcd:plan", "capacity": capacity,
                      "controllers": ctrls, "namespaces": namespaces}])


ZONED = {"nsid": 2, "zoned": {"zone_size": 2048, "nr_zones": 16}}

# (id, start state, calls made first, desired, expected operations as (method, params subset))
CASES = [
    ("matches", sim([ns(1, GIB)]), [], {"namespaces": [{"nsid": 1, "size": GIB}]}, []),
    ("nothing-desired", sim([ns(1, GIB)]), [], {}, []),
    ("create", sim([ns(1, GIB)]), [], {"namespaces": [{"nsid": 2, "size": 64 * MIB}]},
     [("nvme.ns_create", {"nsze": 131072, "lba_size": 512}),
      ("nvme.ns_attach", {"nsid": 2, "controllers": [1]})]),
    ("create-4k-detached", sim([]), [],
     {"namespaces": [{"nsid": 1, "size": 64 * MIB, "lba_size": 4096, "controllers": []}]},
     [("nvme.ns_create", {"nsze": 16384, "lba_size": 4096})]),
    ("detach-before-delete", sim([ns(1, GIB), ns(2, GIB)]), [],
     {"namespaces": [{"nsid": 2, "state": "absent"}]},
     [("nvme.ns_detach", {"nsid": 2, "controllers": [1]}), ("nvme.ns_delete", {"nsid": 2})]),
    ("absent-already", sim([ns(1, GIB)]), [], {"namespaces": [{"nsid": 5, "state": "absent"}]},
     []),
    ("delete-detached", sim([ns(1, GIB), ns(2, GIB)]),
     [("nvme.ns_detach", {"nsid": 2, "controllers": [1], "confirm": SIM_SN})],
     {"namespaces": [{"nsid": 2, "state": "absent"}]}, [("nvme.ns_delete", {"nsid": 2})]),
    # The new namespace fits beside the old: created before the old one is deleted.
    ("creates-first-when-capacity-allows", sim([ns(1, GIB), ns(3, GIB)], capacity=8 * GIB), [],
     {"namespaces": [{"nsid": 3, "state": "absent"}, {"nsid": 2, "size": 2 * GIB}]},
     [("nvme.ns_detach", {"nsid": 3}), ("nvme.ns_create", {"nsze": 4194304}),
      ("nvme.ns_attach", {"nsid": 2}), ("nvme.ns_delete", {"nsid": 3})]),
    # It only fits in what the delete frees: the delete goes first.
    ("deletes-first-when-capacity-requires", sim([ns(1, GIB), ns(3, GIB)], capacity=3 * GIB),
     [], {"namespaces": [{"nsid": 3, "state": "absent"}, {"nsid": 2, "size": 2 * GIB}]},
     [("nvme.ns_detach", {"nsid": 3}), ("nvme.ns_delete", {"nsid": 3}),
      ("nvme.ns_create", {"nsze": 4194304}), ("nvme.ns_attach", {"nsid": 2})]),
    ("resize-recreates", sim([ns(1, GIB)]), [], {"namespaces": [{"nsid": 1, "size": 2 * GIB}]},
     [("nvme.ns_detach", {"nsid": 1}), ("nvme.ns_delete", {"nsid": 1}),
      ("nvme.ns_create", {"nsze": 4194304}), ("nvme.ns_attach", {"nsid": 1})]),
    ("lba-size-formats", sim([ns(1, GIB)]), [],
     {"namespaces": [{"nsid": 1, "size": GIB, "lba_size": 4096}]},
     [("nvme.format", {"nsid": 1, "lbaf": 1})]),
    ("detach-one-controller", sim([ns(1, GIB)], controllers=2), [],
     {"namespaces": [{"nsid": 1, "controllers": [1]}]},
     [("nvme.ns_detach", {"nsid": 1, "controllers": [2]})]),
    ("attach-two-controllers", sim([ns(1, GIB)], controllers=2), [],
     {"namespaces": [{"nsid": 2, "size": 8 * MIB, "controllers": [1, 2]}]},
     [("nvme.ns_create", {"nsze": 16384, "nmic": 1}),
      ("nvme.ns_attach", {"nsid": 2, "controllers": [1, 2]})]),
    ("feature-already-at-value", sim([ns(1, GIB)]), [], {"features": [{"fid": 4, "value": 343}]},
     []),
    ("feature-differs", sim([ns(1, GIB)]), [], {"features": [{"fid": 4, "value": 350}]},
     [("nvme.set_feature", {"fid": 4, "value": 350})]),
    ("feature-fields", sim([ns(1, GIB)]), [],
     {"features": [{"fid": 4, "fields": {"tmpth": 340}}, {"fid": 2, "fields": {"ps": 0}}]},
     [("nvme.set_feature", {"fid": 4, "fields": {"tmpth": 340}})]),
    ("feature-saved-follows", sim([ns(1, GIB)]),
     [("nvme.set_feature", {"fid": 4, "value": 350})],
     {"features": [{"fid": 4, "value": 350, "save": True}]},
     [("nvme.set_feature", {"fid": 4, "value": 350, "save": True})]),
    ("firmware-already-current", sim([ns(1, GIB)]), [], {"firmware": {"revision": "1.0"}}, []),
    ("firmware-new", sim([ns(1, GIB)]), [],
     {"firmware": {"revision": FW_REV, "image": FW_IMAGE, "slot": 2}},
     [("nvme.fw_download", {"image": FW_IMAGE}),
      ("nvme.fw_commit", {"slot": 2, "action": "replace_activate"})]),
    ("zones-full-reset", sim([ns(1, GIB), ZONED]),
     [("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "finish", "slba": 0}),
      ("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "finish", "slba": 4096})],
     {"zones": [{"nsid": 2, "action": "reset", "state": "full"}]},
     [("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "reset", "slba": 0}),
      ("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "reset", "slba": 4096})]),
    ("zones-finish-all", sim([ns(1, GIB), ZONED]),
     [("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "open", "slba": 2048})],
     {"zones": [{"nsid": 2, "action": "finish"}]},
     [("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "finish", "all": True})]),
    ("zones-nothing-to-reset", sim([ns(1, GIB), ZONED]), [],
     {"zones": [{"nsid": 2, "action": "reset"}]}, []),
    # Every kind at once: namespaces, then features, then firmware commit last.
    ("ordering", sim([ns(1, GIB), ns(2, GIB)]), [],
     {"firmware": {"revision": FW_REV, "image": FW_IMAGE},
      "features": [{"fid": 4, "value": 345}],
      "namespaces": [{"nsid": 3, "size": 16 * MIB}, {"nsid": 2, "state": "absent"},
                     {"nsid": 1, "lba_size": 4096}]},
     [("nvme.ns_detach", {"nsid": 2}), ("nvme.ns_create", {"nsze": 32768}),
      ("nvme.ns_attach", {"nsid": 3}), ("nvme.ns_delete", {"nsid": 2}),
      ("nvme.format", {"nsid": 1, "lbaf": 1}), ("nvme.set_feature", {"fid": 4, "value": 345}),
      ("nvme.fw_download", {}), ("nvme.fw_commit", {"slot": 0})]),
]


def call(conn, method, id, **params):
    return assert_result(conn.call(rpc(method, id=id, **params)), id)


def plan(conn, desired, id="plan"):
    return call(conn, "nvme.plan", id, device="sim0", desired=desired)


def summary(ops):
    return [(op["method"], op["params"]) for op in ops]


def matches(ops, expected):
    if len(ops) != len(expected):
        return False
    return all(op["method"] == m and all(op["params"].get(k) == v for k, v in p.items())
               for op, (m, p) in zip(ops, expected))


@pytest.mark.parametrize("start,setup,desired,expected", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_plan_table_then_apply_is_idempotent(daemon, start, setup, desired, expected):
    assert len(CASES) >= 15
    d = daemon(sim=start)
    with d.raw() as conn:
        for i, (method, params) in enumerate(setup):
            call(conn, method, f"setup{i}", **dict({"device": "sim0"}, **params))
        got = plan(conn, desired)
        assert matches(got["operations"], expected), summary(got["operations"])
        assert got["changes"] == bool(expected)
        assert [op["index"] for op in got["operations"]] == list(range(len(expected)))
        for op in got["operations"]:
            assert op["sentence"] and op["class"] in ("write", "destructive"), op
            assert "error" not in op, op
        assert bool(got["diff"]) == bool(expected), got["diff"]
        applied = call(conn, "nvme.apply", "apply", device="sim0", desired=desired,
                       confirm=SIM_SN, plan_digest=got["plan_digest"])
        assert applied["complete"] and applied["failed"] is None, applied["failed"]
        assert [op["status"] for op in applied["done"]] == ["done"] * len(expected)
        assert applied["not_attempted"] == []
        again = plan(conn, desired, "again")
        assert again["operations"] == [] and again["diff"] == [], summary(again["operations"])
        second = call(conn, "nvme.apply", "apply2", device="sim0", desired=desired)
        assert second["done"] == [] and second["complete"], second
    # Every operation was audited as its own call; the second apply ran none.
    log = d.stderr_text()
    for method, _ in expected:
        assert f"method={method} device=" in log, method
    assert log.count("method=nvme.apply ") == 2


def test_classes_are_those_of_the_methods(daemon):
    d = daemon(sim=CASES[-1][1])
    with d.raw() as conn:
        ops = plan(conn, CASES[-1][3])["operations"]
    classes = {op["method"]: op["class"] for op in ops}
    assert classes == {"nvme.ns_detach": "destructive", "nvme.ns_create": "write",
                       "nvme.ns_attach": "write", "nvme.ns_delete": "destructive",
                       "nvme.format": "destructive", "nvme.set_feature": "write",
                       "nvme.fw_download": "write", "nvme.fw_commit": "destructive"}


# -- validation: the whole document first, errors naming the JSON path -----------------------

INVALID = [
    ({"namespaces": [{"nsid": 1}, {"nsid": 2}, {"nsid": 3, "size": "big"}]},
     "params.desired.namespaces[2].size"),
    ({"namespaces": [{"nsid": 1, "sise": 5}]}, "params.desired.namespaces[0].sise"),
    ({"namespaces": [{"size": 4096}]}, "params.desired.namespaces[0].nsid"),
    ({"namespaces": [{"nsid": 1, "state": "gone"}]}, "params.desired.namespaces[0].state"),
    ({"features": [{"fid": 4, "value": -1}]}, "params.desired.features[0].value"),
    ({"firmware": {"image": "AAAA"}}, "params.desired.firmware.revision"),
    ({"zones": [{"nsid": 2, "action": "open"}]}, "params.desired.zones[0].action"),
    ({"extra": 1}, "params.desired.extra"),
    # Checks beyond the schema, against the device.
    ({"namespaces": [{"nsid": 1}, {"nsid": 2, "size": MIB}, {"nsid": 3, "size": 1000}]},
     "params.desired.namespaces[2].size"),
    ({"namespaces": [{"nsid": 2}]}, "params.desired.namespaces[0].size"),
    ({"namespaces": [{"nsid": 1}, {"nsid": 1}]}, "params.desired.namespaces[1].nsid"),
    ({"namespaces": [{"nsid": 4, "size": MIB}]}, "params.desired.namespaces[0].nsid"),
    ({"namespaces": [{"nsid": 2, "size": 64 * GIB}]}, "params.desired.namespaces"),
    ({"namespaces": [{"nsid": 1, "lba_size": 1024}]}, "params.desired.namespaces[0].lba_size"),
    ({"features": [{"fid": 4}]}, "params.desired.features[0].value"),
    ({"features": [{"fid": 4, "value": 1, "fields": {"tmpth": 1}}]},
     "params.desired.features[0].value"),
    ({"features": [{"fid": 4, "fields": {"nope": 1}}]}, "params.desired.features[0].fields.nope"),
    ({"features": [{"fid": 4, "value": 1}, {"fid": 4, "value": 2}]},
     "params.desired.features[1].fid"),
    ({"firmware": {"revision": "2.0"}}, "params.desired.firmware.image"),
]


@pytest.mark.parametrize("desired,field", INVALID, ids=[f for _, f in INVALID])
def test_validation_names_the_json_path(daemon, desired, field):
    d = daemon(sim=sim([ns(1, GIB)]))
    with d.raw() as conn:
        for i, extra in enumerate(({}, {"confirm": SIM_SN})):
            method = "nvme.apply" if extra else "nvme.plan"
            resp = conn.call(rpc(method, id=i, device="sim0", desired=desired, **extra))
            data = assert_error(resp, -32602, "InvalidParams", id=i)
            assert data["field"] == field, data
            assert field in resp["error"]["message"]
        assert plan(conn, {"namespaces": [{"nsid": 2, "state": "absent"}]})["operations"] == []
    assert "method=nvme.ns_" not in d.stderr_text()


def test_device_must_be_a_controller(daemon):
    d = daemon(sim=sim([ns(1, GIB)]))
    with d.raw() as conn:
        data = assert_error(conn.call(rpc("nvme.plan", id=1, device="sim0n1", desired={})),
                            -32602, "InvalidParams", id=1)
        assert data["field"] == "params.device"


# -- refusals before anything runs --------------------------------------------------------------

def test_digest_refuses_a_changed_device(daemon):
    d = daemon(sim=sim([ns(1, GIB)]))
    desired = {"namespaces": [{"nsid": 2, "size": 16 * MIB}], "features": [{"fid": 4, "value": 350}]}
    with d.raw() as conn:
        first = plan(conn, desired)
        assert plan(conn, desired, "same")["plan_digest"] == first["plan_digest"]
        # Someone else changes the device in between.
        call(conn, "nvme.set_feature", "other", device="sim0", fid=4, value=330)
        resp = conn.call(rpc("nvme.apply", id="a", device="sim0", desired=desired,
                             plan_digest=first["plan_digest"]))
        data = assert_error(resp, -32012, "StateChanged", id="a")
        assert data["plan_digest"] == first["plan_digest"]
        assert data["current_digest"] != first["plan_digest"]
        assert call(conn, "nvme.list_ns", "ns", device="sim0")["nsid_list"] == [{"nsid": 1}]
        fresh = plan(conn, desired, "fresh")
        assert fresh["plan_digest"] == data["current_digest"]
        done = call(conn, "nvme.apply", "b", device="sim0", desired=desired,
                    plan_digest=fresh["plan_digest"])
        assert done["complete"] and len(done["done"]) == 3


def test_confirm_needed_for_destructive_plans_only(daemon):
    d = daemon(sim=sim([ns(1, GIB), ns(2, GIB)]))
    desired = {"namespaces": [{"nsid": 2, "state": "absent"}, {"nsid": 3, "size": MIB}]}
    with d.raw() as conn:
        for i, confirm in enumerate((None, "WRONG")):
            p = dict(device="sim0", desired=desired)
            if confirm:
                p["confirm"] = confirm
            data = assert_error(conn.call(rpc("nvme.apply", id=i, **p)), -32008,
                                "ConfirmationRequired", id=i)
            assert data["operations"] == [0, 3]  # the detach and the delete
        assert call(conn, "nvme.list_ns", "ns", device="sim0", all=True)["nsid_list"] == [
            {"nsid": 1}, {"nsid": 2}]
        # A write-only plan needs no confirm.
        assert call(conn, "nvme.apply", "w", device="sim0",
                    desired={"features": [{"fid": 4, "value": 349}]})["complete"]


def test_nobody_may_plan_but_not_apply_a_write(daemon):
    d = daemon(sim=sim([ns(1, GIB)]))
    desired = {"features": [{"fid": 4, "value": 350}]}
    replies = as_nobody(d.socket, [
        rpc("nvme.plan", id=1, device="sim0", desired=desired),
        rpc("nvme.apply", id=2, device="sim0", desired=desired),
        rpc("nvme.apply", id=3, device="sim0", desired={"features": [{"fid": 4, "value": 343}]}),
    ])
    ops = assert_result(replies[0], 1)["operations"]
    assert [op["method"] for op in ops] == ["nvme.set_feature"]
    assert_error(replies[1], -32007, "PermissionDenied", id=2)
    assert_error(replies[2], -32007, "PermissionDenied", id=3)
    with d.raw() as conn:
        assert call(conn, "nvme.get_feature", 4, device="sim0", fid=4)["value"] == 343


def test_policy_refusing_one_operation_runs_none(daemon, tmp_path):
    config = tmp_path / "config.json"
    # uid 65534 may write, but not set features: the plan's create must not run either.
    config.write_text(json.dumps({"policy": {"write": {"uids": [65534]},
                                             "methods": {"nvme.set_feature": {"uids": []}}}}))
    d = daemon(args=["--config", str(config)], sim=sim([ns(1, GIB)]))
    desired = {"namespaces": [{"nsid": 2, "size": MIB}], "features": [{"fid": 4, "value": 350}]}
    (reply,) = as_nobody(d.socket, [rpc("nvme.apply", id=1, device="sim0", desired=desired)])
    data = assert_error(reply, -32007, "PermissionDenied", id=1)
    assert (data["method"], data["operation"]) == ("nvme.set_feature", 2)
    with d.raw() as conn:
        assert call(conn, "nvme.list_ns", "ns", device="sim0", all=True)["nsid_list"] == [
            {"nsid": 1}]


def test_unsupported_operation_is_in_the_plan_and_nothing_runs(daemon):
    # FID 0Dh (Host Memory Buffer) is a feature this controller's Get Features refuses? Use
    # a reserved FID: the plan shows the set that will fail; apply runs nothing.
    d = daemon(sim=sim([ns(1, GIB)]))
    desired = {"namespaces": [{"nsid": 2, "size": MIB}], "features": [{"fid": 0x7f, "value": 1}]}
    with d.raw() as conn:
        ops = plan(conn, desired)["operations"]
        assert [op["method"] for op in ops][-1] == "nvme.set_feature"
        assert "error" in ops[-1], ops[-1]
        resp = conn.call(rpc("nvme.apply", id=1, device="sim0", desired=desired))
        assert "error" in resp and resp["error"]["data"]["operation"] == 2, resp
        assert call(conn, "nvme.list_ns", "ns", device="sim0", all=True)["nsid_list"] == [
            {"nsid": 1}]


# -- failures mid-apply --------------------------------------------------------------------

def test_failure_mid_apply_reports_done_failed_and_not_attempted(daemon):
    d = daemon(sim=sim([ns(1, GIB)]))
    desired = {"namespaces": [{"nsid": 2, "size": MIB}], "features": [{"fid": 4, "value": 350}]}
    with d.raw() as conn:
        # Namespace Attachment (15h) fails once with Controller List Invalid (SCT 1, 1Ch).
        call(conn, "sim.fault", "f", device="sim0",
             status={"sct": 1, "sc": 0x1c, "opcode": 0x15, "count": 1})
        got = call(conn, "nvme.apply", "a", device="sim0", desired=desired)
        assert not got["complete"]
        assert [op["method"] for op in got["done"]] == ["nvme.ns_create"]
        assert got["done"][0]["result"] == {"nsid": 2}
        failed = got["failed"]
        assert failed["method"] == "nvme.ns_attach" and failed["status"] == "failed"
        assert failed["error"]["code"] == -32004 and failed["error"]["data"]["sc"] == 0x1c
        assert [op["method"] for op in got["not_attempted"]] == ["nvme.set_feature"]
        assert call(conn, "nvme.get_feature", "g", device="sim0", fid=4)["value"] == 343
        # The next plan picks up where it stopped.
        rest = plan(conn, desired)["operations"]
        assert [op["method"] for op in rest] == ["nvme.ns_attach", "nvme.set_feature"]
        assert call(conn, "nvme.apply", "b", device="sim0", desired=desired)["complete"]
        assert plan(conn, desired, "c")["operations"] == []


def test_apply_streams_one_item_per_operation(daemon):
    d = daemon(sim=sim([ns(1, GIB)]))
    desired = {"namespaces": [{"nsid": 2, "size": MIB}], "features": [{"fid": 4, "value": 350}]}
    with d.raw() as conn:
        conn.send(rpc("nvme.apply", id=7, device="sim0", desired=desired, stream=True))
        items = []
        while True:
            msg = conn.recv()
            if msg.get("method") != "rpc.stream":
                break
            assert msg["params"]["id"] == 7 and msg["params"]["seq"] == len(items)
            items.extend(msg["params"]["items"])
        final = assert_result(msg, 7)
        assert [(i["index"], i["method"], i["status"]) for i in items] == [
            (0, "nvme.ns_create", "done"), (1, "nvme.ns_attach", "done"),
            (2, "nvme.set_feature", "done")]
        assert final["done"] == items


def test_peer_gone_mid_apply_is_orphaned_and_runs_to_its_end(daemon):
    """Once an operation reached the device the apply is the device's, as any multi-command
    write: the peer seen gone (a stream item it cannot take) orphans it, and it finishes."""
    d = daemon(sim=sim([ns(1, GIB)]))
    desired = {"namespaces": [{"nsid": 2, "size": MIB}], "features": [{"fid": 4, "value": 350}]}
    with d.raw() as conn:
        # Every command takes 300 ms: the attach is in flight when the peer goes.
        call(conn, "sim.fault", "f", device="sim0", delay_us=300000)
    conn = d.raw()
    conn.send(rpc("nvme.apply", id=1, device="sim0", desired=desired, stream=True))
    first = conn.recv()
    assert first["params"]["items"][0]["method"] == "nvme.ns_create"
    conn.close()
    deadline = time.monotonic() + 20
    while "method=nvme.apply " not in d.stderr_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    with d.raw() as conn:
        call(conn, "sim.fault", "clear", device="sim0", clear=True)
        assert plan(conn, desired)["operations"] == []
        assert call(conn, "rpc.ping", "p") is not None
    log = d.stderr_text()
    assert "method=nvme.set_feature device=sim0 outcome=ok" in log, log
    assert "method=nvme.apply device=sim0 outcome=ok" in log, log


def test_cancel_before_the_first_operation_cancels_and_after_it_is_refused(daemon):
    d = daemon(sim=sim([ns(1, GIB)]))
    desired = {"namespaces": [{"nsid": 2, "size": MIB}], "features": [{"fid": 4, "value": 350}]}
    with d.raw() as conn:
        call(conn, "sim.fault", "f", device="sim0", delay_us=200000)
        conn.send(rpc("nvme.apply", id="a", device="sim0", desired=desired))
        # Still reading the state: nothing reached the device for it yet.
        got = conn.call(rpc("rpc.cancel", id="c", params={"id": "a"}))
        msgs = [got, conn.recv()]
        by_id = {m["id"]: m for m in msgs}
        assert_error(by_id["a"], -32010, "Cancelled", id="a")
        conn.send(rpc("nvme.apply", id="b", device="sim0", desired=desired, stream=True))
        assert conn.recv()["params"]["items"][0]["method"] == "nvme.ns_create"
        refused = assert_result(conn.call(rpc("rpc.cancel", id="c2", params={"id": "b"})), "c2")
        assert refused["cancelled"] is False, refused
        msg = conn.recv()
        while msg.get("method") == "rpc.stream":
            msg = conn.recv()
        assert assert_result(msg, "b")["complete"]
        call(conn, "sim.fault", "clear", device="sim0", clear=True)


def test_peer_closing_during_the_reads_gets_its_applies_done(daemon):
    """A peer that closes its end without reading is only seen gone when its answer cannot be
    written (as for any call): each apply runs to its end, audited, and the daemon serves on."""
    d = daemon(sim=sim([ns(1, GIB)]))
    with d.raw() as conn:
        call(conn, "sim.fault", "f", device="sim0", delay_us=100000)
    for i in range(3):
        conn = d.raw()
        conn.send(rpc("nvme.apply", id=i, device="sim0",
                      desired={"features": [{"fid": 4, "value": 350}]}))
        conn.close()
    deadline = time.monotonic() + 20
    while d.stderr_text().count("method=nvme.apply ") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    with d.raw() as conn:
        call(conn, "sim.fault", "clear", device="sim0", clear=True)
        assert call(conn, "nvme.get_feature", "g", device="sim0", fid=4)["value"] == 350
        assert not plan(conn, {"features": [{"fid": 4, "value": 350}]})["changes"]
    assert d.stderr_text().count("method=nvme.apply device=sim0 outcome=ok") == 3


def test_sigterm_mid_apply_waits_for_the_operation_then_reports(daemon):
    d = daemon(sim=sim([ns(1, GIB)]))
    desired = {"namespaces": [{"nsid": 2, "size": MIB}], "features": [{"fid": 4, "value": 350}]}
    with d.raw() as conn:
        call(conn, "sim.fault", "f", device="sim0", delay_us=300000)
        conn.send(rpc("nvme.apply", id=1, device="sim0", desired=desired, stream=True))
        assert conn.recv()["params"]["items"][0]["method"] == "nvme.ns_create"
        d.proc.send_signal(15)
        # The attach in flight finishes on the device; the next operation is refused.
        msg = conn.recv()
        while msg.get("method") == "rpc.stream":
            msg = conn.recv()
        got = assert_result(msg, 1)
        assert [op["method"] for op in got["done"]] == ["nvme.ns_create", "nvme.ns_attach"]
        assert got["failed"]["method"] == "nvme.set_feature"
        assert got["failed"]["error"]["code"] == -32010
        assert not got["complete"] and got["not_attempted"] == []
    # It exits by itself once the answer is out and the connection closed.
    assert d.proc.wait(10) == 0, d.stderr_text()
    assert "method=nvme.set_feature device=sim0 outcome=Cancelled" in d.stderr_text()


def test_firmware_by_file_name_from_the_configured_directory(daemon, tmp_path):
    fwdir = tmp_path / "firmware"
    fwdir.mkdir()
    (fwdir / "new.bin").write_bytes(base64.b64decode(FW_IMAGE))
    (fwdir / "odd.bin").write_bytes(b"NRFW123")
    (tmp_path / "secret").write_bytes(b"NRFWSECRET00")
    (fwdir / "link.bin").symlink_to(tmp_path / "secret")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"firmware": {"dir": str(fwdir)}}))
    d = daemon(args=["--config", str(config)], sim=sim([ns(1, GIB)]))
    want = {"firmware": {"revision": FW_REV, "path": "new.bin", "slot": 2}}
    with d.raw() as conn:
        for i, (path, field) in enumerate((
                ("../secret", "params.desired.firmware.path"),  # the schema: a file name only
                (".hidden", "params.desired.firmware.path"),
                ("link.bin", "params.desired.firmware.path"),  # not followed
                ("odd.bin", "params.desired.firmware.path"),  # not a multiple of 4 bytes
                ("missing.bin", "params.desired.firmware.path"))):
            resp = conn.call(rpc("nvme.plan", id=i, device="sim0",
                                 desired={"firmware": {"revision": FW_REV, "path": path}}))
            assert assert_error(resp, -32602, "InvalidParams", id=i)["field"] == field
        ops = plan(conn, want)["operations"]
        assert summary(ops)[0] == ("nvme.fw_download", {"device": "sim0", "path": "new.bin"})
        got = call(conn, "nvme.apply", "a", device="sim0", desired=want, confirm=SIM_SN)
        assert got["complete"], got
        assert "image" not in got["done"][0]["params"]
        log = call(conn, "nvme.fw_log", "log", device="sim0")
        assert (log["next_slot"], log["frs2"]) == (2, FW_REV), log
        assert plan(conn, want, "again")["operations"] == []


def test_firmware_by_file_name_needs_a_configured_directory(daemon):
    d = daemon(sim=sim([ns(1, GIB)]))
    with d.raw() as conn:
        resp = conn.call(rpc("nvme.plan", id=1, device="sim0",
                             desired={"firmware": {"revision": FW_REV, "path": "a.bin"}}))
        data = assert_error(resp, -32602, "InvalidParams", id=1)
        assert data["field"] == "params.desired.firmware.path"
        assert "no firmware directory" in data["reason"]
