"""Prints the state of a simulated controller as one JSON object, read over the daemon's socket
with the standard library alone: the playbooks compare it before and after each task, so what
a module claims is checked against the device, not against the collection's own reading.

    snapshot.py SOCKET [DEVICE]
"""
import json
import socket
import sys


def main(path, device="sim0"):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60)
        s.connect(path)
        f = s.makefile("rwb")
        ids = iter(range(1, 1 << 30))

        def call(method, **params):
            rid = next(ids)
            f.write(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                                "params": params}).encode() + b"\n")
            f.flush()
            while True:
                msg = json.loads(f.readline())
                if msg.get("id") == rid:
                    return msg.get("result", msg.get("error"))

        topo = call("nvme.list")
        state = {"ctrl": {k: call("nvme.id_ctrl", device=device)[k] for k in ("fr", "sn")},
                 "fw_log": call("nvme.fw_log", device=device),
                 "sanitize": call("nvme.sanitize_log", device=device)["status"],
                 "self_tests": len(call("nvme.self_test_log", device=device)["results"]),
                 "features": {fid: call("nvme.get_feature", device=device, fid=fid)
                              for fid in (4, 6, 8)},
                 "saved_4": call("nvme.get_feature", device=device, fid=4, sel="saved"),
                 "namespaces": {}}
        for ns in topo["subsystems"][0]["namespaces"]:
            ident = call("nvme.id_ns", device=device, nsid=ns["nsid"])
            entry = {"nsze": ns["nsze"], "lba_size": ns["lba_size"], "flbas": ident["flbas"],
                     "controllers": ns["controllers"]}
            if ns.get("csi") == "zns":
                zones = call("nvme.zns.report_zones", device=ns["name"])["zone_list"]
                entry["zones"] = [z["state"] for z in zones]
            state["namespaces"][str(ns["nsid"])] = entry
        allocated = call("nvme.list_ns", device=device, all=True)["nsid_list"]
        state["allocated"] = [n["nsid"] for n in allocated]
    json.dump(state, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
