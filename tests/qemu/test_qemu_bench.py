"""issue 12's QEMU measurement in the suite's boot: nvme.id_ctrl through the daemon against one
raw Identify Controller ioctl (and io_uring admin passthru) on the same device (qemu_bench.py,
idbench.c). Prints the table; asserts only that every answer was right, never on a time.

NR_IDBENCH: the idbench binary (ctest sets it; default build/tests/qemu/idbench).
NR_QEMU_BENCH_BASELINE: other daemon binaries (":"-separated, e.g. a build of an older commit)
measured in the same boot, one table row each.
"""
import os

import pytest

import qemu_bench
from conftest import DAEMON, SOURCE_DIR

IDBENCH = os.environ.get("NR_IDBENCH") or os.path.join(SOURCE_DIR, "build", "tests", "qemu",
                                                       "idbench")


def test_id_ctrl_cost_against_raw_identify(guest, capsys):
    if not os.access(IDBENCH, os.X_OK):
        pytest.fail(f"{IDBENCH} not found: build the idbench target or set NR_IDBENCH")
    baselines = [d for d in os.environ.get("NR_QEMU_BENCH_BASELINE", "").split(":") if d]
    daemons = [os.path.abspath(d) for d in [DAEMON] + baselines]
    rows = qemu_bench.run_all(guest, os.path.abspath(IDBENCH), daemons)
    assert {r["transport"] for r in rows} == {"pcie", "loop", "simulator"}
    with capsys.disabled():
        print("\n" + qemu_bench.table(rows))
    wrong = [f"{r['daemon']} {r['controller']}: {w}" for r in rows for w in qemu_bench.check(r)]
    assert not wrong
