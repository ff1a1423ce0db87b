"""The NVMe-MI responder, seen through the real libnvme-mi (mi_probe under the
mctp_interpose shim) and through the raw wire format.

Environment (set by ctest, tests/mi/responder.cmake): NR_MI_RESPONDER,
NR_MCTP_INTERPOSE, NR_MI_PROBE, NR_SOURCE_DIR, NR_SANITIZED.
"""
import json
import os
import struct
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mi_harness import (RawEndpoint, Responder, admin_request, binary_paths,  # noqa: E402
                        mi_request, preload_env)

HERE = os.path.dirname(os.path.abspath(__file__))
NET, EID, EID_TWO = 1, 8, 9
SIM_SN, SIM_MN = "NRSIM0000000001", "nvmerpcd simulated controller"
CTEMP_35C = 35  # the simulator's composite temperature, 308 K
NSS_DF_RNR = 0x30
SW_NO_WARNINGS = 0x3F
CCS_RDY, CCS_NSSRO, CCS_CTEMP = 0x1, 0x10, 0x200
MI_STATUS_MPR, MI_INVALID_OPCODE, MI_INVALID_PARAM = 0x01, 0x03, 0x04
MI_INTERNAL_ERROR = 0x02
PORT_SMBUS = 2


@pytest.fixture
def responder(tmp_path):
    with open(os.path.join(HERE, "responder-default.json")) as f:
        config = json.load(f)
    r = Responder(config, tmp_path, verbose=True)
    r.start()
    yield r
    assert r.stop() == 0, r.log()


def run_probe(responder, eid, *steps, timeout_ms=1000, net=NET, probe=True):
    """Runs mi_probe; returns ({step: result}, seconds taken). @probe False
    turns off libnvme-mi's quirk probe (an Identify at open)."""
    env = dict(os.environ, **preload_env(None, responder))
    if not probe:
        env["LIBNVME_MI_PROBE_ENABLED"] = "0"
    cmd = [binary_paths()["probe"], "--timeout", str(timeout_ms), str(net), str(eid), *steps]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    took = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    results = {}
    for line in proc.stdout.splitlines():
        obj = json.loads(line)
        results.setdefault(obj["step"], obj)
    return results, took


def test_identify_matches_the_simulator(responder):
    res, _ = run_probe(responder, EID, "identify", "identify_xfer")
    assert res["identify"]["rc"] == 0
    assert res["identify"]["sn"] == SIM_SN
    assert res["identify"]["mn"] == SIM_MN
    assert res["identify"]["cntlid"] == 1
    # The raw tunnel with DOFF 4, DLEN 20 returns exactly the serial number.
    assert res["identify_xfer"]["rc"] == 0
    assert res["identify_xfer"]["len"] == 20
    assert res["identify_xfer"]["sn"] == SIM_SN


def test_controller_list_and_info_per_endpoint(responder):
    res, _ = run_probe(responder, EID_TWO, "ctrl_info", "identify")
    assert res["ctrl_list"]["ids"] == [3, 5]
    assert res["ctrl_info"]["rc"] == 0
    assert res["ctrl_info"]["cntlid"] == 3
    assert res["ctrl_info"]["vid"] == 0x1B36
    assert res["identify"]["sn"] == "NRMI0000000002A"
    res, _ = run_probe(responder, EID, "ctrl_list")
    assert res["ctrl_list"]["ids"] == [1]


def test_subsystem_and_port_information(responder):
    res, _ = run_probe(responder, EID, "subsys", "port")
    assert (res["subsys"]["rc"], res["subsys"]["nump"]) == (0, 0)
    assert (res["subsys"]["mjr"], res["subsys"]["mnr"]) == (1, 2)
    assert res["port"]["portt"] == PORT_SMBUS
    assert res["port"]["mmctptus"] == 250
    assert res["port"]["mme_freq"] == 3


def test_health_poll_fields_and_clear_status(responder):
    res, _ = run_probe(responder, EID, "health", "health_clear", probe=False)
    first = res["health"]
    assert first["rc"] == 0
    assert (first["nss"], first["sw"]) == (NSS_DF_RNR, SW_NO_WARNINGS)
    assert (first["ctemp"], first["pdlu"]) == (CTEMP_35C, 0)
    # Power-on counts as an NVM subsystem reset until a poll clears it.
    assert first["ccs"] == CCS_RDY | CCS_NSSRO
    assert res["health_clear"]["ccs"] == CCS_RDY | CCS_NSSRO
    res, _ = run_probe(responder, EID, "health", probe=False)
    assert res["health"]["ccs"] == CCS_RDY


