"""The cost of nvme.id_ctrl through the daemon against one raw Identify, in the QEMU guest.

    python3 tests/qemu/qemu_bench.py [--daemon BUILD/nvmerpcd] [--idbench BUILD/tests/qemu/idbench]
                                     [--baseline OTHER/nvmerpcd] [-n 200]

boots the guest (as the QEMU suite does), runs idbench in it on each controller (QEMU's first
PCIe controller and the nvmet one) and on the daemon's simulator (sim0: the daemon's own cost
in the guest, no device), and prints the table; test_qemu_bench.py prints the same
table from the suite's boot. idbench (idbench.c) times N raw Identify Controller ioctls, the
same through io_uring admin passthru, and N nvme.id_ctrl through `nvmerpcd --stdio` pipelined
and at depth 1, plus the daemon's start to serving (first rpc.ping answered). Each daemon given
(--daemon, then --baseline: e.g. a build of an older commit) is measured in the same boot.

Figures only: nothing here compares a time with a limit (issue 12's targets are printed next to
them). The caller checks that every answer was right (check()).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import guest as guest_mod  # noqa: E402

N = 200
TARGET_RATIO = 3.0  # issue 12: marginal nvme.id_ctrl <= 3x one raw Identify
GOAL_RATIO = 2.0

_CONTROLLERS = r"""
import json, os
out = []
for name in sorted(os.listdir("/sys/class/nvme")):
    d = "/sys/class/nvme/" + name
    r = lambda f: open(os.path.join(d, f)).read().strip()
    out.append({"name": name, "transport": r("transport"), "model": r("model"),
                "cntlid": int(r("cntlid"))})
print(json.dumps(out))
"""


def controllers(guest):
    """The guest's controllers: the first PCIe one (QEMU's) and the loop one (nvmet)."""
    found = guest.run_json(["/usr/bin/python3", "-c", _CONTROLLERS])
    picked = []
    for transport in ("pcie", "loop"):
        picked += [c for c in found if c["transport"] == transport][:1]
    return picked


# The daemon's built-in simulated controller (--simulate): the daemon's own cost in the guest,
# without a device or (on the code after issue 12) the worker pool.
SIMULATOR = {"name": "sim0", "transport": "simulator", "sn": "NRSIM0000000001", "cntlid": 1}


# The daemon's ways of sending a host device command, measured side by side: io_uring from the
# event loop (the default where the kernel takes it) and the worker pool's ioctls.
POOL = "--no-io-uring"


def measure(guest, idbench, daemon, ctrl, n=N, uring=True, daemon_args=()):
    """Runs idbench in the guest on @ctrl through @daemon; returns its JSON figures."""
    argv = [idbench, "-n", str(n), "--daemon", daemon, "--name", ctrl["name"]]
    if ctrl is SIMULATOR:
        argv += ["--expect", f"{ctrl['sn']}:{ctrl['cntlid']}", "--", "--simulate"]
    else:
        argv += ["--dev", "/dev/" + ctrl["name"]] + (["--uring"] if uring else [])
        argv += ["--", *daemon_args] if daemon_args else []
    rc, out, err = guest.run(argv, timeout=600)
    if rc != 0:
        raise guest_mod.GuestError(f"{argv} exited {rc}: {err.strip()} {out.strip()}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures.update(controller=ctrl["name"], transport=ctrl["transport"],
                   daemon=" ".join([daemon, *daemon_args]))
    return figures


def check(figures):
    """Every answer right: raw and io_uring identifies agree, every daemon call answered with
    the controller's sn and cntlid, the daemon exited 0. Returns a list of what is wrong."""
    n = figures["n"]
    wrong = []
    if figures.get("raw_bad"):
        wrong.append(f"{figures['raw_bad']} raw Identify answers differ from the first")
    if figures.get("uring_bad"):
        wrong.append(f"{figures['uring_bad']} io_uring Identify answers differ")
    want = figures["rounds"] * 2 * n + 1  # pipelined and depth 1 per round, one warm-up call
    if figures["daemon_answers"] != want or figures["daemon_good"] != want:
        wrong.append(f"daemon: {figures['daemon_good']} right of {figures['daemon_answers']} "
                     f"answers, {want} expected; first wrong: {figures['daemon_first_bad']}")
    if figures["daemon_exit"] != 0:
        wrong.append(f"daemon exited {figures['daemon_exit']}")
    return wrong


