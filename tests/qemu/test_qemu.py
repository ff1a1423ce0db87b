"""nvmerpcd on real NVMe: QEMU's emulated controllers and the kernel's nvmet over nvme-loop.

One guest boot per session (conftest.py). The daemon runs in the guest with its default backend
(passthru: the guest's /dev/nvme* through the real Linux nvme driver); this suite talks to it
over a virtio-serial port exactly as to the daemon's Unix socket, and compares what it answers
with the guest's sysfs and with nvme-cli 2.3 (`-o json`) run in the guest on the same devices.
Read-only tests run on every controller and namespace, nvmet's included; zone management runs
on QEMU's zoned namespace only.
"""
import json
import re

import pytest

import nvmerpc
import guest as guest_mod
from conftest import helpers

assert_error = helpers.assert_error
MASK64 = (1 << 64) - 1
# SMART fields that move on their own between two reads (I/O by the kernel, time).
SMART_TICKING = {"data_units_read", "data_units_written", "host_read_commands",
                 "host_write_commands", "controller_busy_time", "power_on_hours"}
QEMU_CTRLS = ("qemu0", "qemu1")
ALL_CTRLS = QEMU_CTRLS + ("nvmet",)
ALL_NS = ("shared", "zoned", "nvmet")
# nvme-cli 2.3 prints slba, wp, cap, state, type and attrs per zone (no attrs_info).
ZONE_KEYS_SHARED = 6
SYSFS_SNAPSHOT = r"""
import glob, json, os
def r(d, f):
    with open(os.path.join(d, f)) as fh:
        return fh.read().strip()
ctrls = {os.path.basename(d): {"sn": r(d, "serial"), "mn": r(d, "model"), "fr": r(d, "firmware_rev"),
                               "cntlid": int(r(d, "cntlid")), "subsysnqn": r(d, "subsysnqn"),
                               "transport": r(d, "transport")}
         for d in sorted(glob.glob("/sys/class/nvme/nvme*"))}
heads = {}
for d in sorted(glob.glob("/sys/block/nvme*n*")):
    name = os.path.basename(d)
    if "c" in name[4:]:
        continue  # a multipath path (nvme0c1n1), not a namespace head
    heads[name] = {"nsid": int(r(d, "nsid")), "zoned": r(d, "queue/zoned"),
                   "bytes": int(r(d, "size")) * 512,
                   "lba_size": int(r(d, "queue/logical_block_size"))}
print(json.dumps({"controllers": ctrls, "namespaces": heads}))
"""


# -- fixtures: the topology, by role ------------------------------------------

@pytest.fixture(scope="session")
def topo(c, validate_result):
    return validate_result("nvme.list", c.nvme_list())


@pytest.fixture(scope="session")
def sysfs(guest):
    return guest.run_json(["/usr/bin/python3", "-c", SYSFS_SNAPSHOT])


@pytest.fixture(scope="session")
def roles(topo):
    """Role name -> (subsystem, controller or namespace entry) from nvme.list."""
    found = {}
    for sub in topo["subsystems"]:
        ctrls = sub["controllers"]
        if any(ct["sn"] == guest_mod.SERIAL for ct in ctrls):
            for i, ct in enumerate(sorted(ctrls, key=lambda ct: ct["cntlid"])):
                found[f"qemu{i}"] = (sub, ct)
            for ns in sub["namespaces"]:
                role = {1: "shared", 2: "zoned", 3: "detached"}.get(ns["nsid"])
                if role:
                    found[role] = (sub, ns)
        elif any(ct["mn"] == "Linux" for ct in ctrls):
            found["nvmet"] = (sub, ctrls[0])
            if sub["namespaces"]:
                found["nvmet_ns"] = (sub, sub["namespaces"][0])
    return found


def _role(roles, topo, role):
    if role not in roles:
        pytest.fail(f"no {role} device in nvme.list: {json.dumps(topo)[:3000]}")
    return roles[role]


@pytest.fixture
def ctrl(request, roles, topo):
    """The controller entry of role request.param."""
    return _role(roles, topo, request.param)[1]


@pytest.fixture
def ns(request, roles, topo):
    """(namespace entry, controller entry serving it) of role request.param."""
    role = "nvmet_ns" if request.param == "nvmet" else request.param
    sub, entry = _role(roles, topo, role)
    served_by = [ct for ct in sub["controllers"] if entry["name"] in ct["namespaces"]]
    assert served_by, f"no controller lists {entry['name']}: {sub}"
    return entry, served_by[0]


@pytest.fixture(scope="session")
def zoned(roles, topo):
    return _role(roles, topo, "zoned")[1]