def test_health_status_change_clears_latched_bits(responder):
    responder.set(NET, EID, ccs_events=CCS_CTEMP)
    res, _ = run_probe(responder, EID, "health", f"hsc:{CCS_CTEMP}", probe=False)
    assert res["health"]["ccs"] == CCS_RDY | CCS_NSSRO | CCS_CTEMP
    assert res[f"hsc:{CCS_CTEMP}"]["rc"] == 0
    res, _ = run_probe(responder, EID, "health", probe=False)
    assert res["health"]["ccs"] == CCS_RDY | CCS_NSSRO


def test_config_set_then_get_persists_per_endpoint(responder):
    res, _ = run_probe(responder, EID, "config", "set_freq:3", "set_mtu:128")
    assert (res["config"]["smbus_freq"], res["config"]["mtu"]) == (1, 64)
    assert res["set_freq:3"]["rc"] == 0 and res["set_mtu:128"]["rc"] == 0
    res, _ = run_probe(responder, EID, "config", "set_mtu:9999", "set_freq:0")
    assert (res["config"]["smbus_freq"], res["config"]["mtu"]) == (3, 128)
    assert res["set_mtu:9999"]["rc"] == MI_INVALID_PARAM
    assert res["set_freq:0"]["rc"] == MI_INVALID_PARAM
    res, _ = run_probe(responder, EID_TWO, "config")
    assert (res["config"]["smbus_freq"], res["config"]["mtu"]) == (1, 64)


def test_corrupt_mic_is_an_error_then_recovers(responder):
    responder.set(NET, EID, corrupt_mic=1)
    res, _ = run_probe(responder, EID, "health", "subsys", probe=False)
    # libnvme-mi 1.3 returns its MIC check's result as is: 1, without errno,
    # indistinguishable from MI status 01h (More Processing Required).
    assert (res["health"]["rc"], res["health"]["errno"]) == (1, "")
    assert res["subsys"]["rc"] == 0


def test_short_frame_is_a_protocol_error(responder):
    responder.set(NET, EID, short=1)
    res, _ = run_probe(responder, EID, "health", "subsys", probe=False)
    assert (res["health"]["rc"], res["health"]["errno"]) == (-1, "EPROTO")
    assert res["subsys"]["rc"] == 0


def test_silent_endpoint_times_out_within_the_timeout(responder):
    responder.set(NET, EID, silent=True)
    res, took = run_probe(responder, EID, "health", timeout_ms=300, probe=False)
    assert (res["health"]["rc"], res["health"]["errno"]) == (-1, "ETIMEDOUT")
    assert 0.25 < took < 2.0
    stats = responder.stats(NET, EID)
    assert (stats["requests"], stats["responses"]) == (1, 0)


def test_unknown_endpoint_gets_no_answer(responder):
    res, _ = run_probe(responder, 99, "health", timeout_ms=200, probe=False)
    assert res["health"]["errno"] == "ETIMEDOUT"


def test_late_answer_after_timeout_is_discarded(responder):
    # Each answer comes 600 ms late against a 400 ms timeout. The health
    # answer arrives while subsys waits; delivering it would make subsys fail
    # with a length mismatch (EPROTO) instead of timing out.
    responder.set(NET, EID, delay_ms=600)
    res, _ = run_probe(responder, EID, "health", "subsys", timeout_ms=400, probe=False)
    assert res["health"]["errno"] == "ETIMEDOUT"
    assert res["subsys"]["errno"] == "ETIMEDOUT"


def test_delay_does_not_hold_up_other_endpoints(responder):
    responder.set(NET, EID, delay_ms=1500)
    slow = {}
    thread = threading.Thread(target=lambda: slow.update(
        zip(("res", "took"), run_probe(responder, EID, "health", timeout_ms=5000, probe=False))))
    thread.start()
    time.sleep(0.2)
    res, took = run_probe(responder, EID_TWO, "health", "identify")
    thread.join()
    assert res["health"]["rc"] == 0 and res["identify"]["rc"] == 0
    assert took < 1.0
    assert slow["res"]["health"]["rc"] == 0
    assert slow["took"] >= 1.5


def test_mpr_then_answer_succeeds(responder):
    # libnvme-mi 1.3 preallocates its tag (SIOCMCTPALLOCTAG), so it keeps
    # listening after each More Processing Required response.
    responder.set(NET, EID, mpr=2, mprt=1)
    res, _ = run_probe(responder, EID, "health", "subsys", timeout_ms=1000, probe=False)
    assert res["health"]["rc"] == 0 and res["health"]["ctemp"] == CTEMP_35C
    assert res["subsys"]["rc"] == 0
    stats = responder.stats(NET, EID)
    assert (stats["mpr_sent"], stats["responses"]) == (4, 2)


def test_mpr_then_silence_times_out_after_mprt(responder):
    # An MPR every 400 ms, but MPRT promises 100 ms: libnvme-mi waits MPRT
    # after the first one and gives up.
    responder.set(NET, EID, mpr=-1, mprt=1, delay_ms=400)
    res, took = run_probe(responder, EID, "health", timeout_ms=1000, probe=False)
    assert (res["health"]["rc"], res["health"]["errno"]) == (-1, "ETIMEDOUT")
    assert 0.45 < took < 1.5


