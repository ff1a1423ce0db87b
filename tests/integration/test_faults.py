"""Fault injection in the simulator (sim.fault and the description's
"faults"): an injected NVMe status, removal, and a hang that costs only its
own device's queue. Orderings are proven by what arrives first on one
connection, not by timing: a held command is seen held (sim.fault's "held")
before the calls that must overtake it are sent.
"""
import re
import time

from conftest import SIM_SN, as_nobody, assert_error, assert_result, rpc, sim_json

TIMEOUT_MS = 4000  # long enough that every ordering below is decided well before it
ABORT_REQUESTED = 0x07  # Command Abort Requested (SCT 0)


def sims(count, faults=None):
    """@count controllers, each in its own subsystem; @faults maps an index
    to that controller's "faults"."""
    faults = faults or {}
    subsystems = []
    for i in range(count):
        ctrl = {"sn": f"FAULT{i:04d}", "cntlid": 1}
        if i in faults:
            ctrl["faults"] = faults[i]
        subsystems.append({"nqn": f"nqn.2026-11.io.nvmerpcd:faults{i}", "controllers": [ctrl],
                           "namespaces": [{"nsid": 1, "blocks": 2048}]})
    return sim_json(subsystems)


def fault(conn, id, **params):
    return assert_result(conn.call(rpc("sim.fault", id=id, **params)), id)["faults"]


def wait_held(conn, device, held=1, deadline_s=10.0):
    """Polls sim.fault (it does not queue on the device) until @device holds
    @held commands: the hung call is on the device, not waiting for a thread."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if fault(conn, f"poll-{device}", device=device)["held"] == held:
            return
        time.sleep(0.01)
    raise AssertionError(f"{device} never held {held} commands")


def start(daemon, count, threads=4, faults=None):
    return daemon(args=["--no-passthru", "--timeout-ms", str(TIMEOUT_MS), "--threads",
                        str(threads)], sim=sims(count, faults))


def id_ctrl(id, device):
    return rpc("nvme.id_ctrl", id=id, device=device)


def ctrl_names(topology):
    return [c["name"] for s in topology["subsystems"] for c in s["controllers"]]


def error_log_statuses(conn, device):
    resp = conn.call(rpc("nvme.error_log", id="elog", device=device))
    return [e["status_field"] for e in assert_result(resp, "elog")["errors"]
            if e["error_count"]]


def test_injected_status_is_nvme_status_with_its_sct_and_sc(daemon):
    d = start(daemon, 1)
    with d.raw() as conn:
        got = fault(conn, 1, device="sim0",
                    status={"sct": 1, "sc": 0x06, "opcode": 0x06, "count": 1})
        assert got["status"] == {"sct": 1, "sc": 6, "dnr": True, "opcode": 6, "count": 1}
        # Another opcode is not hit (SMART is Get Log Page, 02h).
        assert_result(conn.call(rpc("nvme.smart_log", id=2, device="sim0")), 2)
        data = assert_error(conn.call(id_ctrl(3, "sim0")), -32004, "NvmeStatus", id=3)
        assert (data["sct"], data["sc"], data["dnr"]) == (1, 0x06, True)
        # count 1: the fault is spent.
        assert_result(conn.call(id_ctrl(4, "sim0")), 4)
        assert "status" not in fault(conn, 5, device="sim0")
        assert error_log_statuses(conn, "sim0")[0] == 0x4106


def test_hung_device_costs_only_its_own_queue(daemon):
    """One worker thread: if a held command kept it, sim1 could not answer
    before sim0's Timeout."""
    d = start(daemon, 2, threads=1)
    with d.raw() as conn:
        fault(conn, "f", device="sim0", hang={})
        conn.send(id_ctrl("hung", "sim0"))
        wait_held(conn, "sim0")
        for i in range(5):
            resp = conn.call(id_ctrl(i, "sim1"))
            assert resp.get("id") == i, f"sim1 answered after the hung call: {resp}"
            assert assert_result(resp, i)["sn"] == "FAULT0001"
        fault(conn, "clear", device="sim0", clear=True)
        assert_error(conn.recv(), -32003, "Timeout", id="hung")


