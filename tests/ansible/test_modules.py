"""Every module of nvmerpc.nvme against a daemon on the simulator, in one ansible-playbook run:
check mode reports the change and leaves the device as it was (its state read before and after
by snapshot.py, not by the collection), reports a diff, and reports exactly the operations and
diff the real run then makes; the real run changes the device; the second run is ok (changed=0)
and so is check mode after it; destructive modules refuse without confirm or force, in check
mode too, and leave the device alone; a failed call names the daemon's error and field."""
import os

import conftest
from conftest import FW_IMAGE, FW_REV, GIB, MIB, playbook, recap

SN = "NRANS0000000001"
M = "nvmerpc.nvme."

# (name, module, args, kind[, expected text]): kind "change" runs the whole sequence above,
# "refuse" expects a failure whose message names the missing option, "read" expects no change.
CASES = [
    ("info", "nvme_info", {}, "read"),
    ("feature", "nvme_feature", {"device": "sim0", "fid": 4, "fields": {"tmpth": 350},
                                 "save": True}, "change"),
    ("ns_create", "nvme_namespace", {"device": "sim0", "nsid": 3, "size": 64 * MIB,
                                     "lba_size": 4096}, "change"),
    ("ns_detach_noconfirm", "nvme_namespace", {"device": "sim0", "nsid": 3,
                                               "state": "detached"}, "refuse", "confirm"),
    ("ns_detach", "nvme_namespace", {"device": "sim0", "nsid": 3, "state": "detached",
                                     "confirm": SN}, "change"),
    ("ns_attach", "nvme_namespace", {"device": "sim0", "nsid": 3, "state": "attached"},
     "change"),
    ("ns_absent_wrongconfirm", "nvme_namespace", {"device": "sim0", "nsid": 3,
                                                  "state": "absent", "confirm": "NRSIM0000000001",
                                                  "force": True}, "refuse",
     "ConfirmationRequired"),
    ("ns_absent_noforce", "nvme_namespace", {"device": "sim0", "nsid": 3, "state": "absent",
                                             "confirm": SN}, "refuse", "force"),
    ("ns_absent", "nvme_namespace", {"device": "sim0", "nsid": 3, "state": "absent",
                                     "confirm": SN, "force": True}, "change"),
    ("fw_noforce", "nvme_firmware", {"device": "sim0", "revision": FW_REV, "image": FW_IMAGE,
                                     "slot": 2, "confirm": SN}, "refuse", "force"),
    ("fw", "nvme_firmware", {"device": "sim0", "revision": FW_REV, "image": FW_IMAGE,
                             "slot": 2, "confirm": SN, "force": True}, "change"),
    ("format_noforce", "nvme_format", {"device": "sim0", "nsid": 1, "lba_size": 4096,
                                       "confirm": SN}, "refuse", "force"),
    ("format_wrongconfirm", "nvme_format", {"device": "sim0", "nsid": 1, "lba_size": 4096,
                                            "force": True, "confirm": "NOTTHESERIAL"},
     "refuse", "ConfirmationRequired"),
    ("format", "nvme_format", {"device": "sim0", "nsid": 1, "lba_size": 4096, "confirm": SN,
                               "force": True}, "change"),
    ("zone_finish", "nvme_zone", {"device": "sim0", "nsid": 2, "action": "finish",
                                  "slba": 2048}, "change"),
    ("zone_reset_noforce", "nvme_zone", {"device": "sim0", "nsid": 2, "action": "reset",
                                         "state": "full", "confirm": SN}, "refuse", "force"),
    ("zone_reset", "nvme_zone", {"device": "sim0", "nsid": 2, "action": "reset",
                                 "state": "full", "confirm": SN, "force": True}, "change"),
    # A reset by slba too (the one-zone path; zone_reset above is the plan's, by state).
    ("zone_finish_4096", "nvme_zone", {"device": "sim0", "nsid": 2, "action": "finish",
                                       "slba": 4096}, "change"),
    ("zone_reset_slba_wrongconfirm", "nvme_zone", {"device": "sim0", "nsid": 2,
                                                   "action": "reset", "slba": 4096,
                                                   "confirm": "NRSIM0000000001", "force": True},
     "refuse", "ConfirmationRequired"),
    ("zone_reset_slba", "nvme_zone", {"device": "sim0", "nsid": 2, "action": "reset",
                                      "slba": 4096, "confirm": SN, "force": True}, "change"),
    ("selftest_noconfirm", "nvme_selftest", {"device": "sim0", "action": "short",
                                             "max_age_hours": 24}, "refuse",
     "ConfirmationRequired"),
    ("selftest", "nvme_selftest", {"device": "sim0", "action": "short", "max_age_hours": 24,
                                   "confirm": SN}, "change"),
    ("sanitize_noforce", "nvme_sanitize", {"device": "sim0", "action": "block",
                                           "confirm": SN}, "refuse", "force"),
    ("sanitize", "nvme_sanitize", {"device": "sim0", "action": "block", "confirm": SN,
                                   "force": True}, "change"),
    ("state_noforce", "nvme_state", {"device": "sim0", "confirm": SN, "desired": {
        "namespaces": [{"nsid": 1, "size": 2 * GIB}]}}, "refuse", "force"),
    ("state", "nvme_state", {"device": "sim0", "confirm": SN, "force": True, "desired": {
        "namespaces": [{"nsid": 1, "size": 2 * GIB, "lba_size": 512},
                       {"nsid": 3, "size": 32 * MIB}],
        "features": [{"fid": 8, "value": 257}]}}, "change"),
    # A refused call: the daemon's error name, message and field reach the user.
    ("invalid", "nvme_namespace", {"device": "sim0", "nsid": 4, "size": 1000}, "refuse",
     "InvalidParams"),
]


