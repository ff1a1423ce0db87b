"""nvme.plan and nvme.apply (docs/desired-state.md) on QEMU's emulated controller through the
real Linux nvme driver. QEMU 10 advertises namespace management but implements attachment only
(test_qemu_admin.py): attach and detach nsid 3 and set a feature through apply, each second
apply a no-op; a create is planned and fails with the device's status, reported as failed with
nothing after it attempted. The controller is left as it was found."""
import guest as guest_mod
from test_qemu import _role, roles, topo  # noqa: F401


def test_apply_attaches_detaches_and_sets_a_feature_idempotently(c, guest, roles, topo):
    ct = _role(roles, topo, "qemu1")[1]
    dev, cntlid = ct["name"], ct["cntlid"]
    tmpth = c.call("nvme.get_feature", device=dev, fid=4)["fields"]["tmpth"]
    want = {"namespaces": [{"nsid": 3, "controllers": [cntlid]}],
            "features": [{"fid": 4, "fields": {"tmpth": tmpth - 2}}]}
    back = {"namespaces": [{"nsid": 3, "controllers": []}],
            "features": [{"fid": 4, "fields": {"tmpth": tmpth}}]}
    try:
        planned = c.call("nvme.plan", device=dev, desired=want)
        assert [op["method"] for op in planned["operations"]] == ["nvme.ns_attach",
                                                                  "nvme.set_feature"]
        done = c.call("nvme.apply", device=dev, desired=want,
                      plan_digest=planned["plan_digest"])
        assert done["complete"] and len(done["done"]) == 2, done
        assert c.call("nvme.list_ctrl", device=dev, nsid=3)["ctrl_list"] == [{"ctrl_id": cntlid}]
        assert c.call("nvme.get_feature", device=dev, fid=4)["fields"]["tmpth"] == tmpth - 2
        assert c.call("nvme.plan", device=dev, desired=want)["operations"] == []
        again = c.call("nvme.apply", device=dev, desired=want)
        assert again["done"] == [] and again["complete"]
        # Back: a detach (destructive: confirm) and the feature.
        undone = c.call("nvme.apply", device=dev, desired=back, confirm=guest_mod.SERIAL)
        assert [op["method"] for op in undone["done"]] == ["nvme.ns_detach", "nvme.set_feature"]
        assert c.call("nvme.apply", device=dev, desired=back, confirm=guest_mod.SERIAL)["done"] == []
    finally:
        if c.call("nvme.list_ctrl", device=dev, nsid=3)["num_ctrl"]:
            guest.run(["nvme", "detach-ns", f"/dev/{dev}", "-n", "3", "-c", str(cntlid)])
            c.call("nvme.rescan")
        c.call("nvme.set_feature", device=dev, fid=4, fields={"tmpth": tmpth})
    assert c.call("nvme.list_ns", device=dev, all=True)["nsid_list"] == [
        {"nsid": 1}, {"nsid": 2}, {"nsid": 3}]


def test_apply_reports_the_create_qemu_refuses(c, roles, topo):
    ct = _role(roles, topo, "qemu1")[1]
    dev = ct["name"]
    tmpth = c.call("nvme.get_feature", device=dev, fid=4)["fields"]["tmpth"]
    want = {"namespaces": [{"nsid": 4, "size": 4 << 20, "controllers": []}],
            "features": [{"fid": 4, "fields": {"tmpth": tmpth - 1}}]}
    got = c.call("nvme.apply", device=dev, desired=want)
    assert not got["complete"] and got["done"] == []
    assert got["failed"]["method"] == "nvme.ns_create"
    assert got["failed"]["error"]["code"] == -32004, got["failed"]
    assert [op["method"] for op in got["not_attempted"]] == ["nvme.set_feature"]
    assert c.call("nvme.get_feature", device=dev, fid=4)["fields"]["tmpth"] == tmpth