# -- comparisons with nvme-cli ------------------------------------------------

def same_value(ours, theirs):
    """Equal under docs/nvme-cli-differences.md: trailing padding of strings, 128-bit counters
    as decimal strings, 64-bit values above 2^63-1 as their two's complement."""
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours == theirs
    if isinstance(ours, str) and isinstance(theirs, str):
        if ours.isdigit() and theirs.isdigit():
            return int(ours) == int(theirs)
        return ours == theirs.rstrip(" \0")
    if isinstance(ours, (int, str)) and isinstance(theirs, (int, str)):
        try:
            return int(ours) & MASK64 == int(theirs) & MASK64
        except ValueError:
            return False
    return ours == theirs


def diff_shared(ours, theirs, path="", skip=()):
    """Returns (shared leaf count, mismatches) over the keys both objects have."""
    shared, bad = 0, []
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in ours.keys() & theirs.keys():
            if key in skip:
                continue
            n, b = diff_shared(ours[key], theirs[key], f"{path}.{key}", skip)
            shared, bad = shared + n, bad + b
        return shared, bad
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return 1, [f"{path}: {len(ours)} items, nvme-cli {len(theirs)}"]
        for i, (o, t) in enumerate(zip(ours, theirs)):
            n, b = diff_shared(o, t, f"{path}[{i}]", skip)
            shared, bad = shared + n, bad + b
        return shared, bad
    if same_value(ours, theirs):
        return 1, []
    return 1, [f"{path}: ours {ours!r}, nvme-cli {theirs!r}"]


def assert_agrees(ours, theirs, min_shared, skip=()):
    shared, bad = diff_shared(ours, theirs, skip=set(skip))
    assert not bad, "differs from nvme-cli:\n" + "\n".join(bad)
    assert shared >= min_shared, f"only {shared} keys shared with nvme-cli"


def nvme_cli(guest, *args):
    return guest.run_json(["nvme", *args, "-o", "json"])


def nvme_cli_status(guest, *args):
    """Runs nvme-cli expecting an NVMe status error; returns the status word it prints."""
    rc, out, err = guest.run(["nvme", *args])
    found = re.search(r"NVMe status: .*\(0x([0-9a-fA-F]+)\)", out + err)
    assert rc != 0 and found, f"nvme {' '.join(args)}: rc {rc}, {out} {err}"
    return int(found.group(1), 16)


# -- the daemon over virtio-serial --------------------------------------------

def test_ping_and_info(c, validate_result):
    assert validate_result("rpc.ping", c.rpc_ping()) == "pong"
    info = validate_result("server.info", c.server_info())
    assert "passthru" in info["backends"], info


def test_protocol_errors_over_virtio_serial(c):
    c.send_raw(b'{"jsonrpc":"2.0","id":1,"method"\n')
    assert_error(c.recv(), -32700, "ParseError", id=None)
    c.send_raw(b'{"jsonrpc":"2.0","id":"x","method":"no.such"}\n')
    assert_error(c.recv(), -32601, "MethodNotFound", id="x")
    assert c.rpc_ping() == "pong"


def test_discover_is_the_schema(c, schema, validate_result):
    doc = validate_result("rpc.discover", c.rpc_discover())
    assert doc["methods"] == schema["methods"]


# -- nvme.list against the guest kernel ----------------------------------------

def test_list_matches_kernel(topo, sysfs):
    ctrls = {ct["name"]: (sub, ct) for sub in topo["subsystems"] for ct in sub["controllers"]}
    assert set(ctrls) == set(sysfs["controllers"]), (topo, sysfs)
    for name, kernel in sysfs["controllers"].items():
        sub, ct = ctrls[name]
        assert (ct["sn"], ct["mn"], ct["fr"], ct["cntlid"]) == \
            (kernel["sn"], kernel["mn"], kernel["fr"], kernel["cntlid"]), (ct, kernel)
        assert ct["backend"] == "passthru" and sub["backend"] == "passthru", sub
        assert sub["nqn"] == kernel["subsysnqn"], (sub["nqn"], kernel)
    nss = {ns["name"]: ns for sub in topo["subsystems"] for ns in sub["namespaces"]}
    assert set(nss) == set(sysfs["namespaces"]), (topo, sysfs)
    for name, kernel in sysfs["namespaces"].items():
        ns = nss[name]
        assert ns["nsid"] == kernel["nsid"], (ns, kernel)
        assert ns["lba_size"] == kernel["lba_size"], (ns, kernel)
        assert ns["nsze"] * ns["lba_size"] == kernel["bytes"], (ns, kernel)
        assert ns["csi"] == ("zns" if kernel["zoned"] == "host-managed" else "nvm"), (ns, kernel)