def table(rows):
    """The printed table: one line per (daemon, controller)."""
    head = (f"{'daemon':<28} {'ctrl':<10} {'raw us':>8} {'uring us':>9} {'pipe us':>9} "
            f"{'depth1 us':>10} {'pipe/raw':>9} {'d1/raw':>7} {'start ms':>9}")
    lines = [f"QEMU guest, nvme.id_ctrl vs one raw Identify Controller (N={rows[0]['n']} each; "
             f"issue 12 target: pipe/raw <= {TARGET_RATIO:g}x, goal {GOAL_RATIO:g}x)", head]
    for f in rows:
        uring = f"{f['uring_us']:.1f}" if "uring_us" in f else "-"
        # The measured daemon by its name, a baseline (another build) by its path's tail.
        name = f["daemon"].replace(os.path.dirname(rows[0]["daemon"].split()[0]) + "/", "")
        name = name if len(name) <= 28 else "..." + name[-25:]
        raw = f.get("raw_us")
        ratios = (f"{f['daemon_pipelined_us'] / raw:>8.1f}x {f['daemon_depth1_us'] / raw:>6.1f}x"
                  if raw else f"{'-':>9} {'-':>7}")
        lines.append(
            f"{name:<28} {f['controller'] + '/' + f['transport'][:4]:<10} "
            f"{f'{raw:.1f}' if raw else '-':>8} "
            f"{uring:>9} {f['daemon_pipelined_us']:>9.1f} {f['daemon_depth1_us']:>10.1f} "
            f"{ratios} {f['daemon_start_ms']:>9.1f}")
    errors = {f"{f['controller']}: {f['uring_error']}" for f in rows if "uring_error" in f}
    lines += [f"io_uring: {e}" for e in sorted(errors)]
    lines.append("pipe: N calls written at once, first write to last answer, per call; depth1: "
                 f"one call at a time; best of {rows[0]['rounds']} interleaved rounds; start: fork to "
                 "first rpc.ping answer (median of 5 after one not counted); sim0: the daemon's --simulate controller "
                 "(its own cost, no device)")
    return "\n".join(lines)


def run_all(guest, idbench, daemons, n=N):
    """Each controller through each daemon; a device controller also through the first daemon's
    worker pool (--no-io-uring), the path io_uring replaced."""
    rows = []
    for ctrl in controllers(guest) + [SIMULATOR]:
        for daemon in daemons:
            rows.append(measure(guest, idbench, daemon, ctrl, n))
        if ctrl is not SIMULATOR:
            rows.append(measure(guest, idbench, daemons[0], ctrl, n, daemon_args=(POOL,)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    build = os.path.join(guest_mod.SOURCE_DIR, "build")
    ap.add_argument("--image-dir", default=guest_mod.default_image_dir())
    ap.add_argument("--daemon", default=os.environ.get("NVMERPCD")
                    or os.path.join(build, "nvmerpcd"))
    ap.add_argument("--idbench", default=os.environ.get("NR_IDBENCH")
                    or os.path.join(build, "tests", "qemu", "idbench"))
    ap.add_argument("--baseline", action="append", default=[],
                    help="another daemon binary measured in the same boot (repeatable)")
    ap.add_argument("-n", type=int, default=N)
    args = ap.parse_args()
    run_dir = tempfile.mkdtemp(prefix="nr-qemu-bench-")
    guest = guest_mod.Guest(args.image_dir, run_dir, args.daemon, ["--log-level", "info"])
    try:
        guest.start()
        rows = run_all(guest, os.path.abspath(args.idbench),
                       [os.path.abspath(d) for d in [args.daemon] + args.baseline], args.n)
        print(table(rows))
        wrong = [f"{f['daemon']} {f['controller']}: {w}" for f in rows for w in check(f)]
        for w in wrong:
            print("WRONG:", w, file=sys.stderr)
        return 1 if wrong else 0
    except guest_mod.GuestError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        guest.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