def test_mi_status_is_reported_for_the_next_requests(responder):
    responder.set(NET, EID, mi_status=MI_INTERNAL_ERROR, mi_status_count=2)
    res, _ = run_probe(responder, EID, "health", "subsys", "port", probe=False)
    assert res["health"]["rc"] == MI_INTERNAL_ERROR
    assert res["subsys"]["rc"] == MI_INTERNAL_ERROR
    assert res["port"]["rc"] == 0


def test_stats_count_requests_by_type_and_opcode(responder):
    run_probe(responder, EID, "health", "identify")
    stats = responder.stats(NET, EID)
    # Open's quirk probe (Identify), scan (controller list), identify, health.
    assert stats["requests"] == 4
    assert (stats["mi"], stats["admin"]) == (2, 2)
    assert stats["opcodes"] == {"mi:0x00": 1, "mi:0x01": 1, "admin:0x06": 2}
    responder.reset_stats()
    assert responder.stats(NET, EID)["requests"] == 0


# The raw wire: what libnvme-mi cannot send or does not read.

def raw(responder, eid=EID):
    return RawEndpoint(responder, NET, eid)


def test_raw_mpr_sequence_then_answer(responder):
    responder.set(NET, EID, mpr=3, mprt=7)
    ep = raw(responder)
    ep.send(mi_request(0x01), tag=5)
    for _ in range(3):
        hdr, body, mic_ok = ep.recv()
        assert mic_ok and hdr[3] == 5 and len(body) == 8
        assert body[4] == MI_STATUS_MPR
        assert struct.unpack_from("<H", body, 6)[0] == 7
    hdr, body, mic_ok = ep.recv()
    assert mic_ok and body[1] == 0x88 and body[4] == 0 and len(body) == 16
    ep.close()


def test_raw_mpr_forever_never_answers(responder):
    responder.set(NET, EID, mpr=-1)
    ep = raw(responder)
    ep.send(mi_request(0x01))
    statuses = [ep.recv()[1][4] for _ in range(3)]
    assert statuses == [MI_STATUS_MPR] * 3
    ep.close()


def test_raw_unknown_opcode_and_bad_parameter(responder):
    ep = raw(responder)
    ep.send(mi_request(0x7F))
    assert ep.recv()[1][4] == MI_INVALID_OPCODE
    ep.send(mi_request(0x00, cdw0=0x09 << 24))  # no such data structure type
    body = ep.recv()[1]
    assert body[4] == MI_INVALID_PARAM and body[6] == 11  # PEL: byte 11
    ep.send(admin_request(0x06, ctrl_id=42, cdw10=1, dlen=4096))
    assert ep.recv()[1][4] == MI_INVALID_PARAM
    ep.close()


def test_raw_csi_is_echoed_and_bad_mic_dropped(responder):
    ep = raw(responder)
    ep.send(mi_request(0x01, csi=1))
    assert ep.recv()[1][1] == 0x89
    ep.send(mi_request(0x01), good_mic=False)
    assert ep.recv(timeout=0.3) is None
    assert responder.stats(NET, EID)["dropped"] == 1
    ep.close()


def test_raw_admin_error_status_in_cdw3(responder):
    # Identify with a reserved CNS: the simulator's Invalid Field (02h, DNR).
    ep = raw(responder)
    ep.send(admin_request(0x06, ctrl_id=1, cdw10=0xFE, dlen=4096))
    body = ep.recv()[1]
    cdw3 = struct.unpack_from("<I", body, 16)[0]
    assert body[4] == 0 and len(body) == 20
    assert cdw3 >> 17 & 0xFF == 0x02 and cdw3 >> 17 & 0x4000
    ep.close()


def test_without_socket_variable_af_mctp_passes_through(responder):
    env = dict(os.environ, **preload_env(None, responder))
    del env["NR_MCTP_SOCKET"]
    proc = subprocess.run([binary_paths()["probe"], str(NET), str(EID)], env=env,
                          capture_output=True, text=True, timeout=30)
    first = json.loads(proc.stdout.splitlines()[0])
    assert (first["step"], first["rc"], first["errno"]) == ("open", -1, "EAFNOSUPPORT")


def test_parallel_clients_on_several_endpoints(responder):
    results = []

    def one(eid):
        results.append(run_probe(responder, eid, "health", "identify", "config")[0])

    threads = [threading.Thread(target=one, args=(eid,)) for eid in (EID, EID_TWO) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert all(r[s]["rc"] == 0 for r in results for s in ("health", "identify", "config"))
    # Per run: quirk probe, health, scan, identify, two config gets.
    assert responder.stats(NET, EID)["requests"] == 4 * 6
