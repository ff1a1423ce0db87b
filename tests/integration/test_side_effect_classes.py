"""A call's class is what it does, not its method's name: read methods whose params change
device or daemon state (rae: false clears an event, lsp creates telemetry or a persistent
event context, a rescan replaces controller entries) are write calls. Checked before anything
is queued, for requests, batch elements and notifications; denials name the class and are
audited with it."""
import base64
import os

import pytest

from conftest import SIM_SN, as_nobody, assert_error, rpc

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to uid 65534")

# (method, params, the param that makes it write or None for a write method, what root
# gets: "ok" or the error name the simulator answers with).
SIDE_EFFECTS = [
    ("nvme.ns_rescan", {"device": "sim0"}, None, "ok"),
    ("nvme.rescan", {}, None, "ok"),
    ("nvme.telemetry_log", {"device": "sim0", "create": True}, "create", "ok"),
    ("nvme.persistent_event_log", {"device": "sim0", "action": "establish"}, "action", "ok"),
    ("nvme.persistent_event_log", {"device": "sim0", "action": "release"}, "action", "ok"),
    ("nvme.get_log", {"device": "sim0", "lid": 2, "length": 512, "rae": False}, "rae", "ok"),
    ("nvme.get_log", {"device": "sim0", "lid": 7, "length": 512, "lsp": 1}, "lsp", "ok"),
    ("nvme.get_log", {"device": "sim0", "lid": 0x80, "length": 64}, "lid", "NvmeStatus"),
    ("nvme.changed_ns_list", {"device": "sim0", "rae": False}, "rae", "ok"),
    # The simulator has no Changed Zone List log (Invalid Log Page), like QEMU.
    ("nvme.zns.changed_zones", {"device": "sim0n2", "rae": False}, "rae", "NvmeStatus"),
    ("mi.health_status_poll", {"device": "sim0", "clear": True}, "clear", "NotSupported"),
    ("mi.scan", {}, None, "ok"),
]

# The same methods without the side effect: read calls, open to every peer. The
# answer that shows the call was authorized: "result", or the error the simulator gives.
READ_VARIANTS = [
    ("nvme.telemetry_log", {"device": "sim0"}),
    ("nvme.telemetry_log", {"device": "sim0", "create": False}),
    ("nvme.telemetry_log", {"device": "sim0", "host_initiated": False}),
    ("nvme.persistent_event_log", {"device": "sim0"}),
    ("nvme.persistent_event_log", {"device": "sim0", "action": "read"}),
    ("nvme.get_log", {"device": "sim0", "lid": 2, "length": 512}),
    ("nvme.get_log", {"device": "sim0", "lid": 2, "length": 512, "rae": True, "lsp": 0}),
    ("nvme.changed_ns_list", {"device": "sim0"}),
    ("nvme.changed_ns_list", {"device": "sim0", "rae": True}),
    ("nvme.zns.changed_zones", {"device": "sim0n2"}),  # NvmeStatus: Invalid Log Page
    ("nvme.smart_log", {"device": "sim0"}),
    ("nvme.error_log", {"device": "sim0", "entries": 1}),
    ("nvme.sanitize_log", {"device": "sim0"}),
]


def ids(cases):
    return [f"{m}-{'-'.join(f'{k}={v}' for k, v in p.items() if k != 'device')}"
            for m, p, *_ in cases]


def device_of(params):
    return params.get("device", "-")


def assert_denied_as_write(resp, id):
    data = assert_error(resp, -32007, "PermissionDenied", id=id)
    assert data["class"] == "write", resp
    assert "write" in resp["error"]["message"], resp
    return data


def create_ns(c):
    """A new attached namespace: nsid 3 enters the Changed Namespace List."""
    nsid = c.call("nvme.ns_create", device="sim0", nsze=1024, lba_size=512)["nsid"]
    c.call("nvme.ns_attach", device="sim0", nsid=nsid)
    return nsid


@pytest.mark.parametrize("method,params,param,_root", SIDE_EFFECTS, ids=ids(SIDE_EFFECTS))
def test_side_effect_call_needs_write_class(d, method, params, param, _root):
    resp, = as_nobody(d.socket, [rpc(method, id=7, **params)])
    data = assert_denied_as_write(resp, 7)
    if param:  # a read method made write by a param: the error names it
        assert data["param"] == f"params.{param}", resp
        assert f"{method} with {param} " in resp["error"]["message"], resp
    else:
        assert "param" not in data, resp
    assert ("uid=65534 pid=" in d.stderr_text() and
            f"method={method} device={device_of(params)} outcome=PermissionDenied"
            in d.stderr_text())


