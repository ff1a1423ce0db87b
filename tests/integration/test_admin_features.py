"""Get Features / Set Features round trips on the simulator: sel current, default, saved and
supported, save, fields merged into the current value, data buffers, error paths."""
import base64

import pytest

import nvmerpc
from conftest import assert_error, rpc


def feat(c, fid, **kw):
    return c.call("nvme.get_feature", device="sim0", fid=fid, **kw)


def test_get_feature_decoded(c, validate_result):
    got = validate_result("nvme.get_feature", feat(c, 4))
    # WCTEMP is 343 K: the over-temperature threshold of the composite sensor defaults to it.
    assert got == {"fid": 4, "name": "Temperature Threshold", "sel": "current", "value": 343,
                   "fields": {"tmpth": 343, "tmpsel": 0, "thsel": 0}}
    assert validate_result("nvme.get_feature", feat(c, 7))["fields"] == {"nsqr": 63, "ncqr": 63}


def test_set_feature_current_not_saved(c, validate_result):
    done = validate_result("nvme.set_feature", c.call("nvme.set_feature", device="sim0", fid=4,
                                                      value=330))
    assert done == {"fid": 4, "name": "Temperature Threshold", "value": 330, "save": False,
                    "cdw0": 0}
    assert feat(c, 4)["value"] == 330
    assert feat(c, 4, sel="default")["value"] == 343
    assert feat(c, 4, sel="saved")["value"] == 343


def test_set_feature_saved(c):
    c.call("nvme.set_feature", device="sim0", fid=4, value=320, save=True)
    assert [feat(c, 4, sel=s)["value"] for s in ("current", "saved", "default")] == \
        [320, 320, 343]
    sup = feat(c, 4, sel="supported")
    assert sup["sel"] == "supported"
    assert sup["fields"] == {"saveable": 1, "ns_specific": 0, "changeable": 1}
    assert sup["value"] == 5


def test_set_feature_not_saveable_is_nvme_status(c):
    # Number of Queues is not saveable: Feature Identifier Not Saveable (SCT 1, 0Dh).
    assert feat(c, 7, sel="supported")["fields"]["saveable"] == 0
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        c.call("nvme.set_feature", device="sim0", fid=7, value=0x00010001, save=True)
    assert (e.value.data["sct"], e.value.data["sc"]) == (1, 0x0D)


def test_set_feature_fields_merge(c):
    c.call("nvme.set_feature", device="sim0", fid=0x0B, value=0x0000_0102)
    done = c.call("nvme.set_feature", device="sim0", fid=0x0B, fields={"fan": 1})
    # The fields given change, the others keep the current value.
    assert done["value"] == 0x0000_0302
    got = feat(c, 0x0B)
    assert got["value"] == 0x302 and got["fields"]["smart"] == 2
    assert (got["fields"]["nan"], got["fields"]["fan"]) == (1, 1)


def test_set_feature_bad_field(d):
    with d.raw() as conn:
        assert_error(conn.call(rpc("nvme.set_feature", id=1, device="sim0", fid=4,
                                   fields={"nope": 1})),
                     -32602, "InvalidParams", id=1, field="params.fields.nope")
        assert_error(conn.call(rpc("nvme.set_feature", id=2, device="sim0", fid=4,
                                   fields={"thsel": 4})),
                     -32602, "InvalidParams", id=2, field="params.fields.thsel")
        assert_error(conn.call(rpc("nvme.set_feature", id=3, device="sim0", fid=4)),
                     -32602, "InvalidParams", id=3, field="params.value")
        assert_error(conn.call(rpc("nvme.get_feature", id=4, device="sim0", fid=4, sel="now")),
                     -32602, "InvalidParams", id=4, field="params.sel")


def test_namespace_feature(c):
    # Error Recovery is per namespace: the namespace's name supplies the NSID.
    c.call("nvme.set_feature", device="sim0n1", fid=5, fields={"tler": 30})
    assert c.call("nvme.get_feature", device="sim0n1", fid=5)["fields"]["tler"] == 30
    assert c.call("nvme.get_feature", device="sim0", fid=5, nsid=1)["value"] == 30
    assert c.call("nvme.get_feature", device="sim0", fid=5, nsid=2)["value"] == 0


def test_feature_with_data_timestamp(c, validate_result):
    stamp = (1_700_000_000_000).to_bytes(6, "little") + bytes(2)
    c.call("nvme.set_feature", device="sim0", fid=0x0E, data=base64.b64encode(stamp).decode())
    got = validate_result("nvme.get_feature", feat(c, 0x0E))
    raw = base64.b64decode(got["data"])
    assert len(raw) == 8
    now = int.from_bytes(raw[:6], "little")
    # The timestamp runs on from the value set (never backwards, never far ahead).
    assert 1_700_000_000_000 <= now < 1_700_000_000_000 + 600_000


def test_unknown_fid_is_nvme_status(c):
    with pytest.raises(nvmerpc.NvmeStatus) as e:
        feat(c, 0x80)
    assert e.value.data["raw"] == 0x4002


def test_set_feature_is_audited(d, c):
    c.call("nvme.set_feature", device="sim0", fid=4, value=340)
    c.call("nvme.get_feature", device="sim0", fid=4)
    log = [l for l in d.stderr_text().splitlines() if "audit:" in l]
    assert len(log) == 1 and "method=nvme.set_feature device=sim0 outcome=ok" in log[0], log
