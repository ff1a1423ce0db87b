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


# Runs in the guest (chrooted into the host's root): a daemon of its own on a Unix socket there,
# so that peers can vanish as they would on a host (the suite's --stdio port blocks a writer
# while the host is away, which is the harness's, not the daemon's). argv: daemon, controllers.
PEER_GONE = r"""
import json, os, signal, socket, subprocess, sys, time
daemon, ctrls = sys.argv[1], sys.argv[2].split(",")
path = f"/run/nr-uring-{os.getpid()}.sock"  # /run: the guest's tmpfs over the read-only host root
proc = subprocess.Popen([daemon, "--socket", path, "--log-level", "warn", "--max-queue", "512"],
                        stderr=subprocess.PIPE, text=True)
def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return s
deadline = time.monotonic() + 30
while not os.path.exists(path) and time.monotonic() < deadline and proc.poll() is None:
    time.sleep(0.02)
if not os.path.exists(path):
    proc.kill()
    sys.exit(f"the daemon did not serve {path}: exit {proc.wait()}: {proc.stderr.read()}")
def burst(n):
    out = []
    for i in range(n):
        for c in ctrls:
            out.append({"jsonrpc": "2.0", "id": len(out), "method": "nvme.id_ctrl",
                        "params": {"device": c}})
            out.append({"jsonrpc": "2.0", "id": len(out), "method": "nvme.get_log",
                        "params": {"device": c, "lid": 1, "length": 4096}})
    return "".join(json.dumps(r) + "\n" for r in out).encode(), len(out)
def answers(s, want, timeout=60):
    s.settimeout(timeout)
    buf, got = b"", 0
    while got < want:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
        got = buf.count(b"\n")
    return [json.loads(line) for line in buf.splitlines()]
# Peers that send a burst and vanish at different points: at once, after a few ms, after
# reading part of the answers.
cuts = 0
for r in range(24):
    s = connect()
    data, n = burst(8)
    s.sendall(data)
    if r % 3 == 1:
        time.sleep(0.001 * r)
    elif r % 3 == 2:
        answers(s, n // 4)
    s.close()
    cuts += 1
s = connect()
data, n = burst(2)
s.sendall(data)
served = answers(s, n)
s.close()
# SIGTERM with commands in flight: every call answered, then exit 0.
s = connect()
data, n = burst(16)
s.sendall(data)
time.sleep(0.005)
proc.send_signal(signal.SIGTERM)
last = answers(s, n)
rc = proc.wait(90)
print(json.dumps({"cuts": cuts, "served": served, "n_served": len(served),
                  "last": len(last), "n_last": n, "rc": rc, "stderr": proc.stderr.read()[-4000:]}))
"""


def test_io_uring_peers_gone_and_sigterm_with_commands_in_flight(c, guest):
    """Peers that vanish with io_uring commands in flight and answers unread (at once, after a
    few ms, after reading part), then SIGTERM with commands in flight: the daemon keeps
    serving, frees nothing a command still uses, answers every call of the last peer and
    exits 0."""
    from conftest import DAEMON
    ctrls = [ct["name"] for sub in c.nvme_list()["subsystems"] if sub["backend"] == "passthru"
             for ct in sub["controllers"]]
    out = guest.run_json(["/usr/bin/python3", "-c", PEER_GONE, DAEMON, ",".join(ctrls)],
                         timeout=300)
    assert out["rc"] == 0, out["stderr"]
    assert out["cuts"] == 24
    assert out["n_served"] == 4 * len(ctrls), out
    assert all("result" in a for a in out["served"]), out["served"]
    assert out["last"] == out["n_last"], out
    assert "ERROR" not in out["stderr"].upper() or not out["stderr"], out["stderr"]
