"""Identify lists, namespace descriptors, I/O command set specific identify and the ZNS
identify structures, against the simulator (docs/simulator.md gives the values asserted here).
"""
import pytest

import nvmerpc
from conftest import SIM_SN, assert_error, rpc, sim_json

# docs/simulator.md: EUI-64 52-54-00 <subsystem index> <nsid, big-endian>; NGUID "nvmerpcd"
# followed by the EUI-64.
NGUID_PREFIX = b"nvmerpcd".hex()


def eui64(subsys_index, nsid):
    return "525400" + f"{subsys_index:02x}" + f"{nsid:08x}"


def uuid_of(nguid):
    """The simulator's UUID: its NGUID with the RFC 4122 version 4 and variant bits set."""
    b = bytearray(bytes.fromhex(nguid))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def two_ctrl_sim():
    """One subsystem, two controllers (cntlid 3 and 7), three namespaces; a second subsystem
    with one controller and one namespace."""
    return sim_json([
        {"nqn": "nqn.2024-01.io.nvmerpcd:multi", "controllers": [
            {"sn": "MULTI0001", "cntlid": 3}, {"sn": "MULTI0001", "cntlid": 7}],
         "namespaces": [{"nsid": 1, "blocks": 4096}, {"nsid": 4, "lba_size": 4096, "blocks": 1024},
                        {"nsid": 9, "zoned": {"zone_size": 64, "nr_zones": 16,
                                              "max_open": 4, "max_active": 6}}]},
        {"nqn": "nqn.2024-01.io.nvmerpcd:single", "controllers": [{"sn": "SINGLE0001"}],
         "namespaces": [{"nsid": 2, "blocks": 8192}]},
    ])


# -- nvme.list_ns ----------------------------------------------------------------------------

def test_list_ns_active(c, validate_result):
    got = validate_result("nvme.list_ns", c.call("nvme.list_ns", device="sim0"))
    assert got == {"nsid_list": [{"nsid": 1}, {"nsid": 2}]}


@pytest.mark.parametrize("above,expect", [(0, [1, 2]), (1, [2]), (2, []), (31, [])])
def test_list_ns_above_nsid(c, above, expect):
    got = c.call("nvme.list_ns", device="sim0", nsid=above)
    assert [e["nsid"] for e in got["nsid_list"]] == expect


def test_list_ns_of_namespace_name_is_its_controllers(c):
    assert c.call("nvme.list_ns", device="sim0n2") == c.call("nvme.list_ns", device="sim0")


def test_list_ns_from_description(daemon, validate_result):
    d = daemon(sim=two_ctrl_sim())
    with d.client() as c:
        for name in ("sim0", "sim1"):
            got = validate_result("nvme.list_ns", c.call("nvme.list_ns", device=name))
            assert got == {"nsid_list": [{"nsid": 1}, {"nsid": 4}, {"nsid": 9}]}
        assert c.call("nvme.list_ns", device="sim2") == {"nsid_list": [{"nsid": 2}]}
        assert c.call("nvme.list_ns", device="sim0", nsid=4) == {"nsid_list": [{"nsid": 9}]}


def test_list_ns_bad_nsid_is_nvme_status(d):
    # CNS 02h with NSID FFFFFFFEh: Invalid Namespace or Format (docs/simulator.md).
    with d.raw() as conn:
        data = assert_error(conn.call(rpc("nvme.list_ns", id=7, device="sim0",
                                          nsid=0xFFFFFFFE)), -32004, "NvmeStatus", id=7)
    assert (data["sct"], data["sc"], data["dnr"]) == (0, 0x0b, True)
    assert data["raw"] == 0x4000 | 0x0b


def test_list_ns_params_validated(d):
    with d.raw() as conn:
        assert_error(conn.call(rpc("nvme.list_ns", id=1, device="sim0", nsid=0xFFFFFFFF)),
                     -32602, "InvalidParams", id=1, field="params.nsid")
        assert_error(conn.call(rpc("nvme.list_ns", id=2, device="sim0", all="yes")),
                     -32602, "InvalidParams", id=2, field="params.all")
        assert_error(conn.call(rpc("nvme.list_ns", id=3)), -32602, "InvalidParams", id=3)
        assert_error(conn.call(rpc("nvme.list_ns", id=4, device="sim9")),
                     -32001, "DeviceNotFound", id=4)


