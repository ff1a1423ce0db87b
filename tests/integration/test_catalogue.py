"""A catalogue of hostile inputs, one table, one parametrized test.

Each case is sent to one daemon on the built-in simulator (started once for
the module, --no-passthru: no host device is ever touched) and its answers are
checked exactly: the error code and data.name, data.field (with a reason) for
-32602, data.class / data.param for -32007, data.limit for limits, and the id.
After every case the daemon must still answer rpc.ping on the same connection
(or a new one when the case's connection was closed).

Codes are those README.md documents: -32700 only for text that is not JSON
(id null, resumes at the next newline); valid JSON always gets a JSON-RPC
answer; numbers past 64 bits and strings holding U+0000 are -32602 naming the
field (-32600 in the id, -32601 in the method); a repeated member name, U+0000
in a member name and nesting past --max-depth are -32600; device names resolve
against the topology only (never opened), so a path-like name that the schema
pattern admits is -32001 DeviceNotFound; uid 65534 may make read calls only
(-32007 naming the class, and the raising parameter); destructive calls need
confirm equal to the controller's serial (-32008). No case ever carries the
right confirm as root, so nothing on the simulated device changes.
"""
import json
import os

import pytest

from conftest import Daemon, _workdir, as_nobody, assert_error, assert_result

ROOT = os.geteuid() == 0
SN = "NRSIM0000000001"
PING = {"jsonrpc": "2.0", "id": "ping", "method": "rpc.ping"}


# ---- how a case is written ------------------------------------------------------

class E:
    """An error answer: code, data.name from the code, and optionally the id,
    data.field (-32602), data.class / data.param (-32007), (data.limit,
    data.value)."""
    NAMES = {-32700: "ParseError", -32600: "InvalidRequest", -32601: "MethodNotFound",
             -32602: "InvalidParams", -32001: "DeviceNotFound", -32006: "NotSupported",
             -32007: "PermissionDenied", -32008: "ConfirmationRequired",
             -32011: "ResultTooLarge", -32013: "ServerBusy"}

    def __init__(self, code, field=None, id=..., cls=None, param=None, limit=None):
        assert code != -32602 or field, "a -32602 case names its field"
        self.code, self.field, self.id = code, field, id
        self.cls, self.param, self.limit = cls, param, limit

    def check(self, resp):
        data = assert_error(resp, self.code, self.NAMES[self.code], id=self.id, field=self.field)
        if self.cls is not None:
            assert data.get("class") == self.cls, resp
            assert data.get("param") == self.param, resp
        if self.limit is not None:
            assert (data.get("limit"), data.get("value")) == self.limit, resp


class R:
    """A result answer for @id (optionally equal to @value)."""

    def __init__(self, id, value=...):
        self.id, self.value = id, value

    def check(self, resp):
        result = assert_result(resp, self.id)
        if self.value is not ...:
            assert result == self.value, resp


class Batch:
    """A batch answer: an array holding exactly @answers (matched by id; an
    answer with id null is matched in order among those)."""

    def __init__(self, *answers):
        self.answers = answers

    def check(self, resp):
        assert isinstance(resp, list), resp
        assert len(resp) == len(self.answers), resp
        by_id = {}
        nulls = []
        for r in resp:
            assert isinstance(r, dict), resp
            if r.get("id") is None:
                nulls.append(r)
            else:
                assert repr(r["id"]) not in by_id, f"id answered twice: {resp}"
                by_id[repr(r["id"])] = r
        for want in self.answers:
            if want.id is None or want.id is ...:
                assert nulls, resp
                want.check(nulls.pop(0))
            else:
                assert repr(want.id) in by_id, f"no answer for {want.id!r}: {resp}"
                want.check(by_id.pop(repr(want.id)))


class Case:
    """@send: bytes (sent as they are, a newline added if missing), or a
    request / batch as dicts and lists. @expect: the answers in order (E, R,
    Batch); empty: nothing comes. @who: "root" or "nobody" (uid 65534)."""

    def __init__(self, id, send, *expect, who="root"):
        self.id, self.send, self.expect, self.who = id, send, list(expect), who

    def data(self):
        if isinstance(self.send, bytes):
            return self.send if self.send.endswith(b"\n") else self.send + b"\n"
        return json.dumps(self.send, separators=(",", ":")).encode() + b"\n"