def test_list_topology(topo, roles):
    qemu = [r for r in ("qemu0", "qemu1", "shared", "zoned", "nvmet", "nvmet_ns") if r in roles]
    assert qemu == ["qemu0", "qemu1", "shared", "zoned", "nvmet", "nvmet_ns"], topo
    sub = roles["qemu0"][0]
    assert sub["nqn"].endswith(guest_mod.SUBSYS_NQN), sub["nqn"]
    assert len(sub["controllers"]) == guest_mod.CONTROLLERS
    shared, zoned = roles["shared"][1], roles["zoned"][1]
    for ct in sub["controllers"]:
        # Multipath: both controllers reach the shared namespaces; the detached one neither.
        assert shared["name"] in ct["namespaces"] and zoned["name"] in ct["namespaces"], sub
        assert "detached" not in roles, sub
    assert shared["csi"] == "nvm" and shared["lba_size"] == guest_mod.BLOCK_SIZE
    assert shared["nsze"] == guest_mod.NAMESPACES[1][1] // guest_mod.BLOCK_SIZE
    assert zoned["csi"] == "zns"
    assert zoned["nr_zones"] == guest_mod.ZONES
    assert zoned["zone_size"] == guest_mod.ZONE_SIZE // guest_mod.BLOCK_SIZE
    nvmet_sub = roles["nvmet"][0]
    assert nvmet_sub["nqn"] == guest_mod.NVMET_NQN
    assert [ct["mn"] for ct in nvmet_sub["controllers"]] == ["Linux"]


# -- identify and SMART on every controller and namespace, against nvme-cli -----

@pytest.mark.parametrize("ctrl", ALL_CTRLS, indirect=True)
def test_id_ctrl(c, guest, ctrl, validate_result):
    ours = validate_result("nvme.id_ctrl", c.nvme_id_ctrl(device=ctrl["name"]))
    assert (ours["sn"], ours["mn"], ours["cntlid"]) == (ctrl["sn"], ctrl["mn"], ctrl["cntlid"])
    theirs = nvme_cli(guest, "id-ctrl", f"/dev/{ctrl['name']}")
    assert_agrees(ours, theirs, min_shared=80)


@pytest.mark.parametrize("ctrl", QEMU_CTRLS, indirect=True)
def test_id_ctrl_qemu_advertises_ns_management(c, ctrl):
    ours = c.nvme_id_ctrl(device=ctrl["name"])
    assert ours["oacs"] & (1 << 3), "OACS: namespace management not advertised"
    assert ours["cmic"] & (1 << 1), "CMIC: not a multi-controller subsystem"
    assert ours["nn"] >= 3


@pytest.mark.parametrize("ns", ALL_NS, indirect=True)
def test_id_ns(c, guest, ns, validate_result):
    entry, ctrl = ns
    ours = validate_result("nvme.id_ns", c.nvme_id_ns(device=entry["name"]))
    assert ours["nsze"] == entry["nsze"] and ours["ncap"] == entry["ncap"]
    assert c.nvme_id_ns(device=ctrl["name"], nsid=entry["nsid"]) == ours
    theirs = nvme_cli(guest, "id-ns", f"/dev/{entry['name']}")
    assert_agrees(ours, theirs, min_shared=30)


@pytest.mark.parametrize("ns", ALL_NS, indirect=True)
def test_id_ns_by_generic_name(c, ns):
    entry, _ = ns
    generic = "ng" + entry["name"][len("nvme"):]
    assert c.nvme_id_ns(device=generic) == c.nvme_id_ns(device=entry["name"])


def test_id_ns_detached_is_inactive(c, guest, roles, topo):
    # Identify CNS 00h on an allocated but unattached NSID returns zeroes.
    ctrl = _role(roles, topo, "qemu0")[1]
    ours = c.nvme_id_ns(device=ctrl["name"], nsid=3)
    assert (ours["nsze"], ours["ncap"], ours["nuse"]) == (0, 0, 0)
    assert_agrees(ours, nvme_cli(guest, "id-ns", f"/dev/{ctrl['name']}", "-n", "3"), 30)


@pytest.mark.parametrize("ctrl", ALL_CTRLS, indirect=True)
def test_smart_log(c, guest, ctrl, validate_result):
    ours = validate_result("nvme.smart_log", c.nvme_smart_log(device=ctrl["name"]))
    theirs = nvme_cli(guest, "smart-log", f"/dev/{ctrl['name']}")
    assert_agrees(ours, theirs, min_shared=15, skip=SMART_TICKING)


