"""The collection's JSON-RPC client (plugins/module_utils/nvmerpc.py) on its own, against the
real daemon over its socket and over --stdio, and checked to stay in step with the schema: every
method it or a module calls exists, with every parameter name it passes."""
import ast
import glob
import importlib.util
import json
import os
import socket
import threading

import pytest

import conftest

_spec = importlib.util.spec_from_file_location(
    "nvmerpc_module_utils", os.path.join(conftest.COLLECTION, "plugins", "module_utils",
                                         "nvmerpc.py"))
mu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mu)

SN = "NRANS0000000001"


@pytest.fixture
def daemon(daemons):
    return daemons(1)[0]


def test_call_returns_the_result(daemon):
    with mu.Client(daemon.socket, timeout=30) as c:
        assert c.call("nvme.id_ctrl", device="sim0")["sn"].strip() == SN
        assert c.call("nvme.list")["subsystems"][0]["controllers"][0]["name"] == "sim0"


def test_error_names_the_field(daemon):
    with mu.Client(daemon.socket, timeout=30) as c:
        with pytest.raises(mu.RpcError) as e:
            c.call("nvme.plan", device="sim0", desired={"namespaces": [{"nsid": 1, "sise": 5}]})
        got = e.value.as_dict()
        assert (got["name"], got["code"]) == ("InvalidParams", -32602)
        assert got["field"] == "params.desired.namespaces[0].sise" and "hint" not in got
        with pytest.raises(mu.RpcError) as e:
            c.call("nvme.no_such_method")
        assert e.value.name == "MethodNotFound"
        # The connection goes on after errors.
        assert c.call("nvme.id_ctrl", device="sim0")["sn"].strip() == SN


def test_confirmation_required_says_what_to_set(daemon):
    with mu.Client(daemon.socket, timeout=30) as c:
        with pytest.raises(mu.RpcError) as e:
            c.call("nvme.format", device="sim0", nsid=1, lbaf=1)
    got = e.value.as_dict()
    assert got["name"] == "ConfirmationRequired" and "confirm" in got["hint"]


def _apply_as_nobody(path):
    try:
        mu.Client(path, timeout=30).call("nvme.apply", device="sim0",
                                         desired={"features": [{"fid": 4, "value": 350}]})
    except mu.RpcError as e:
        got = e.as_dict()
        assert got["name"] == "PermissionDenied", got
        assert "policy" in got["hint"] and "become" in got["hint"], got
        return
    raise AssertionError("uid 65534 applied a change")


def test_permission_denied_says_what_to_change(daemon):
    assert conftest.integration.fork_as_nobody(_apply_as_nobody, daemon.socket) == 0


def test_stream_items_are_collected_before_the_answer(daemon):
    with mu.Client(daemon.socket, timeout=30) as c:
        summary = c.call("nvme.zns.report_zones", device="sim0n2", stream=True)
        assert len(c.stream_items) == 16 and summary is not None
        assert {z["state"] for z in c.stream_items} == {"EMPTY"}


def test_stdio_command_spawns_the_daemon():
    argv = [conftest.integration.DAEMON, "--stdio", "--simulate"]
    c = mu.Client(stdio_command=argv, timeout=30)
    assert c.call("nvme.id_ctrl", device="sim0")["sn"] == "NRSIM0000000001"
    proc = c._proc
    c.close()
    assert proc.returncode == 0
    # A string is split as a shell would.
    with mu.Client(stdio_command=" ".join(argv), timeout=30) as c:
        assert c.call("nvme.list")["subsystems"]


def test_stdio_daemon_log_never_fills_a_pipe():
    # Every write call is audited on the daemon's stderr: more than a pipe holds (64 KiB) must
    # not stop it.
    argv = [conftest.integration.DAEMON, "--stdio", "--simulate"]
    with mu.Client(stdio_command=argv, timeout=30) as c:
        for i in range(600):
            c.call("nvme.set_feature", device="sim0", fid=4, value=300 + i % 50)
        c._stderr.seek(0, os.SEEK_END)
        assert c._stderr.tell() > 65536


def test_stdio_daemon_that_exits_is_quoted(tmp_path):
    argv = [conftest.integration.DAEMON, "--stdio", f"--simulate={tmp_path}/none.json"]
    with mu.Client(stdio_command=argv, timeout=30) as c:
        with pytest.raises(mu.TransportError, match="closed the connection: .*none.json"):
            c.call("nvme.list")