def test_timeout_aborts_the_held_command_and_the_queue_moves_on(daemon):
    d = start(daemon, 1)
    with d.raw(timeout=TIMEOUT_MS / 1000 * 3) as conn:
        fault(conn, "f", device="sim0", hang={"count": 1})
        conn.send(id_ctrl("a", "sim0"))
        conn.send(id_ctrl("b", "sim0"))  # waits behind a in the device's FIFO
        assert_error(conn.recv(), -32003, "Timeout", id="a")
        assert assert_result(conn.recv(), "b")["sn"] == "FAULT0000"
        assert fault(conn, "g", device="sim0")["held"] == 0
        status = error_log_statuses(conn, "sim0")[0]
        assert (status >> 8 & 7, status & 0xff) == (0, ABORT_REQUESTED)


def audit_outcomes(d, method):
    return re.findall(rf"audit: .*method={re.escape(method)} .*outcome=(\S+)", d.stderr_text())


def test_timeout_aborts_a_held_write_answered_early(daemon):
    """A write answered Timeout lives on until the device's outcome: the
    abort is that outcome (audited Cancelled), and the queue moves on."""
    d = start(daemon, 1)
    with d.raw(timeout=TIMEOUT_MS / 1000 * 3) as conn:
        fault(conn, "f", device="sim0", hang={"opcode": 0x09, "count": 1})  # Set Features
        conn.send(rpc("nvme.set_feature", id="w", device="sim0", fid=0x0b, value=0))
        conn.send(id_ctrl("b", "sim0"))
        assert_error(conn.recv(), -32003, "Timeout", id="w")
        assert_result(conn.recv(), "b")
        assert fault(conn, "g", device="sim0")["held"] == 0
    assert audit_outcomes(d, "nvme.set_feature") == ["Timeout", "Cancelled"]


def test_queue_moves_on_once_the_hang_is_cleared(daemon):
    d = start(daemon, 1)
    with d.raw(timeout=TIMEOUT_MS / 1000 * 3) as conn:
        fault(conn, "f", device="sim0", hang={})  # every command, no count
        conn.send(id_ctrl("a", "sim0"))
        wait_held(conn, "sim0")
        conn.send(id_ctrl("b", "sim0"))
        assert fault(conn, "clear", device="sim0", clear=True)["held"] == 1
        assert_error(conn.recv(), -32003, "Timeout", id="a")
        assert_result(conn.recv(), "b")


def test_more_hung_devices_than_threads_do_not_starve_a_healthy_one(daemon):
    d = start(daemon, 4, threads=2)
    with d.raw(timeout=TIMEOUT_MS / 1000 * 3) as conn:
        for dev in ("sim0", "sim1", "sim2"):
            fault(conn, f"f-{dev}", device=dev, hang={})
            conn.send(id_ctrl(f"hung-{dev}", dev))
        for dev in ("sim0", "sim1", "sim2"):
            wait_held(conn, dev)
        for i in range(8):
            resp = conn.call(id_ctrl(i, "sim3"))
            assert resp.get("id") == i, f"sim3 answered after a hung call: {resp}"
        for dev in ("sim0", "sim1", "sim2"):
            fault(conn, f"c-{dev}", device=dev, clear=True)
        timeouts = [conn.recv() for _ in range(3)]
        for resp in timeouts:
            assert_error(resp, -32003, "Timeout")
        assert {r["id"] for r in timeouts} == {"hung-sim0", "hung-sim1", "hung-sim2"}


def test_a_call_ended_early_aborts_its_held_command(daemon):
    """rpc.cancel of a read whose command is held: the FIFO moves on at once,
    long before the timeout would."""
    d = start(daemon, 1)
    with d.raw() as conn:
        fault(conn, "f", device="sim0", hang={"count": 1})
        conn.send(id_ctrl("a", "sim0"))
        wait_held(conn, "sim0")
        conn.send(id_ctrl("b", "sim0"))
        conn.send(rpc("rpc.cancel", id="c", params={"id": "a"}))
        replies = {r["id"]: r for r in (conn.recv(), conn.recv(), conn.recv())}
        assert assert_result(replies["c"], "c") == {"cancelled": True}
        assert_error(replies["a"], -32010, "Cancelled")
        assert_result(replies["b"], "b")
        assert fault(conn, "g", device="sim0")["held"] == 0