@pytest.mark.parametrize("ns", ALL_NS, indirect=True)
def test_smart_log_of_namespace(c, ns, validate_result):
    entry, ctrl = ns
    validate_result("nvme.smart_log", c.nvme_smart_log(device=ctrl["name"], nsid=entry["nsid"]))


# -- NVMe status errors: the device's answer, as nvme-cli sees it ---------------

def test_id_ns_beyond_nn_is_nvme_status(c, guest, roles, topo):
    ctrl = _role(roles, topo, "qemu0")[1]
    nsid = c.nvme_id_ctrl(device=ctrl["name"])["nn"] + 1000
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.nvme_id_ns(device=ctrl["name"], nsid=nsid)
    data = e.value.data
    assert (data["sct"], data["sc"], data["dnr"]) == (0, 0x0b, True), data
    assert data["raw"] == nvme_cli_status(guest, "id-ns", f"/dev/{ctrl['name']}", "-n", str(nsid))


@pytest.mark.parametrize("ctrl", ALL_CTRLS, indirect=True)
def test_id_ns_broadcast_nsid_is_nvme_status(c, guest, ctrl):
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.nvme_id_ns(device=ctrl["name"], nsid=0xFFFFFFFF)
    data = e.value.data
    assert (data["sct"], data["sc"]) == (0, 0x0b), data
    assert data["raw"] == nvme_cli_status(guest, "id-ns", f"/dev/{ctrl['name']}",
                                          "-n", str(0xFFFFFFFF))


def test_smart_log_bad_nsid_is_nvme_status(c, guest, roles, topo):
    ctrl = _role(roles, topo, "qemu0")[1]
    nsid = c.nvme_id_ctrl(device=ctrl["name"])["nn"] + 1000
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.nvme_smart_log(device=ctrl["name"], nsid=nsid)
    assert e.value.data["raw"] == nvme_cli_status(guest, "smart-log", f"/dev/{ctrl['name']}",
                                                  "-n", str(nsid))


def test_report_zones_beyond_capacity_is_nvme_status(c, guest, zoned):
    slba = zoned["nsze"]
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.nvme_zns_report_zones(device=zoned["name"], slba=slba, limit=1)
    assert e.value.data["raw"] == nvme_cli_status(guest, "zns", "report-zones",
                                                  f"/dev/{zoned['name']}", "-s", str(slba), "-d", "1")


def test_offline_empty_zone_is_nvme_status(c, guest, zoned):
    # Offline is valid from read-only only: QEMU answers Invalid Zone State Transition.
    slba = 3 * zoned["zone_size"]
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.nvme_zns_mgmt_send(device=zoned["name"], action="offline", slba=slba,
                             confirm=guest_mod.SERIAL)
    data = e.value.data
    assert (data["sct"], data["sc"]) == (1, 0xbf), data
    assert data["raw"] == nvme_cli_status(guest, "zns", "offline-zone", f"/dev/{zoned['name']}",
                                          "-s", str(slba))


@pytest.mark.parametrize("ns", ("shared", "nvmet"), indirect=True)
def test_report_zones_on_conventional_is_not_supported(c, ns):
    entry, _ = ns
    with pytest.raises(nvmerpc.NotSupported):
        c.nvme_zns_report_zones(device=entry["name"], limit=1)


@pytest.mark.parametrize("name", ["nvme9", "nvme0n9", "nvme9n1", "ng9n1", "sim0", "sim0n1",
                                  "/dev/nvme9", "../nvme0", "/dev/../nvme0", "nvme-fabrics",
                                  "hwmon0", "/dev/null"])
def test_unknown_device_is_device_not_found(c, name):
    with pytest.raises(nvmerpc.DeviceNotFound):
        c.nvme_id_ctrl(device=name)


def test_dev_form_resolves_against_topology(c):
    ctrl = c.nvme_list()["subsystems"][0]["controllers"][0]
    assert c.nvme_id_ctrl(device="/dev/" + ctrl["name"])["cntlid"] == ctrl["cntlid"]


# -- zones ---------------------------------------------------------------------

def test_report_zones_limit(c, guest, zoned, validate_result):
    zsze = zoned["zone_size"]
    ours = validate_result("nvme.zns.report_zones",
                           c.nvme_zns_report_zones(device=zoned["name"], limit=4))
    assert ours["nr_zones"] == 4
    assert [z["slba"] for z in ours["zone_list"]] == [i * zsze for i in range(4)]
    assert ours["next_slba"] == 4 * zsze
    page = c.nvme_zns_report_zones(device=zoned["name"], slba=ours["next_slba"], limit=3)
    assert [z["slba"] for z in page["zone_list"]] == [i * zsze for i in range(4, 7)]
    theirs = nvme_cli(guest, "zns", "report-zones", f"/dev/{zoned['name']}", "-d", "4")
    # nvme-cli's nr_zones is the device's count of matching zones, ours the zones answered.
    assert_agrees(ours["zone_list"], theirs["zone_list"], min_shared=4 * ZONE_KEYS_SHARED)


