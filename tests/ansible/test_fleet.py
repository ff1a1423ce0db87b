"""A fleet: three hosts, each with its own daemon on the simulator (its own socket, reached with
ansible_connection=local and a per-host nvme_socket), forks 3, one playbook rolling a namespace
layout and a firmware revision with serial: 1. An injected firmware download failure on the
second host stops the roll there: the first host is done, the second half done, the third
untouched, and the summary says what changed where. The same playbook run again (the fault was
for one command) finishes the roll and leaves the first host alone."""
from conftest import FW_IMAGE, FW_REV, MIB, OPC_FW_DOWNLOAD, playbook, recap, snapshot

LAYOUT = {"namespaces": [{"nsid": 1, "size": 1 << 30},
                         {"nsid": 3, "size": 64 * MIB, "lba_size": 4096}]}

PLAY = [{
    "name": "roll the namespace layout and firmware",
    "hosts": "fleet", "serial": 1, "gather_facts": False,
    "tasks": [
        {"name": "namespace layout", "register": "layout",
         "nvmerpc.nvme.nvme_state": {"socket": "{{ nvme_socket }}", "device": "sim0",
                                     "desired": LAYOUT}},
        {"name": "firmware", "register": "fw",
         "nvmerpc.nvme.nvme_firmware": {"socket": "{{ nvme_socket }}", "device": "sim0",
                                        "revision": FW_REV, "image": FW_IMAGE, "slot": 2,
                                        "confirm": "{{ nvme_serial }}", "force": True}},
        {"name": "what changed here",
         "ansible.builtin.debug": {"msg": "CHANGED {{ inventory_hostname }}: {{ (layout.operations"
                                          " + fw.operations) | map(attribute='method') | list }}"}},
    ]}]


def inventory(ds):
    hosts = "".join(f"h{i + 1} nvme_socket={d.socket} nvme_serial=NRANS000000000{i + 1}\n"
                    for i, d in enumerate(ds))
    return f"[fleet]\n{hosts}[fleet:vars]\nansible_connection=local\n"


def test_rolling_fleet_stops_at_the_injected_failure_then_finishes(daemons, tmp_path):
    ds = daemons(3)
    start = [snapshot(d) for d in ds]
    with ds[1].client() as c:
        c.call("sim.fault", device="sim0",
               status={"sct": 1, "sc": 7, "opcode": OPC_FW_DOWNLOAD, "count": 1})
    first = playbook(tmp_path, PLAY, inventory(ds), "--forks", "3")
    assert first.returncode == 2, first.stdout[-3000:]
    counts = recap(first.stdout)
    assert counts["h1"]["changed"] == 2 and counts["h1"]["failed"] == 0, counts
    assert counts["h2"]["changed"] == 1 and counts["h2"]["failed"] == 1, counts
    assert "h3" not in counts, counts  # the roll stopped before it
    assert "CHANGED h1: ['nvme.ns_create', 'nvme.ns_attach', 'nvme.fw_download', " \
           "'nvme.fw_commit']" in first.stdout
    assert "NvmeStatus" in first.stdout, first.stdout[-3000:]
    after = [snapshot(d) for d in ds]
    assert after[0]["fw_log"]["frs2"] == FW_REV and "3" in after[0]["namespaces"]
    assert "3" in after[1]["namespaces"] and after[1]["fw_log"] == start[1]["fw_log"]
    assert after[2] == start[2]

    second = playbook(tmp_path, PLAY, inventory(ds), "--forks", "3")
    assert second.returncode == 0, second.stdout[-3000:]
    counts = recap(second.stdout)
    assert [counts[h]["changed"] for h in ("h1", "h2", "h3")] == [0, 1, 2], counts
    assert "CHANGED h1: []" in second.stdout
    assert "CHANGED h2: ['nvme.fw_download', 'nvme.fw_commit']" in second.stdout
    final = [snapshot(d) for d in ds]
    assert final[0] == after[0]
    for state in final:
        assert state["fw_log"]["frs2"] == FW_REV and state["namespaces"]["3"]["lba_size"] == 4096