def test_unreachable_and_silent_daemons_are_transport_errors(tmp_path):
    with pytest.raises(mu.TransportError, match="cannot connect"):
        mu.Client(str(tmp_path / "none.sock"), timeout=5)
    with pytest.raises(mu.TransportError, match="cannot run"):
        mu.Client(stdio_command=[str(tmp_path / "no-such-daemon")])
    # A peer that answers garbage.
    garbage = mu.Client(stdio_command=["/bin/sh", "-c", "read x; echo 'not json'; read y"],
                        timeout=5)
    with pytest.raises(mu.TransportError, match="not a JSON-RPC answer"):
        garbage.call("nvme.list")
    garbage.close()
    path = str(tmp_path / "silent.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    with mu.Client(path, timeout=1) as c:
        with pytest.raises(mu.TransportError, match="within 1 s"):
            c.call("nvme.list")
    server.close()


def test_loses_data_and_refusal():
    ops = [{"method": "nvme.ns_create", "params": {}, "class": "write", "sentence": "create"},
           {"method": "nvme.ns_detach", "params": {}, "class": "destructive", "sentence": "det"}]
    assert mu.refusal(ops, None, False).startswith("confirm")
    assert mu.refusal(ops, SN, False) is None
    for op, loses in ((("nvme.ns_delete", {}), True), (("nvme.format", {}), True),
                      (("nvme.zns.mgmt_send", {"action": "reset"}), True),
                      (("nvme.zns.mgmt_send", {"action": "finish"}), False),
                      (("nvme.fw_commit", {"action": "replace"}), False),
                      (("nvme.fw_commit", {"action": "replace_activate"}), True),
                      (("nvme.set_feature", {}), False)):
        assert mu.loses_data({"method": op[0], "params": op[1]}) is loses, op
    ops.append({"method": "nvme.ns_delete", "params": {}, "class": "destructive",
                "sentence": "delete 3"})
    assert "delete 3" in mu.refusal(ops, SN, False) and mu.refusal(ops, SN, True) is None


# -- in step with the schema -----------------------------------------------------------------

def _keys_of(func, name):
    """The parameter names a dict variable @name gets in @func: dict(...) keywords, string
    subscripts, and the strings of tuples a loop assigning @name[key] iterates."""
    keys = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                for t in node.targets):
            if isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "dict":
                keys |= {k.arg for k in node.value.keywords if k.arg}
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == name:
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                keys.add(node.slice.value)
        if isinstance(node, ast.For) and isinstance(node.iter, ast.Tuple):
            if any(isinstance(n, ast.Subscript) and getattr(n.value, "id", "") == name
                   for n in ast.walk(node)):
                keys |= {e.value for e in node.iter.elts if isinstance(e, ast.Constant)}
    return keys


def collected_calls():
    """(file, method, {param names}) for every call of a daemon method in the collection:
    client.call('m', ...) and call_or_fail(module, client, 'm', ...)."""
    found = []
    files = glob.glob(os.path.join(conftest.COLLECTION, "plugins", "*", "*.py"))
    for path in files:
        tree = ast.parse(open(path).read())
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for node in ast.walk(func):
                if not isinstance(node, ast.Call):
                    continue
                callee = getattr(node.func, "attr", getattr(node.func, "id", ""))
                pos = {"call": 0, "call_or_fail": 2}.get(callee)
                if pos is None or len(node.args) <= pos:
                    continue
                arg = node.args[pos]
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    continue
                params = set()
                for k in node.keywords:
                    if k.arg:
                        params.add(k.arg)
                    elif isinstance(k.value, ast.Name):
                        params |= _keys_of(func, k.value.id)
                found.append((os.path.basename(path), arg.value, params))
    return found


def test_every_method_and_param_used_exists_in_the_schema():
    path = os.environ.get("NR_OPENRPC") or os.path.join(conftest.SOURCE_DIR, "build",
                                                        "openrpc.json")
    with open(path) as f:
        methods = {m["name"]: {p["name"] for p in m["params"]} for m in json.load(f)["methods"]}
    calls = collected_calls()
    used = {m for _, m, _ in calls}
    # The walk sees what the modules call; a walk that finds nothing would prove nothing.
    assert {"nvme.plan", "nvme.apply", "nvme.format", "nvme.sanitize", "nvme.self_test",
            "nvme.zns.mgmt_send", "nvme.id_ns", "nvme.list"} <= used, used
    for where, method, params in calls:
        assert method in methods, f"{where}: {method} is not in the schema"
        assert params <= methods[method], f"{where}: {method} has no {params - methods[method]}"
    # The walk finds the params built in a dict and passed with **.
    fmt = [p for w, m, p in calls if m == "nvme.format"]
    assert fmt and {"device", "nsid", "lbaf", "ses", "wait", "confirm"} <= fmt[0], fmt
    san = [p for w, m, p in calls if m == "nvme.sanitize"]
    assert san and {"ause", "nodas", "owpass", "ovrpat", "confirm"} <= san[0], san


def test_the_schema_check_can_fail(tmp_path):
    # A misspelt param is caught: the same check on a call the schema does not have.
    methods = {"nvme.id_ns": {"device", "nsid"}}
    tree = ast.parse("def f(module, client):\n"
                     "    p = dict(device='x', nsidd=1)\n"
                     "    call_or_fail(module, client, 'nvme.id_ns', **p)\n")
    func = tree.body[0]
    assert _keys_of(func, "p") == {"device", "nsidd"}
    assert not _keys_of(func, "p") <= methods["nvme.id_ns"]