def test_report_zones_whole_namespace(c, guest, zoned, validate_result):
    ours = validate_result("nvme.zns.report_zones", c.nvme_zns_report_zones(device=zoned["name"]))
    assert ours["nr_zones"] == zoned["nr_zones"] == guest_mod.ZONES
    assert "next_slba" not in ours
    theirs = nvme_cli(guest, "zns", "report-zones", f"/dev/{zoned['name']}")
    assert_agrees(ours, theirs, min_shared=guest_mod.ZONES * ZONE_KEYS_SHARED)


def test_report_zones_stream(c, zoned, validate_result):
    stream = c.nvme_zns_report_zones_stream(device=zoned["name"])
    zones = list(stream)
    validate_result("nvme.zns.report_zones", stream.summary)
    assert len(zones) == stream.summary["nr_zones"] == zoned["nr_zones"]
    assert stream.summary.get("chunks") == stream.chunks >= 1
    assert stream.seqs == sorted(stream.seqs)
    assert [z["slba"] for z in zones] == [i * zoned["zone_size"] for i in range(len(zones))]


def zone_at(c, zoned, slba):
    report = c.nvme_zns_report_zones(device=zoned["name"], slba=slba, limit=1)
    assert report["zone_list"][0]["slba"] == slba
    return report["zone_list"][0]


def cli_zone_at(guest, zoned, slba):
    report = nvme_cli(guest, "zns", "report-zones", f"/dev/{zoned['name']}", "-s", str(slba),
                      "-d", "1")
    return report["zone_list"][0]


def test_mgmt_send_needs_confirm(c, zoned):
    slba = 5 * zoned["zone_size"]
    for confirm in (None, "WRONG"):
        kw = {} if confirm is None else {"confirm": confirm}
        with pytest.raises(nvmerpc.ConfirmationRequired):
            c.nvme_zns_mgmt_send(device=zoned["name"], action="open", slba=slba, **kw)
    assert zone_at(c, zoned, slba)["state"] == "EMPTY"


def test_mgmt_send_zone_lifecycle(c, guest, zoned, validate_result):
    slba = 7 * zoned["zone_size"]
    steps = [("open", "EXP_OPENED"), ("close", "CLOSED"), ("finish", "FULL"), ("reset", "EMPTY")]
    for action, state in steps:
        done = validate_result("nvme.zns.mgmt_send", c.nvme_zns_mgmt_send(
            device=zoned["name"], action=action, slba=slba, confirm=guest_mod.SERIAL))
        assert done["action"] == action
        ours = zone_at(c, zoned, slba)
        assert ours["state"] == state, (action, ours)
        # A full zone's wp: QEMU reports all ones, -1 here (the U64 rule).
        assert_agrees(ours, cli_zone_at(guest, zoned, slba), min_shared=ZONE_KEYS_SHARED)
        if state == "EMPTY":
            assert ours["wp"] == slba
    # Its neighbours never moved.
    assert zone_at(c, zoned, slba - zoned["zone_size"])["state"] == "EMPTY"
    assert zone_at(c, zoned, slba + zoned["zone_size"])["state"] == "EMPTY"


def test_mgmt_send_all(c, zoned):
    for i in (10, 11, 12):
        c.nvme_zns_mgmt_send(device=zoned["name"], action="open", slba=i * zoned["zone_size"],
                             confirm=guest_mod.SERIAL)
    opened = c.nvme_zns_report_zones(device=zoned["name"], state="explicitly_open")
    assert [z["slba"] for z in opened["zone_list"]] == [i * zoned["zone_size"] for i in (10, 11, 12)]
    c.nvme_zns_mgmt_send(device=zoned["name"], action="close", all=True, confirm=guest_mod.SERIAL)
    assert c.nvme_zns_report_zones(device=zoned["name"], state="closed")["nr_zones"] == 3
    c.nvme_zns_mgmt_send(device=zoned["name"], action="reset", all=True, confirm=guest_mod.SERIAL)
    empty = c.nvme_zns_report_zones_stream(device=zoned["name"], state="empty")
    assert sum(1 for _ in empty) == zoned["nr_zones"]