# -- nvme.list_ctrl ----------------------------------------------------------------------------

def test_list_ctrl_subsystem(c, validate_result):
    got = validate_result("nvme.list_ctrl", c.call("nvme.list_ctrl", device="sim0"))
    assert got == {"num_ctrl": 1, "ctrl_list": [{"ctrl_id": 1}]}


def test_list_ctrl_attached_to_namespace(c, validate_result):
    got = validate_result("nvme.list_ctrl", c.call("nvme.list_ctrl", device="sim0", nsid=2))
    assert got == {"num_ctrl": 1, "ctrl_list": [{"ctrl_id": 1}]}
    # A namespace's name: the controllers attached to it.
    assert c.call("nvme.list_ctrl", device="sim0n1") == got


def test_list_ctrl_two_controllers(daemon, validate_result):
    d = daemon(sim=two_ctrl_sim())
    with d.client() as c:
        both = {"num_ctrl": 2, "ctrl_list": [{"ctrl_id": 3}, {"ctrl_id": 7}]}
        assert validate_result("nvme.list_ctrl", c.call("nvme.list_ctrl", device="sim0")) == both
        assert c.call("nvme.list_ctrl", device="sim1", nsid=4) == both
        # CNTID: identifiers greater than or equal to it.
        assert c.call("nvme.list_ctrl", device="sim0", cntid=4) == \
            {"num_ctrl": 1, "ctrl_list": [{"ctrl_id": 7}]}
        assert c.call("nvme.list_ctrl", device="sim0", cntid=8) == {"num_ctrl": 0, "ctrl_list": []}
        # The other subsystem's controller is not in this subsystem's list.
        assert c.call("nvme.list_ctrl", device="sim2") == \
            {"num_ctrl": 1, "ctrl_list": [{"ctrl_id": 1}]}


def test_list_ctrl_inactive_nsid_is_empty(c):
    # CNS 12h for an allocated-or-not NSID that no controller has attached: an empty list.
    assert c.call("nvme.list_ctrl", device="sim0", nsid=9) == {"num_ctrl": 0, "ctrl_list": []}


# -- nvme.ns_descs ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,nsid,csi", [("sim0n1", 1, 0), ("sim0n2", 2, 2)])
def test_ns_descs(c, validate_result, name, nsid, csi):
    got = validate_result("nvme.ns_descs", c.call("nvme.ns_descs", device=name))
    nguid = NGUID_PREFIX + eui64(0, nsid)
    assert got == {"eui64": eui64(0, nsid), "nguid": nguid, "uuid": uuid_of(nguid), "csi": csi}
    assert c.call("nvme.ns_descs", device="sim0", nsid=nsid) == got


def test_ns_descs_second_subsystem(daemon):
    d = daemon(sim=two_ctrl_sim())
    with d.client() as c:
        names = {ns["nsid"]: ns["name"] for sub in c.nvme_list()["subsystems"]
                 for ns in sub["namespaces"] if sub["nqn"].endswith(":single")}
        got = c.call("nvme.ns_descs", device=names[2])
        assert got["eui64"] == eui64(1, 2) and got["csi"] == 0


def test_ns_descs_inactive_nsid_is_nvme_status(c):
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.call("nvme.ns_descs", device="sim0", nsid=9)
    assert (e.value.data["sct"], e.value.data["sc"]) == (0, 0x0b)


def test_ns_descs_controller_needs_nsid(c):
    with pytest.raises(nvmerpc.InvalidParams) as e:
        c.call("nvme.ns_descs", device="sim0")
    assert e.value.data["field"] == "params.nsid"


# -- nvme.id_ns_csi, nvme.zns.id_ns, nvme.zns.id_ctrl ---------------------------------------