@pytest.mark.parametrize("method,params,_param,root", SIDE_EFFECTS, ids=ids(SIDE_EFFECTS))
def test_side_effect_call_works_for_root_and_is_audited(d, method, params, _param, root):
    with d.raw() as conn:
        resp = conn.call(rpc(method, id=3, **params))
    if root == "ok":
        assert "result" in resp, resp
    else:  # authorized; the simulator has no such log / no MI backend
        assert resp["error"]["data"]["name"] == root, resp
    outcome = "ok" if root == "ok" else root
    line = f"method={method} device={device_of(params)} outcome={outcome}"
    assert [l for l in d.stderr_text().splitlines() if "audit:" in l and line in l], \
        d.stderr_text()


def test_read_variants_work_for_nobody_and_are_not_audited(d):
    with d.client() as c:  # a context to read, so the persistent event log reads succeed
        c.call("nvme.persistent_event_log", device="sim0", action="establish")
    replies = as_nobody(d.socket, [rpc(m, id=i, **p) for i, (m, p) in enumerate(READ_VARIANTS)])
    for (method, params), resp in zip(READ_VARIANTS, replies):
        if method == "nvme.zns.changed_zones":
            assert resp["error"]["data"]["name"] == "NvmeStatus", resp
        else:
            assert "result" in resp, (method, params, resp)
    nobody = [l for l in d.stderr_text().splitlines() if "audit: uid=65534" in l]
    assert nobody == [], nobody


def test_nobody_reading_changed_lists_does_not_clear_them(d):
    with d.client() as c:
        nsid = create_ns(c)
    got, = as_nobody(d.socket, [rpc("nvme.changed_ns_list", id=1, device="sim0")])
    assert nsid in got["result"]["nsid_list"], got
    with d.client() as c:  # still there: the unprivileged read retained the event
        assert nsid in c.call("nvme.changed_ns_list", device="sim0")["nsid_list"]
        assert nsid in c.call("nvme.changed_ns_list", device="sim0", rae=False)["nsid_list"]
        assert c.call("nvme.changed_ns_list", device="sim0")["nsid_list"] == []


def test_batch_elements_and_notifications_are_classified(d):
    with d.client() as c:
        nsid = create_ns(c)
        telemetry = c.call("nvme.telemetry_log", device="sim0")["data"]
    batch = [
        rpc("nvme.changed_ns_list", id="clear", device="sim0", rae=False),
        rpc("nvme.id_ctrl", id="ident", device="sim0"),
        {"jsonrpc": "2.0", "method": "nvme.telemetry_log",
         "params": {"device": "sim0", "create": True}},
        rpc("nvme.get_log", id="lsp", device="sim0", lid=7, length=512, lsp=1),
    ]
    notifications = [
        {"jsonrpc": "2.0", "method": "nvme.changed_ns_list",
         "params": {"device": "sim0", "rae": False}},
        {"jsonrpc": "2.0", "method": "nvme.ns_rescan", "params": {"device": "sim0"}},
        rpc("rpc.ping", id="after"),
    ]
    answers, *rest = as_nobody(d.socket, [batch] + notifications)
    by_id = {a["id"]: a for a in answers}
    assert set(by_id) == {"clear", "ident", "lsp"}, answers
    assert_denied_as_write(by_id["clear"], "clear")
    assert_denied_as_write(by_id["lsp"], "lsp")
    assert by_id["ident"]["result"]["sn"] == SIM_SN
    assert rest == [None, None, {"jsonrpc": "2.0", "id": "after", "result": "pong"}], rest
    with d.client() as c:  # nothing reached the device
        assert nsid in c.call("nvme.changed_ns_list", device="sim0")["nsid_list"]
        assert c.call("nvme.telemetry_log", device="sim0")["data"] == telemetry
    log = d.stderr_text()
    for method, times in (("nvme.changed_ns_list", 2), ("nvme.telemetry_log", 1),
                          ("nvme.get_log", 1), ("nvme.ns_rescan", 1)):
        denied = [l for l in log.splitlines() if "audit: uid=65534" in l and
                  f"method={method} " in l and l.endswith("outcome=PermissionDenied")]
        assert len(denied) == times, (method, log)


def test_telemetry_create_by_root_captures_new_data(d):
    """The write variant really has the side effect the class stands for."""
    with d.client() as c:
        before = base64.b64decode(c.call("nvme.telemetry_log", device="sim0")["data"])
        created = base64.b64decode(c.call("nvme.telemetry_log", device="sim0",
                                          create=True)["data"])
    assert before[512:] != created[512:]
