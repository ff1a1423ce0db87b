"""nvme.apply over the NVMe-MI tunneled admin path (docs/desired-state.md): the same plan and
operations as on the simulator directly, each a tunneled admin command; what the MI backend
cannot do (zone management) is planned as an operation that fails with NotSupported, and apply
then runs nothing."""
import pytest

import nvmerpc

SIM_SN = "NRSIM0000000001"  # the responder's default endpoint is the built-in simulator
DEV = "mctp:1,8:1"


def test_apply_over_mi_then_plan_is_empty(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    desired = {"namespaces": [{"nsid": 1, "controllers": []}, {"nsid": 3, "size": 1 << 20}],
               "features": [{"fid": 4, "value": 340}]}
    with rig.client() as c:
        planned = c.call("nvme.plan", device=DEV, desired=desired)
        assert [op["method"] for op in planned["operations"]] == [
            "nvme.ns_detach", "nvme.ns_create", "nvme.ns_attach", "nvme.set_feature"]
        got = c.call("nvme.apply", device=DEV, desired=desired, confirm=SIM_SN,
                     plan_digest=planned["plan_digest"])
        assert got["complete"] and len(got["done"]) == 4, got
        assert got["done"][1]["result"] == {"nsid": 3}
        assert c.call("nvme.get_feature", device=DEV, fid=4)["value"] == 340
        assert c.call("nvme.list_ctrl", device=DEV, nsid=1)["num_ctrl"] == 0
        assert c.call("nvme.plan", device=DEV, desired=desired)["operations"] == []
        assert c.call("nvme.apply", device=DEV, desired=desired)["done"] == []
    opcodes = rig.responder.stats(1, 8)["opcodes"]
    for op in ("admin:0x15", "admin:0x0d", "admin:0x09"):  # attach/detach, create, set features
        assert opcodes.get(op, 0) >= 1, (op, opcodes)


def test_zone_actions_over_mi_are_planned_as_not_supported(mi_rig):
    rig = mi_rig([{"net": 1, "eid": 8}])
    desired = {"features": [{"fid": 4, "value": 341}], "zones": [{"nsid": 2, "action": "finish"}]}
    with rig.client() as c:
        ops = c.call("nvme.plan", device=DEV, desired=desired)["operations"]
        assert [op["method"] for op in ops] == ["nvme.set_feature", "nvme.zns.mgmt_send"]
        assert ops[1]["error"]["code"] == -32006, ops[1]
        before = c.call("nvme.get_feature", device=DEV, fid=4)["value"]
        with pytest.raises(nvmerpc.RpcError) as e:
            c.call("nvme.apply", device=DEV, desired=desired)
        assert e.value.code == -32006 and e.value.data["operation"] == 1, e.value.data
        assert c.call("nvme.get_feature", device=DEV, fid=4)["value"] == before