def test_id_ns_csi_nvm(c, validate_result, schema):
    got = c.call("nvme.id_ns_csi", device="sim0n1")
    nvm = validate_nvm_id_ns(schema, got)
    # The NVM command set structure: no PI, no storage tags; one entry per LBA format
    # (512 and 4096 bytes: NLBAF 1).
    assert nvm == {"lbstm": 0, "pic": 0, "elbafs": [{"sts": 0, "pif": 0}] * 2}
    assert c.nvme_id_ns(device="sim0n1")["nlbaf"] == 1
    assert c.call("nvme.id_ns_csi", device="sim0", nsid=1, csi=0) == got


def validate_nvm_id_ns(schema, value):
    import jsonschema
    doc = {"$ref": "#/components/schemas/NvmIdNs", "components": schema["components"]}
    jsonschema.Draft7Validator(doc).validate(value)
    return value


def zns_id_ns_expect(mar, mor, zsze):
    return {"zoc": 0, "ozcs": 0, "mar": mar, "mor": mor, "rrl": 0, "frl": 0, "rrl1": 0,
            "rrl2": 0, "rrl3": 0, "frl1": 0, "frl2": 0, "frl3": 0, "numzrwa": 0, "zrwafg": 0,
            "zrwasz": 0, "zrwacap": 0, "lbafe": [{"zsze": zsze, "zdes": 0}]}


def test_zns_id_ns(c, validate_result):
    got = validate_result("nvme.zns.id_ns", c.call("nvme.zns.id_ns", device="sim0n2"))
    # max open / max active 14: MOR / MAR are 0-based.
    assert got == zns_id_ns_expect(13, 13, 2048)
    assert c.call("nvme.zns.id_ns", device="sim0", nsid=2) == got
    assert c.call("nvme.id_ns_csi", device="sim0n2", csi=2) == got


def test_zns_id_ns_from_description(daemon):
    d = daemon(sim=two_ctrl_sim())
    with d.client() as c:
        assert c.call("nvme.zns.id_ns", device="sim0", nsid=9) == zns_id_ns_expect(5, 3, 64)


def test_zns_id_ns_no_limit(daemon):
    sim = sim_json([{"nqn": "nqn.2024-01.io.nvmerpcd:z", "controllers": [{"sn": "Z1"}],
                     "namespaces": [{"nsid": 1, "zoned": {"zone_size": 8, "nr_zones": 4}}]}])
    d = daemon(sim=sim)
    with d.client() as c:
        # No limit: FFFFFFFFh, encoded -1 as nvme-cli 2.3 prints it (was 4294967295).
        assert c.call("nvme.zns.id_ns", device="sim0n1") == zns_id_ns_expect(-1, -1, 8)


@pytest.mark.parametrize("method,params", [("nvme.zns.id_ns", {}),
                                           ("nvme.id_ns_csi", {"csi": 2})])
def test_zns_id_ns_of_conventional_is_not_supported(c, method, params):
    # Refused before anything is sent (Linux 6.12's nvmet crashes on it).
    errors_before = len(c.call("nvme.error_log", device="sim0")["errors"])
    with pytest.raises(nvmerpc.NotSupported) as e:
        c.call(method, device="sim0n1", **params)
    assert "not zoned" in e.value.data["reason"]
    assert len(c.call("nvme.error_log", device="sim0")["errors"]) == errors_before


def test_zns_id_ctrl(c, validate_result):
    got = validate_result("nvme.zns.id_ctrl", c.call("nvme.zns.id_ctrl", device="sim0"))
    assert got == {"zasl": 0}
    assert c.call("nvme.zns.id_ctrl", device="sim0n2") == got


def test_id_ns_csi_bad_csi_rejected_by_schema(d):
    with d.raw() as conn:
        assert_error(conn.call(rpc("nvme.id_ns_csi", id=5, device="sim0n1", csi=1)),
                     -32602, "InvalidParams", id=5, field="params.csi")


def test_identify_methods_are_read_class(d):
    """Read methods: no confirm, allowed for everyone, and not audited."""
    with d.client() as c:
        for method, params in [("nvme.list_ns", {}), ("nvme.list_ctrl", {}),
                               ("nvme.zns.id_ctrl", {})]:
            c.call(method, device="sim0", **params)
        c.call("nvme.ns_descs", device="sim0n1")
        c.call("nvme.zns.id_ns", device="sim0n2")
    assert "audit:" not in d.stderr_text()
    assert SIM_SN  # the default simulator's serial, used by the other files
