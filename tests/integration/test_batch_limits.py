"""A batch is one request from one client: under --max-queue it holds one place on a
device, so its elements are not refused for each other's sake, while other clients still
meet the bound."""
import threading

from conftest import rpc, slow_fast_sim


def test_batch_of_300_id_ctrl_not_busy(d):
    batch = [rpc("nvme.id_ctrl", id=i, device="sim0") for i in range(300)]
    with d.raw(timeout=60) as conn:
        answers = conn.call(batch)
    assert isinstance(answers, list) and len(answers) == 300, answers
    busy = [a for a in answers if "error" in a]
    assert busy == [], busy[:3]
    assert sorted(a["id"] for a in answers) == list(range(300))
    assert {a["result"]["sn"] for a in answers} == {"NRSIM0000000001"}


def test_batch_beyond_max_queue_still_bounds_other_clients(daemon):
    # sim0 answers after 100 ms: a batch of 8 keeps it busy for 0.8 s.
    d = daemon(args=["--max-queue", "2"], sim=slow_fast_sim(100000))
    with d.raw() as conn:
        names = {ct["sn"]: ct["name"] for sub in conn.call(rpc("nvme.list"))["result"]
                 ["subsystems"] for ct in sub["controllers"]}
    slow = names["SLOW0001"]
    answers = {}

    def batch_client():
        with d.raw(timeout=30) as conn:
            answers["batch"] = conn.call([rpc("nvme.id_ctrl", id=i, device=slow)
                                          for i in range(8)])

    t = threading.Thread(target=batch_client)
    t.start()
    try:
        # Once the batch is queued, another client's call meets the bound.
        with d.raw() as conn:
            for _ in range(100):
                other = conn.call(rpc("nvme.id_ctrl", id="other", device=slow))
                if "error" in other:
                    break
            assert other["error"]["data"]["name"] == "DeviceBusy", other
    finally:
        t.join(30)
    assert len(answers["batch"]) == 8
    assert all("result" in a for a in answers["batch"]), answers["batch"]