CHECKED_REFUSALS = ("ns_absent_noforce", "ns_absent_wrongconfirm", "format_wrongconfirm",
                    "zone_reset_slba_wrongconfirm")


def snap(var):
    """A task storing the device's state, read by snapshot.py (a lookup: no module run)."""
    cmd = f"{conftest.PYTHON} {conftest.SNAPSHOT} " + "{{ nvme_socket }}"
    return {"name": f"snapshot {var}",
            "ansible.builtin.set_fact": {var: "{{ lookup('pipe', '%s') }}" % cmd}}


def run(name, module, args, var, check):
    return {"name": f"{name}{' (check mode)' if check else ''}", M + module:
            dict(args, socket="{{ nvme_socket }}"), "register": var, "check_mode": check}


def assertion(name, that):
    return {"name": f"{name}: assert", "ansible.builtin.assert": {"that": that, "quiet": True}}


def change_tasks(name, module, args):
    v = name
    return [snap(f"{v}_b"), run(name, module, args, f"{v}_c", True), snap(f"{v}_cs"),
            run(name, module, args, f"{v}_r", False), snap(f"{v}_rs"),
            run(name + " again", module, args, f"{v}_s", False), snap(f"{v}_ss"),
            assertion(name, [
                f"{v}_c is changed", f"{v}_c.diff is defined", f"{v}_c.operations | length > 0",
                f"{v}_b == {v}_cs",                           # check mode changed nothing
                f"{v}_r is changed", f"{v}_r.operations == {v}_c.operations",  # honest
                f"{v}_r.diff == {v}_c.diff",
                f"{v}_rs != {v}_b",                           # the real run changed the device
                f"{v}_s is not changed", f"{v}_s.operations == []", f"{v}_ss == {v}_rs"])]