def req(method, params=None, id=1, **kw):
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None or kw:
        msg["params"] = dict(params or {}, **kw)
    return msg


def note(method, **params):
    msg = {"jsonrpc": "2.0", "method": method}
    if params:
        msg["params"] = params
    return msg


def raw_params(method, params_text, id=1):
    """A request whose params object is written by hand (numbers JSON cannot
    round-trip through Python, NUL escapes, duplicate keys)."""
    return (b'{"jsonrpc":"2.0","id":%d,"method":"%s","params":%s}'
            % (id, method.encode(), params_text))


BIG = 1 << 64  # past 64 bits
U32 = 1 << 32  # past a 32-bit field

CASES = []


def case(*args, **kw):
    CASES.append(Case(*args, **kw))


# ---- text that is not JSON: -32700, id null --------------------------------------

for name, text in [
        ("unclosed-object", b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping"'),
        ("lone-brace", b"{"),
        ("unclosed-array", b"[1,2"),
        ("bare-word", b"hello"),
        ("truncated-literal", b"tru"),
        ("trailing-comma", b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping",}'),
        ("single-quotes", b"{'jsonrpc':'2.0','id':1,'method':'rpc.ping'}"),
        ("unquoted-key", b'{jsonrpc:"2.0",id:1,method:"rpc.ping"}'),
        ("nan", b'{"jsonrpc":"2.0","id":NaN,"method":"rpc.ping"}'),
        ("infinity", b'{"jsonrpc":"2.0","id":1,"method":"nvme.id_ns","params":{"nsid":Infinity}}'),
        ("hex-number", b'{"jsonrpc":"2.0","id":0x10,"method":"rpc.ping"}'),
        ("leading-zero", b'{"jsonrpc":"2.0","id":01,"method":"rpc.ping"}'),
        ("invalid-utf8", b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping","params":{"x":"\xff\xfe"}}'),
        ("overlong-utf8", b'{"jsonrpc":"2.0","id":1,"method":"rpc.\xc0\xaeping"}'),
        ("lone-surrogate", b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping","params":{"x":"\\ud800"}}'),
        ("bad-escape", b'{"jsonrpc":"2.0","id":1,"method":"rpc.p\\qing"}'),
        ("raw-control-char", b'{"jsonrpc":"2.0","id":1,"method":"rpc.\x01ping"}'),
        ("raw-nul-in-string", b'{"jsonrpc":"2.0","id":1,"method":"nvme.id_ctrl",'
                              b'"params":{"device":"sim0\x00/etc/passwd"}}'),
        ("raw-nul-between-tokens", b'{"jsonrpc":"2.0",\x00"id":1,"method":"rpc.ping"}'),
        ("utf8-bom", b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"rpc.ping"}'),
        ("close-without-open", b'}'),
]:
    case(f"parse-{name}", text, E(-32700, id=None))

# Several values on one line are accepted; what follows a bad one is skipped
# up to the newline.
case("parse-valid-then-garbage", b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping"} @@',
     R(1, "pong"), E(-32700, id=None))
case("parse-two-values-one-line",
     b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping"}{"jsonrpc":"2.0","id":2,"method":"rpc.ping"}',
     R(1, "pong"), R(2, "pong"))

# ---- JSON that is not a request: -32600 ------------------------------------------

for name, text in [("number", b"1"), ("string", b'"rpc.ping"'), ("null", b"null"),
                   ("true", b"true")]:
    case(f"request-not-an-object-{name}", text, E(-32600, id=None))
case("request-empty-batch", b"[]", E(-32600, id=None))
case("request-only-an-id", b'{"id":1}', E(-32600, id=1))
# Regression (invalid request without an id dropped as a notification): an
# object that is not a valid Request is answered -32600 with id null, id or
# not (JSON-RPC 2.0 section 5); only a valid one without an id is a
# notification.
for name, text in [
        ("empty-object", b"{}"),
        ("version-only", b'{"jsonrpc":"2.0"}'),
        ("no-version", b'{"method":"rpc.ping"}'),
        ("wrong-version", b'{"jsonrpc":"1.0","method":"rpc.ping"}'),
        ("method-number", b'{"jsonrpc":"2.0","method":5}'),
        ("params-string", b'{"jsonrpc":"2.0","method":"rpc.ping","params":"x"}'),
        ("unknown-member", b'{"jsonrpc":"2.0","method":"rpc.ping","x":1}')]:
    case(f"invalid-request-without-id-is-answered-{name}", text, E(-32600, id=None))
case("invalid-request-without-id-is-answered-in-batch",
     b'[{},{"jsonrpc":"2.0","method":"rpc.ping"},{"method":"rpc.ping"}]',
     Batch(E(-32600, id=None), E(-32600, id=None)))
case("request-wrong-version", {"jsonrpc": "1.0", "id": 1, "method": "rpc.ping"}, E(-32600))
case("request-version-as-number", {"jsonrpc": 2.0, "id": 1, "method": "rpc.ping"}, E(-32600))
case("request-no-version", {"id": 1, "method": "rpc.ping"}, E(-32600))
case("request-no-method", {"jsonrpc": "2.0", "id": 1}, E(-32600))
case("request-method-number", {"jsonrpc": "2.0", "id": 1, "method": 42}, E(-32600))
case("request-method-null", {"jsonrpc": "2.0", "id": 1, "method": None}, E(-32600))
case("request-method-array", {"jsonrpc": "2.0", "id": 1, "method": ["rpc.ping"]}, E(-32600))
case("request-id-object", {"jsonrpc": "2.0", "id": {"a": 1}, "method": "rpc.ping"},
     E(-32600, id=None))
case("request-id-array", {"jsonrpc": "2.0", "id": [1], "method": "rpc.ping"}, E(-32600, id=None))
case("request-id-bool", {"jsonrpc": "2.0", "id": True, "method": "rpc.ping"}, E(-32600, id=None))
case("request-id-fraction", b'{"jsonrpc":"2.0","id":1.5,"method":"rpc.ping"}', E(-32600, id=None))
case("request-id-exponent", b'{"jsonrpc":"2.0","id":1e3,"method":"rpc.ping"}', E(-32600, id=None))
case("request-id-past-64-bits", b'{"jsonrpc":"2.0","id":%d,"method":"rpc.ping"}' % BIG,
     E(-32600, id=None))
case("request-id-2-pow-63", b'{"jsonrpc":"2.0","id":%d,"method":"rpc.ping"}' % (1 << 63),
     E(-32600, id=None))
case("request-id-huge-negative", b'{"jsonrpc":"2.0","id":-%d,"method":"rpc.ping"}' % BIG,
     E(-32600, id=None))
# params must be structured (JSON-RPC 2.0): a string or null is an invalid
# Request object, not InvalidParams; an array is structured but refused (-32602).
case("request-params-string", {"jsonrpc": "2.0", "id": 1, "method": "nvme.id_ctrl",
                               "params": "sim0"}, E(-32600))
case("request-params-null", {"jsonrpc": "2.0", "id": 1, "method": "nvme.id_ctrl",
                             "params": None}, E(-32600))
case("request-params-number", {"jsonrpc": "2.0", "id": 1, "method": "rpc.ping", "params": 0},
     E(-32600))
case("request-unknown-member", {"jsonrpc": "2.0", "id": 1, "method": "rpc.ping", "x": 1},
     E(-32600))
case("request-duplicate-member", b'{"jsonrpc":"2.0","id":1,"id":2,"method":"rpc.ping"}',
     E(-32600, id=None))
case("request-duplicate-param", raw_params("nvme.id_ctrl", b'{"device":"sim0","device":"x"}'),
     E(-32600, id=None))
case("request-nul-in-member-name", raw_params("rpc.ping", b'{"a\\u0000b":1}'),
     E(-32600, id=None))
case("request-nesting-past-max-depth",
     raw_params("rpc.ping", b'{"x":' + b"[" * 100 + b"]" * 100 + b"}"), E(-32600, id=None))
case("request-deep-bare-arrays", b"[" * 100000 + b"]" * 100000, E(-32600, id=None))
case("request-deep-objects", b'{"a":' * 70 + b"1" + b"}" * 70, E(-32600, id=None))
case("request-line-past-max-line",
     raw_params("rpc.ping", b'{"pad":"' + b"x" * (1 << 20) + b'"}'),
     E(-32600, id=None))
# Regression (max-line and max-depth errors did not name their limit): README
# promises data.limit and data.value for every limit of its table.
case("line-limit-error-names-max-line",
     raw_params("rpc.ping", b'{"pad":"' + b"x" * (1 << 20) + b'"}'),
     E(-32600, id=None, limit=("max-line", 1 << 20)))
case("depth-limit-error-names-max-depth",
     raw_params("rpc.ping", b'{"x":' + b"[" * 100 + b"]" * 100 + b"}"),
     E(-32600, id=None, limit=("max-depth", 64)))
case("request-batch-past-max-batch", [req("rpc.ping", id=i) for i in range(1025)],
     E(-32600, id=None, limit=("max-batch", 1024)))

# ---- methods: -32601 ---------------------------------------------------------------

for name, method in [("unknown", "nvme.format_everything"), ("empty", ""),
                     ("case", "RPC.PING"), ("trailing-space", "rpc.ping "),
                     ("notification-name", "rpc.stream"), ("prefix-only", "nvme."),
                     ("path-like", "../rpc.ping"), ("long", "m" * 100000)]:
    case(f"method-{name}", req(method), E(-32601))
case("method-nul", b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping\\u0000x"}', E(-32601, id=1))

# ---- params: -32602 naming the field ---------------------------------------------

P = "params"
for name, method, params, field in [
        # structure
        ("positional-params", "nvme.id_ctrl", ["sim0"], P),
        ("missing-device", "nvme.id_ctrl", {}, "params.device"),
        ("unknown-param", "nvme.id_ctrl", {"device": "sim0", "bogus": 1}, "params.bogus"),
        ("unknown-param-on-ping", "rpc.ping", {"pad": "x"}, "params.pad"),
        # types
        ("device-number", "nvme.id_ctrl", {"device": 0}, "params.device"),
        ("device-null", "nvme.id_ctrl", {"device": None}, "params.device"),
        ("device-array", "nvme.id_ctrl", {"device": ["sim0"]}, "params.device"),
        ("device-object", "nvme.id_ctrl", {"device": {"name": "sim0"}}, "params.device"),
        ("nsid-string", "nvme.id_ns", {"device": "sim0", "nsid": "1"}, "params.nsid"),
        ("nsid-bool", "nvme.id_ns", {"device": "sim0", "nsid": True}, "params.nsid"),
        ("nsid-fraction", "nvme.id_ns", {"device": "sim0", "nsid": 1.5}, "params.nsid"),
        ("stream-string", "nvme.zns.report_zones", {"device": "sim0n2", "stream": "yes"},
         "params.stream"),
        ("stream-number", "nvme.zns.report_zones", {"device": "sim0n2", "stream": 1},
         "params.stream"),
        ("state-not-in-enum", "nvme.zns.report_zones", {"device": "sim0n2", "state": "open"},
         "params.state"),
        ("controllers-not-array", "nvme.ns_attach", {"device": "sim0", "nsid": 1,
                                                     "controllers": 1}, "params.controllers"),
        ("fields-not-object", "nvme.set_feature", {"device": "sim0", "fid": 4, "fields": []},
         "params.fields"),
        ("cancel-id-object", "rpc.cancel", {"id": {}}, "params.id"),
        ("cancel-without-id", "rpc.cancel", {}, "params.id"),
        # numbers out of range
        ("nsid-negative", "nvme.id_ns", {"device": "sim0", "nsid": -1}, "params.nsid"),
        ("nsid-zero", "nvme.id_ns", {"device": "sim0", "nsid": 0}, "params.nsid"),
        ("nsid-2-pow-32", "nvme.id_ns", {"device": "sim0", "nsid": U32}, "params.nsid"),
        ("nsid-int64-min", "nvme.id_ns", {"device": "sim0", "nsid": -(1 << 63)}, "params.nsid"),
        ("fid-256", "nvme.get_feature", {"device": "sim0", "fid": 256}, "params.fid"),
        ("fid-negative", "nvme.get_feature", {"device": "sim0", "fid": -1}, "params.fid"),
        ("cdw11-2-pow-32", "nvme.get_feature", {"device": "sim0", "fid": 4, "cdw11": U32},
         "params.cdw11"),
        ("set-feature-value-2-pow-32", "nvme.set_feature", {"device": "sim0", "fid": 4,
                                                            "value": U32}, "params.value"),
        ("get-log-lid-256", "nvme.get_log", {"device": "sim0", "lid": 256, "length": 512},
         "params.lid"),
        ("get-log-lsp-128", "nvme.get_log", {"device": "sim0", "lid": 2, "length": 512,
                                             "lsp": 128}, "params.lsp"),
        ("get-log-lsi-65536", "nvme.get_log", {"device": "sim0", "lid": 2, "length": 512,
                                               "lsi": 65536}, "params.lsi"),
        ("get-log-length-past-max", "nvme.get_log", {"device": "sim0", "lid": 2,
                                                     "length": U32}, "params.length"),
        ("get-log-offset-negative", "nvme.get_log", {"device": "sim0", "lid": 2, "length": 512,
                                                     "offset": -4}, "params.offset"),
        ("report-zones-limit-zero", "nvme.zns.report_zones", {"device": "sim0n2", "limit": 0},
         "params.limit"),
        ("report-zones-slba-negative", "nvme.zns.report_zones", {"device": "sim0n2",
                                                                 "slba": -1}, "params.slba"),
        ("ns-create-nsze-zero", "nvme.ns_create", {"device": "sim0", "nsze": 0,
                                                   "lba_size": 512}, "params.nsze"),
        ("ns-create-flbas-64", "nvme.ns_create", {"device": "sim0", "nsze": 8, "flbas": 64},
         "params.flbas"),
        ("ns-attach-cntlid-65536", "nvme.ns_attach", {"device": "sim0", "nsid": 1,
                                                      "controllers": [65536]},
         "params.controllers[0]"),
        ("ns-attach-controllers-empty", "nvme.ns_attach", {"device": "sim0", "nsid": 1,
                                                           "controllers": []},
         "params.controllers"),
        ("ns-attach-controllers-2048", "nvme.ns_attach", {"device": "sim0", "nsid": 1,
                                                          "controllers": [1] * 2048},
         "params.controllers"),
        # oversize strings
        ("device-65-chars", "nvme.id_ctrl", {"device": "s" * 65}, "params.device"),
        ("device-1-mib-less", "nvme.id_ctrl", {"device": "s" * 1000000}, "params.device"),
        ("confirm-21-chars", "nvme.ns_delete", {"device": "sim0", "nsid": 1,
                                                "confirm": SN + "X" * 6}, "params.confirm"),
        ("confirm-number", "nvme.ns_delete", {"device": "sim0", "nsid": 1, "confirm": 1},
         "params.confirm"),
        # device names outside the pattern
        ("device-empty", "nvme.id_ctrl", {"device": ""}, "params.device"),
        ("device-space", "nvme.id_ctrl", {"device": "sim0 "}, "params.device"),
        ("device-newline", "nvme.id_ctrl", {"device": "sim0\n"}, "params.device"),
        ("device-percent-encoded", "nvme.id_ctrl", {"device": "%2e%2e/sim0"}, "params.device"),
        ("device-tilde", "nvme.id_ctrl", {"device": "~root"}, "params.device"),
        ("device-shell", "nvme.id_ctrl", {"device": "sim0;rm -rf /"}, "params.device"),
        ("device-non-ascii", "nvme.id_ctrl", {"device": "sim\u00f8"}, "params.device"),
        ("device-backslash", "nvme.id_ctrl", {"device": "..\\sim0"}, "params.device"),
]:
    case(f"params-{name}", {"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
         E(-32602, field=field))

for name, method, text, field in [
        ("nsid-past-64-bits", "nvme.id_ns", b'{"device":"sim0","nsid":%d}' % BIG, "params.nsid"),
        ("nsid-past-64-bits-negative", "nvme.id_ns", b'{"device":"sim0","nsid":-%d}' % BIG,
         "params.nsid"),
        ("nsid-1e400", "nvme.id_ns", b'{"device":"sim0","nsid":1e400}', "params.nsid"),
        ("nsid-exponent", "nvme.id_ns", b'{"device":"sim0","nsid":1e2}', "params.nsid"),
        ("slba-past-64-bits", "nvme.zns.report_zones", b'{"device":"sim0n2","slba":%d}' % BIG,
         "params.slba"),
        ("cntlid-past-64-bits", "nvme.ns_attach",
         b'{"device":"sim0","nsid":1,"controllers":[1,%d]}' % BIG, "params.controllers[1]"),
        ("nested-huge-number", "nvme.set_feature",
         b'{"device":"sim0","fid":4,"fields":{"tmpth":%d}}' % BIG, "params.fields.tmpth"),
        ("nul-in-device", "nvme.id_ctrl", b'{"device":"sim0\\u0000/etc/passwd"}', "params.device"),
        ("nul-only-device", "nvme.id_ctrl", b'{"device":"\\u0000"}', "params.device"),
        ("nul-in-confirm", "nvme.ns_delete",
         b'{"device":"sim0","nsid":1,"confirm":"NRSIM000000000\\u00001"}', "params.confirm"),
        ("nul-in-nested-string", "nvme.set_feature",
         b'{"device":"sim0","fid":4,"fields":{"x":"a\\u0000"}}', "params.fields.x"),
]:
    case(f"params-{name}", raw_params(method, text), E(-32602, field=field, id=1))

# ---- device names that look like paths: resolved against the topology only -------

for name, device in [("etc-passwd", "/etc/passwd"), ("dot-dot", "../sim0"),
                     ("escape", "sim0/../../x"), ("dev-nvme0", "/dev/nvme0"),
                     ("dev-ng0n1", "/dev/ng0n1"), ("dev-dev", "/dev//dev/sim0"),
                     ("dot-slash", "./sim0"), ("trailing-slash", "sim0/"),
                     ("dev-null", "/dev/null"), ("proc-self", "/proc/self/fd/0"),
                     ("upper-case", "SIM0"), ("leading-zero", "sim00"),
                     ("ns-leading-zero", "sim0n01"), ("ns-past-32-bits", "sim0n4294967296"),
                     ("mctp-like", "mctp:1,8:0"), ("dev-prefix-only", "/dev/"),
                     ("sixty-four-chars", "s" * 64)]:
    case(f"device-{name}", req("nvme.id_ctrl", device=device), E(-32001))
# /dev/ is stripped before the lookup (README: kernel names "also with a /dev/ prefix").
case("device-dev-sim0", req("nvme.id_ctrl", device="/dev/sim0"), R(1))

# ---- destructive calls without the controller's serial: -32008 ------------------

for name, method, params in [
        ("ns-delete-no-confirm", "nvme.ns_delete", {"device": "sim0", "nsid": 1}),
        ("ns-delete-wrong-serial", "nvme.ns_delete",
         {"device": "sim0", "nsid": 1, "confirm": "NRSIM0000000002"}),
        ("ns-delete-lower-case", "nvme.ns_delete",
         {"device": "sim0", "nsid": 1, "confirm": SN.lower()}),
        ("ns-delete-empty", "nvme.ns_delete", {"device": "sim0", "nsid": 1, "confirm": ""}),
        ("ns-delete-trailing-space", "nvme.ns_delete",
         {"device": "sim0n1", "confirm": SN[:-1] + " "}),
        ("ns-delete-prefix", "nvme.ns_delete", {"device": "sim0", "nsid": 1, "confirm": SN[:-1]}),
        ("ns-detach-no-confirm", "nvme.ns_detach", {"device": "sim0", "nsid": 1}),
        ("format-no-confirm", "nvme.format", {"device": "sim0n1", "lbaf": 0}),
        ("format-device-name-as-confirm", "nvme.format",
         {"device": "sim0n1", "lbaf": 0, "confirm": "sim0"}),
        ("sanitize-wrong-serial", "nvme.sanitize",
         {"device": "sim0", "action": "block", "confirm": "X"}),
        ("reset-no-confirm", "nvme.reset", {"device": "sim0"}),
        ("fw-commit-no-confirm", "nvme.fw_commit", {"device": "sim0", "slot": 2, "action": 1}),
        ("zone-reset-no-confirm", "nvme.zns.mgmt_send",
         {"device": "sim0n2", "action": "reset", "all": True}),
]:
    case(f"confirm-{name}", req(method, params), E(-32008))

# ---- write and destructive calls as uid 65534: -32007 --------------------------

for name, method, params, cls, param in [
        ("set-feature", "nvme.set_feature", {"device": "sim0", "fid": 4, "value": 350},
         "write", None),
        ("ns-create", "nvme.ns_create", {"device": "sim0", "nsze": 8, "lba_size": 512},
         "write", None),
        ("ns-attach", "nvme.ns_attach", {"device": "sim0", "nsid": 1}, "write", None),
        ("ns-delete-right-serial", "nvme.ns_delete", {"device": "sim0", "nsid": 1,
                                                      "confirm": SN}, "destructive", None),
        ("ns-delete-no-confirm", "nvme.ns_delete", {"device": "sim0", "nsid": 1},
         "destructive", None),
        ("ns-detach", "nvme.ns_detach", {"device": "sim0", "nsid": 1, "confirm": SN},
         "destructive", None),
        ("format", "nvme.format", {"device": "sim0n1", "lbaf": 0, "confirm": SN},
         "destructive", None),
        ("sanitize", "nvme.sanitize", {"device": "sim0", "action": "block", "confirm": SN},
         "destructive", None),
        ("reset", "nvme.reset", {"device": "sim0", "confirm": SN}, "destructive", None),
        ("zone-reset", "nvme.zns.mgmt_send", {"device": "sim0n2", "action": "reset",
                                              "all": True, "confirm": SN}, "destructive",
         "params.action"),
        ("zone-offline", "nvme.zns.mgmt_send", {"device": "sim0n2", "action": "offline",
                                                "slba": 0, "confirm": SN}, "destructive",
         "params.action"),
        ("zone-open", "nvme.zns.mgmt_send", {"device": "sim0n2", "action": "open", "slba": 0},
         "write", None),
        ("self-test", "nvme.self_test", {"device": "sim0", "action": "short"}, "write", None),
        ("rescan", "nvme.rescan", {}, "write", None),
        ("ns-rescan", "nvme.ns_rescan", {"device": "sim0"}, "write", None),
        ("get-log-rae-false", "nvme.get_log", {"device": "sim0", "lid": 2, "length": 512,
                                               "rae": False}, "write", "params.rae"),
        ("get-log-lsp", "nvme.get_log", {"device": "sim0", "lid": 2, "length": 512, "lsp": 1},
         "write", "params.lsp"),
        ("get-log-lid-80h", "nvme.get_log", {"device": "sim0", "lid": 128, "length": 64},
         "write", "params.lid"),
        ("telemetry-create", "nvme.telemetry_log", {"device": "sim0", "create": True},
         "write", "params.create"),
        ("write-on-unknown-device", "nvme.set_feature", {"device": "/etc/passwd", "fid": 4,
                                                         "value": 1}, "write", None),
]:
    case(f"nobody-{name}", req(method, params), E(-32007, cls=cls, param=param), who="nobody")
case("nobody-notification-write-gets-nothing",
     note("nvme.set_feature", device="sim0", fid=4, value=350), who="nobody")
case("nobody-batch-read-and-writes",
     [req("nvme.id_ctrl", id=1, device="sim0"),
      req("nvme.ns_delete", id=2, device="sim0", nsid=1, confirm=SN),
      req("nvme.get_log", id=3, device="sim0", lid=2, length=512, rae=False),
      req("rpc.ping", id=4)],
     Batch(R(1), E(-32007, id=2, cls="destructive"), E(-32007, id=3, cls="write", param="params.rae"),
           R(4, "pong")), who="nobody")

# ---- huge and odd ids --------------------------------------------------------------

case("id-int64-max", req("rpc.ping", id=(1 << 63) - 1), R((1 << 63) - 1, "pong"))
case("id-int64-min", req("rpc.ping", id=-(1 << 63)), R(-(1 << 63), "pong"))
case("id-long-string", req("rpc.ping", id="i" * 100000), R("i" * 100000, "pong"))
case("id-empty-string", req("rpc.ping", id=""), R("", "pong"))
case("id-nul-in-string", b'{"jsonrpc":"2.0","id":"a\\u0000b","method":"rpc.ping"}',
     R("a\u0000b", "pong"))
case("id-null-error-keeps-null", req("nvme.id_ctrl", id=None, device="/etc/passwd"),
     E(-32001, id=None))

# ---- batches mixing all of the above ----------------------------------------------

case("batch-of-non-objects", [1, "x", None],
     Batch(E(-32600, id=None), E(-32600, id=None), E(-32600, id=None)))
case("batch-nested-batch", [[req("rpc.ping")]], Batch(E(-32600, id=None)))
case("batch-mixed",
     [req("rpc.ping", id=1),
      req("nvme.no_such", id=2),
      {"jsonrpc": "2.0", "id": 3, "method": "nvme.id_ns", "params": {"device": "sim0",
                                                                      "nsid": -1}},
      req("nvme.id_ctrl", id=4, device="../sim0"),
      req("nvme.ns_delete", id=5, device="sim0", nsid=1, confirm="WRONG"),
      {"jsonrpc": "1.0", "id": 6, "method": "rpc.ping"},
      note("rpc.ping"),
      7,
      req("nvme.id_ctrl", id=8, device="sim0")],
     Batch(R(1, "pong"), E(-32601, id=2), E(-32602, id=3, field="params.nsid"),
           E(-32001, id=4), E(-32008, id=5), E(-32600, id=6), E(-32600, id=None), R(8)))
case("batch-raw-mixed",
     b'[{"jsonrpc":"2.0","id":1,"method":"nvme.id_ns","params":{"device":"sim0","nsid":%d}},'
     b'{"jsonrpc":"2.0","id":2,"method":"rpc.ping\\u0000"},'
     b'{"jsonrpc":"2.0","id":3,"method":"nvme.id_ctrl","params":{"device":"sim0\\u0000"}},'
     b'{"jsonrpc":"2.0","id":1e999,"method":"rpc.ping"},'
     b'{"jsonrpc":"2.0","id":5,"method":"rpc.ping"}]' % BIG,
     Batch(E(-32602, id=1, field="params.nsid"), E(-32601, id=2),
           E(-32602, id=3, field="params.device"), E(-32600, id=None), R(5, "pong")))
case("batch-only-notifications", [note("rpc.ping"), note("nvme.id_ctrl", device="/etc/passwd")])
case("batch-duplicate-member-in-element",
     b'[{"jsonrpc":"2.0","id":1,"method":"rpc.ping"},'
     b'{"jsonrpc":"2.0","id":2,"id":3,"method":"rpc.ping"}]', E(-32600, id=None))
case("batch-unfinished", b'[{"jsonrpc":"2.0","id":1,"method":"rpc.ping"},', E(-32700, id=None))
case("batch-element-past-64-bits-param",
     [req("rpc.ping", id=1), req("nvme.id_ns", id=2, device="sim0", nsid=U32)],
     Batch(R(1, "pong"), E(-32602, id=2, field="params.nsid")))
case("batch-destructive-wrong-confirm-and-read",
     [req("nvme.format", id=1, device="sim0n1", lbaf=0, confirm=SN.lower()),
      req("nvme.smart_log", id=2, device="sim0")],
     Batch(E(-32008, id=1), R(2)))


# ---- the test ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalogue_daemon():
    """One daemon for the whole table; restarted if a case killed it (that
    case fails on its ping)."""
    holder = {}

    def get():
        d = holder.get("d")
        if d is None or d.proc.poll() is not None:
            d = Daemon(_workdir(), ["--no-passthru"])
            d.wait_ready()
            holder.setdefault("all", []).append(d)
            holder["d"] = d
        return d

    yield get
    problems = []
    for d in holder.get("all", []):
        alive = d.proc.poll() is None
        rc = d.stop()
        if not alive:
            problems.append(f"a daemon died during the catalogue ({rc}):\n{d.stderr_text()}")
        elif rc != 0:
            problems.append(f"daemon exited {rc} on SIGTERM:\n{d.stderr_text()}")
    if problems:
        pytest.fail("\n".join(problems))


def run_as_root(d, case):
    with d.raw(timeout=15.0) as conn:
        conn.send(case.data())
        for want in case.expect:
            want.check(conn.recv())
        if not case.expect:
            conn.expect_silence(0.3)
        # The same connection still serves.
        assert assert_result(conn.call(PING), "ping") == "pong"
    with d.raw() as conn:  # and a new one
        assert assert_result(conn.call(PING), "ping") == "pong"


def run_as_nobody(d, case):
    replies = as_nobody(d.socket, [case.send, PING])
    got = [r for r in replies[:-1] if r is not None]
    assert len(got) == len(case.expect), replies
    for want, resp in zip(case.expect, got):
        want.check(resp)
    assert assert_result(replies[-1], "ping") == "pong"


assert len(CASES) >= 100, len(CASES)
assert len({c.id for c in CASES}) == len(CASES), "case ids are unique"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(catalogue_daemon, case):
    if case.who == "nobody" and not ROOT:
        pytest.skip("needs root to drop to uid 65534")
    d = catalogue_daemon()
    if case.who == "nobody":
        run_as_nobody(d, case)
    else:
        run_as_root(d, case)
    assert d.proc.poll() is None, d.stderr_text()
