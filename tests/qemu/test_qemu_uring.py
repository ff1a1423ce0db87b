"""io_uring passthru (src/backends/passthru/pt_uring.c) against the worker pool's ioctls, on the
guest's real devices (QEMU's PCIe controllers and the kernel's nvmet over nvme-loop).

The suite's daemon sends its commands through io_uring (the default where the kernel takes it:
the guest runs Linux 6.12); one started with --no-io-uring sends them with ioctls on the worker
pool. Both must answer every read alike, errors included: the path is the daemon's business,
never the client's. Commands that change a device go through io_uring in the rest of the suite
(zone management, features, namespace attach, format).
"""
import json

import nvmerpc
import pytest

# SMART fields that move on their own between two reads (I/O by the kernel, time), and the
# error log count: nvmet logs each command it refuses, the test's own refused reads included.
TICKING = {"data_units_read", "data_units_written", "host_read_commands",
           "host_write_commands", "controller_busy_time", "power_on_hours",
           "num_err_log_entries"}

# One read per kind of command the device methods send: Identify (several CNS), Get Log Page
# (several pages), Get Features; self-test and sanitize logs are refused by QEMU (an NVMe
# error status, which must come back the same way).
CTRL_READS = [
    ("nvme.id_ctrl", {}),
    ("nvme.list_ns", {}),
    ("nvme.list_ns", {"all": True}),
    ("nvme.list_ctrl", {}),
    ("nvme.fw_log", {}),
    ("nvme.error_log", {"entries": 4}),
    ("nvme.effects_log", {}),
    ("nvme.smart_log", {}),
    ("nvme.self_test_log", {}),
    ("nvme.sanitize_log", {}),
    ("nvme.get_feature", {"fid": 1}),
    ("nvme.get_feature", {"fid": 4}),
    ("nvme.get_feature", {"fid": 7}),
    ("nvme.get_log", {"lid": 3, "length": 512}),
    ("nvme.zns.id_ctrl", {}),
]
NS_READS = [
    ("nvme.id_ns", {}),
    ("nvme.ns_descs", {}),
    ("nvme.id_ns_csi", {"csi": 2}),
    ("nvme.zns.id_ns", {}),
]


def _answer(c, method, params):
    """The result, or the error as (code, message, data): both are what a client sees."""
    try:
        result = c.call(method, **params)
    except nvmerpc.RpcError as e:
        return {"error": [e.code, e.message, e.data]}
    if method == "nvme.smart_log":
        result = {k: v for k, v in result.items() if k not in TICKING}
    if method == "nvme.error_log":  # its entries move with those refusals: compare the shape
        result = [sorted(entry) for entry in result["errors"]]
    return result


def _reads(c):
    """Every read on every passthru controller and namespace of the daemon serving @c."""
    out = {}
    for sub in c.nvme_list()["subsystems"]:
        if sub["backend"] != "passthru":
            continue
        for ct in sub["controllers"]:
            for method, params in CTRL_READS:
                out[(ct["name"], method, repr(params))] = _answer(
                    c, method, dict(params, device=ct["name"]))
        for ns in sub["namespaces"]:
            for method, params in NS_READS:
                out[(ns["name"], method, repr(params))] = _answer(
                    c, method, dict(params, device=ns["name"]))
    return out


def test_io_uring_and_pool_answer_alike(c, guest):
    through_uring = _reads(c)
    assert "commands through io_uring passthru" in guest.daemon_log(), \
        "the suite's daemon did not take the io_uring path (see its log)"
    assert len(through_uring) >= 2 * len(CTRL_READS), through_uring.keys()
    kinds = {v["error"][0] if "error" in v else "result" for v in through_uring.values()}
    assert "result" in kinds and len(kinds) > 1, "no NVMe error status among the reads"
    guest.set_daemon_args(["--no-io-uring", *guest.daemon_args])
    try:
        c.reconnect()
        through_pool = _reads(c)
    finally:
        guest.set_daemon_args(None)
        c.reconnect()
    assert through_pool.keys() == through_uring.keys()
    differ = {k: (through_uring[k], through_pool[k]) for k in through_uring
              if through_uring[k] != through_pool[k]}
    assert not differ, json.dumps({repr(k): v for k, v in differ.items()}, indent=1)


@pytest.mark.parametrize("depth", [1, 64])
def test_io_uring_pipelined_calls_answered_right(c, guest, depth):
    """Calls in flight at once on one controller: each answer is its own call's (the ring's
    slots are reused as the FIFO moves on)."""
    ctrls = [ct for sub in c.nvme_list()["subsystems"] if sub["backend"] == "passthru"
             for ct in sub["controllers"]]
    want = {ct["name"]: c.nvme_id_ctrl(device=ct["name"])["cntlid"] for ct in ctrls}
    ids = [(name, c.request("nvme.id_ctrl", {"device": name}))
           for _ in range(depth) for name in want]
    for name, rid in ids:
        assert c.result(rid)["cntlid"] == want[name]