def refuse_tasks(name, module, args, text):
    """The refusal, in check mode too for the cases CHECKED_REFUSALS names (force and a wrong
    serial for a plan-based module, a wrong serial for a one-shot one: the same checks run
    before the check-mode branch in each kind)."""
    v = name
    tasks = [snap(f"{v}_b")]
    modes = (True, False) if name in CHECKED_REFUSALS else (False,)
    that = []
    for check in modes:
        task = run(name, module, args, f"{v}_{int(check)}", check)
        task["ignore_errors"] = True
        tasks.append(task)
        that += [f"{v}_{int(check)} is failed", f"'{text}' in {v}_{int(check)}.msg"]
    tasks += [snap(f"{v}_a"), assertion(name, that + [f"{v}_b == {v}_a"])]
    return tasks


def read_tasks(name, module, args):
    v = name
    return [snap(f"{v}_b"), run(name, module, args, f"{v}_c", True),
            run(name, module, args, f"{v}_r", False), snap(f"{v}_a"),
            assertion(name, [f"{v}_c is not changed", f"{v}_r is not changed",
                             f"{v}_b == {v}_a",
                             f"{v}_r.controllers.sim0.sn == '{SN}'",
                             f"{v}_r.namespaces.sim0n1.nsid == 1",
                             f"{v}_r.features.sim0['4'].value == 343",
                             f"{v}_r.firmware.sim0.frs1 == '1.0'",
                             f"{v}_r.smart.sim0.critical_warning == 0",
                             f"{v}_r.mi_endpoints == []", f"{v}_r.topology == {v}_c.topology",
                             f"{v}_r.controllers == {v}_c.controllers"])]


def tasks_for(case):
    name, module, args, kind = case[:4]
    if kind == "change":
        return change_tasks(name, module, args)
    if kind == "refuse":
        return refuse_tasks(name, module, args, case[4])
    return read_tasks(name, module, args)


def test_every_module_check_mode_idempotence_and_refusals(daemons, tmp_path):
    d = daemons(1)[0]
    modules = {c[1] for c in CASES}
    assert len(modules) == 9, modules
    assert {c[1] for c in CASES if c[3] == "change"} == modules - {"nvme_info"}
    tasks = [t for case in CASES for t in tasks_for(case)]
    # No daemon running: the module starts nvmerpcd --stdio itself.
    argv = [os.path.abspath(conftest.integration.DAEMON), "--stdio", "--simulate"]
    tasks.append({"name": "info over --stdio", "register": "stdio",
                  M + "nvme_info": {"stdio_command": argv, "gather_subset": ["controllers"]}})
    tasks.append(assertion("info over --stdio", [
        "stdio.controllers.sim0.sn == 'NRSIM0000000001'", "stdio is not changed"]))
    # The daemon's error, named, with its field.
    tasks.append(assertion("invalid names the field", [
        "invalid_0.error.name == 'InvalidParams'",
        "invalid_0.error.field == 'params.desired.namespaces[0].size'"]))
    plays = [{"name": "nvmerpc.nvme modules", "hosts": "sim", "gather_facts": False,
              "tasks": tasks}]
    before = conftest.snapshot(d)
    proc = playbook(tmp_path, plays, f"sim ansible_connection=local nvme_socket={d.socket}\n")
    assert proc.returncode == 0, proc.stdout[-4000:]
    counts = recap(proc.stdout)["sim"]
    assert counts["failed"] == 0 and counts["unreachable"] == 0, counts
    # Each change case changed twice (check mode and the real run); each refusal failed (and
    # was ignored) once, or twice with check mode.
    changes = sum(1 for c in CASES if c[3] == "change")
    refusals = sum(1 for c in CASES if c[3] == "refuse") + len(CHECKED_REFUSALS)
    assert counts["changed"] == 2 * changes, counts
    assert counts["ignored"] == refusals, counts
    # --diff printed the plans' before and after.
    assert proc.stdout.count("--- before") >= changes, proc.stdout[-2000:]
    after = conftest.snapshot(d)
    assert after["fw_log"]["frs2"] == FW_REV and after["sanitize"] == "success"
    assert after["namespaces"]["1"]["nsze"] == 2 * GIB // 512 and before != after