def test_removed_controller_is_device_not_found_and_rescan_unlists_it(daemon):
    d = start(daemon, 2)
    with d.raw() as conn:
        assert fault(conn, 1, device="sim0", removed=True)["removed"] is True
        assert_error(conn.call(id_ctrl(2, "sim0")), -32001, "DeviceNotFound", id=2)
        assert_error(conn.call(rpc("nvme.smart_log", id=3, device="sim0n1")), -32001,
                     "DeviceNotFound", id=3)
        assert_result(conn.call(id_ctrl(4, "sim1")), 4)
        listed = assert_result(conn.call(rpc("nvme.rescan", id=5)), 5)
        assert ctrl_names(listed) == ["sim1"], listed
        assert_error(conn.call(id_ctrl(6, "sim0")), -32001, "DeviceNotFound", id=6)
        assert_error(conn.call(rpc("sim.fault", id=7, device="sim0", clear=True)), -32001,
                     "DeviceNotFound", id=7)


def test_description_faults_hit_clients_commands(daemon):
    d = start(daemon, 3, faults={
        0: {"status": {"sct": 0, "sc": 0x02, "opcode": 0x02, "dnr": False}},
        1: {"removed": True},
        2: {"delay_us": 1000, "hang": {"opcode": 0x02, "queue": "admin", "count": 1}}})
    with d.raw(timeout=TIMEOUT_MS / 1000 * 3) as conn:
        # The daemon learnt every controller (its Identify was spared).
        listed = assert_result(conn.call(rpc("nvme.list", id=1)), 1)
        assert ctrl_names(listed) == ["sim0", "sim1", "sim2"]
        data = assert_error(conn.call(rpc("nvme.smart_log", id=2, device="sim0")), -32004,
                            "NvmeStatus")
        assert (data["sct"], data["sc"], data["dnr"]) == (0, 2, False)
        assert_error(conn.call(id_ctrl(3, "sim1")), -32001, "DeviceNotFound")
        listed = assert_result(conn.call(rpc("nvme.rescan", id=4)), 4)
        assert ctrl_names(listed) == ["sim0", "sim2"]
        assert fault(conn, 5, device="sim2")["delay_us"] == 1000
        assert_error(conn.call(rpc("nvme.smart_log", id=6, device="sim2")), -32003, "Timeout")
        assert_result(conn.call(rpc("nvme.smart_log", id=7, device="sim2")), 7)


def test_invalid_fault_names_the_field(daemon):
    d = start(daemon, 1)
    with d.raw() as conn:
        resp = conn.call(rpc("sim.fault", id=1, device="sim0", status={"sct": 0, "sc": 0}))
        data = assert_error(resp, -32602, "InvalidParams", id=1, field="params.status")
        assert "success" in data["reason"]
        resp = conn.call(rpc("sim.fault", id=2, device="sim0", hang={"queue": "sq"}))
        assert_error(resp, -32602, "InvalidParams", id=2, field="params.hang.queue")


def test_fault_method_is_method_not_found_without_simulate(daemon, schema):
    d = daemon(args=["--no-passthru"], simulate=False)
    with d.raw() as conn:
        assert_error(conn.call(rpc("sim.fault", id=1, device="sim0", clear=True)), -32601,
                     "MethodNotFound", id=1)
        doc = assert_result(conn.call(rpc("rpc.discover", id=2)), 2)
        served = [m["name"] for m in doc["methods"]]
        assert "sim.fault" not in served
        assert served == [m["name"] for m in schema["methods"] if not m.get("x-test-only")]
    with daemon().raw() as conn:
        doc = assert_result(conn.call(rpc("rpc.discover", id=3)), 3)
        assert "sim.fault" in [m["name"] for m in doc["methods"]]


def test_fault_method_is_permission_denied_for_nobody(daemon):
    d = daemon()
    resp, = as_nobody(d.socket, [rpc("sim.fault", id=1, device="sim0", removed=True)])
    data = assert_error(resp, -32007, "PermissionDenied", id=1)
    assert data["class"] == "write"
    with d.raw() as conn:
        assert fault(conn, 2, device="sim0")["removed"] is False
        assert assert_result(conn.call(id_ctrl(3, "sim0")), 3)["sn"] == SIM_SN
