#!/usr/bin/python3
"""A bounded soak of nvmerpcd on the simulator.

Starts its own daemon (--simulate=FILE, --no-passthru, a socket in a temp
directory), then for --seconds runs --clients root connections mixing reads,
pipelined requests, batches and zone report streams, cutting some connections
on purpose (mid-line, mid-batch, mid-stream, with answers unread), plus
--nobody connections as uid 65534 (forked, when run as root) whose write and
destructive calls must be refused with -32007, while one root client changes
the topology continuously (ns_create / ns_attach / ns_detach / ns_delete,
ns_rescan, rescan, set_feature).

Exits 1 when: a request on a connection the client kept open got no answer
(or two), an answer is not well-formed JSON-RPC (or names the wrong id, seq or
chunk count), an error code cannot be right for what was sent (InternalError;
a protocol error for a valid request; PermissionDenied for root; a write from
uid 65534 not refused), the topology did not change as the mutator's answers
said, RSS grew more than 10 % from the checkpoint after warm-up to the end
(skipped under AddressSanitizer), the daemon's open descriptors did not come
back to the baseline once the clients were gone, the daemon died, a sanitizer
reported, or SIGTERM did not end it with status 0.

Standard library only. Only the local Unix socket is used; every loop stops
by itself at the deadline. Usage: bench/soak.py --seconds 60 --daemon build/nvmerpcd
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.geteuid() == 0
NOBODY = 65534

# Three controllers: sim0 and sim1 share subsystem 0 (the one the mutator
# reshapes), sim2 is alone in a slower subsystem 1. Zoned namespaces have
# enough zones that an unlimited stream spans many chunks.
SIM = {"subsystems": [
    {"nqn": "nqn.2026-11.io.nvmerpcd:soak0", "capacity": 16 << 30,
     "controllers": [{"sn": "SOAK0A", "cntlid": 1}, {"sn": "SOAK0B", "cntlid": 2}],
     "namespaces": [
         {"nsid": 1, "lba_size": 512, "blocks": 2097152},
         {"nsid": 2, "lba_size": 512,
          "zoned": {"zone_size": 64, "nr_zones": 20000, "max_open": 14, "max_active": 14}}]},
    {"nqn": "nqn.2026-11.io.nvmerpcd:soak1", "capacity": 8 << 30,
     "controllers": [{"sn": "SOAK1A", "cntlid": 1, "latency_us": 300}],
     "namespaces": [
         {"nsid": 1, "lba_size": 4096, "blocks": 262144},
         {"nsid": 2, "lba_size": 4096, "zoned": {"zone_size": 256, "nr_zones": 4096}}]},
]}
SN = {"sim0": "SOAK0A", "sim1": "SOAK0B", "sim2": "SOAK1A"}
CTRLS = ["sim0", "sim1", "sim2"]
STATIC_NS = ["sim0n1", "sim0n2", "sim1n1", "sim1n2", "sim2n1", "sim2n2"]
ZONED = ["sim0n2", "sim1n2", "sim2n2"]
# Namespaces the mutator creates and deletes: present or not at any moment.
DYNAMIC_NS = ["sim0n3", "sim1n3", "sim2n3", "sim0n4"]

NAMES = {-32700: "ParseError", -32600: "InvalidRequest", -32601: "MethodNotFound",
         -32602: "InvalidParams", -32603: "InternalError", -32001: "DeviceNotFound",
         -32002: "DeviceBusy", -32003: "Timeout", -32004: "NvmeStatus", -32005: "MiStatus",
         -32006: "NotSupported", -32007: "PermissionDenied", -32008: "ConfirmationRequired",
         -32009: "TransportError", -32010: "Cancelled", -32011: "ResultTooLarge",
         -32013: "ServerBusy"}
# Never right for a well-formed request to an existing method.
BAD_FOR_VALID = {-32700, -32600, -32601, -32602, -32603}
LIST_MAX = 20
RSS_WINDOW = 5.0  # seconds after warm-up whose highest RSS is the checkpoint  # failures kept per kind (the counts are complete)


def rpc(method, id, params=None):
    msg = {"jsonrpc": "2.0", "method": method}
    if id is not None:
        msg["id"] = id
    if params:
        msg["params"] = params
    return msg


def text(msg):
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


class Stats:
    """Counters of one or more clients; merged at the end."""

    def __init__(self):
        self.sent = 0           # requests with an id (batch elements each)
        self.notifications = 0  # requests without an id
        self.answered = 0
        self.results = 0
        self.errors = collections.Counter()  # code -> n
        self.cut = collections.Counter()     # how -> connections cut on purpose
        self.abandoned = 0      # requests left unanswered on a cut connection
        self.connections = 0
        self.batches = 0
        self.streams = 0
        self.stream_chunks = 0
        self.stream_items = 0
        self.denied_ok = 0      # writes from uid 65534 refused with -32007
        self.topology_steps = 0
        self.failures = collections.defaultdict(list)  # kind -> [detail]
        self.failure_counts = collections.Counter()

    def fail(self, kind, detail):
        self.failure_counts[kind] += 1
        if len(self.failures[kind]) < LIST_MAX:
            self.failures[kind].append(detail[:400])

    def merge(self, o):
        for k in ("sent", "notifications", "answered", "results", "abandoned", "connections",
                  "batches", "streams", "stream_chunks", "stream_items", "denied_ok",
                  "topology_steps"):
            setattr(self, k, getattr(self, k) + getattr(o, k))
        self.errors.update(o.errors)
        self.cut.update(o.cut)
        self.failure_counts.update(o.failure_counts)
        for k, v in o.failures.items():
            self.failures[k].extend(v[:max(0, LIST_MAX - len(self.failures[k]))])

    def to_json(self):
        d = dict(vars(self))
        d["errors"] = {str(k): v for k, v in self.errors.items()}
        d["failures"] = dict(self.failures)
        return json.dumps(d)

    @classmethod
    def from_json(cls, s):
        st = cls()
        d = json.loads(s)
        for k, v in d.items():
            setattr(st, k, v)
        st.errors = collections.Counter({int(k): v for k, v in d["errors"].items()})
        st.cut = collections.Counter(d["cut"])
        st.failure_counts = collections.Counter(d["failure_counts"])
        st.failures = collections.defaultdict(list, d["failures"])
        return st


class Req:
    """What was asked, to judge its answer."""
    __slots__ = ("method", "expect", "stream", "batch", "chunks", "items", "cancelled")

    def __init__(self, method, expect, stream=False, batch=None):
        self.method = method
        self.expect = expect  # "any", "denied" (must be -32007), "allowed" (must not be)
        self.stream = stream
        self.batch = batch
        self.chunks = 0
        self.items = 0
        self.cancelled = False


class Unanswered(Exception):
    pass


class Abort(Exception):
    """The soak cannot go on: the daemon did not start or died."""


class Conn:
    """One client connection: sends, then matches every answer to its id."""

    def __init__(self, path, stats, rng, read_timeout, who):
        self.stats = stats
        self.rng = rng
        self.who = who
        self.read_timeout = read_timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(read_timeout)
        self.sock.connect(path)
        self.buf = bytearray()
        self.pending = {}   # id -> Req
        self.batches = {}   # batch number -> set of ids
        self.next_id = 0
        self.next_batch = 0
        self.closed = False
        stats.connections += 1

    def new_id(self):
        self.next_id += 1
        # Ids of every JSON-RPC kind: integers, strings, and large integers.
        r = self.next_id % 3
        if r == 0:
            return self.next_id
        if r == 1:
            return f"{self.who}-{self.next_id}"
        return (1 << 62) + self.next_id

    def request(self, method, expect="any", params=None, **kw):
        """A request dict registered as pending (not sent yet)."""
        params = dict(params or {}, **kw)
        id = self.new_id()
        self.pending[id] = Req(method, expect, bool(params.get("stream")))
        self.stats.sent += 1
        return rpc(method, id, params)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.stats.fail("send", f"{self.who}: send failed: {e!r}")
            raise Unanswered() from e

    def batch(self, elements):
        """@elements: (method, expect, params) or (method, None, params) for a
        notification. Returns the batch text, elements registered."""
        n = self.next_batch
        self.next_batch += 1
        ids = set()
        msgs = []
        for method, expect, params in elements:
            if expect is None:
                msgs.append(rpc(method, None, params))
                self.stats.notifications += 1
                continue
            msg = self.request(method, expect, **params)
            self.pending[msg["id"]].batch = n
            ids.add(msg["id"])
            msgs.append(msg)
        if ids:
            self.batches[n] = ids
        self.stats.batches += 1
        return json.dumps(msgs, separators=(",", ":")).encode() + b"\n"

    def readline(self):
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line = bytes(self.buf[:nl])
                del self.buf[:nl + 1]
                return line
            try:
                chunk = self.sock.recv(262144)
            except socket.timeout:
                raise Unanswered(f"no answer within {self.read_timeout} s") from None
            except OSError as e:
                raise Unanswered(f"recv: {e!r}") from e
            if not chunk:
                raise Unanswered("the daemon closed the connection")
            self.buf += chunk

    def read_one(self):
        """Reads and judges one line; returns the parsed message."""
        line = self.readline()
        try:
            msg = json.loads(line)
        except ValueError:
            self.stats.fail("malformed", f"{self.who}: not JSON: {line[:200]!r}")
            return None
        if isinstance(msg, list):
            self.judge_batch(msg, line)
        elif isinstance(msg, dict) and msg.get("method") == "rpc.stream":
            self.judge_chunk(msg, line)
        else:
            self.judge_response(msg, line)
        return msg

    def drain(self):
        """Reads until every pending id is answered; a timeout or EOF with
        ids pending is a failure (this connection was kept open)."""
        try:
            while self.pending:
                self.read_one()
        except Unanswered as e:
            ids = list(self.pending)[:5]
            methods = sorted({r.method for r in self.pending.values()})
            self.stats.fail("unanswered", f"{self.who}: {len(self.pending)} ids unanswered "
                            f"({e}): ids {ids} methods {methods}")
            self.pending.clear()
            self.close()
            return False
        return True

    def judge_chunk(self, msg, line):
        params = msg.get("params")
        if set(msg) != {"jsonrpc", "method", "params"} or msg.get("jsonrpc") != "2.0" or \
                not isinstance(params, dict) or not isinstance(params.get("items"), list):
            self.stats.fail("malformed", f"{self.who}: bad rpc.stream: {line[:200]!r}")
            return
        req = self.pending.get(params.get("id"))
        if req is None or not req.stream:
            self.stats.fail("malformed", f"{self.who}: rpc.stream for an id not streaming: "
                            f"{line[:200]!r}")
            return
        if params.get("seq") != req.chunks:
            self.stats.fail("malformed", f"{self.who}: rpc.stream seq {params.get('seq')} "
                            f"expected {req.chunks}")
        req.chunks += 1
        req.items += len(params["items"])
        self.stats.stream_chunks += 1
        self.stats.stream_items += len(params["items"])

    def judge_batch(self, msgs, line):
        if not msgs:
            self.stats.fail("malformed", f"{self.who}: empty batch answer")
            return
        first = msgs[0].get("id") if isinstance(msgs[0], dict) else None
        req = self.pending.get(first) if isinstance(first, (int, str)) else None
        if req is None or req.batch is None:
            self.stats.fail("malformed", f"{self.who}: batch answer for no batch: {line[:200]!r}")
            return
        want = self.batches.pop(req.batch)
        got = [m.get("id") if isinstance(m, dict) else None for m in msgs]
        if sorted(map(repr, got)) != sorted(map(repr, want)):
            self.stats.fail("malformed", f"{self.who}: batch answer ids {got} for {sorted(want, key=repr)}")
        for m in msgs:
            self.judge_response(m, line, in_batch=True)

    def judge_response(self, msg, line, in_batch=False):
        if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0" or "id" not in msg or \
                ("result" in msg) == ("error" in msg) or \
                not set(msg) <= {"jsonrpc", "id", "result", "error"}:
            self.stats.fail("malformed", f"{self.who}: not a JSON-RPC response: {line[:200]!r}")
            return
        id = msg["id"]
        req = self.pending.pop(id, None) if isinstance(id, (int, str)) else None
        if req is None:
            self.stats.fail("malformed", f"{self.who}: answer for an id not pending "
                            f"(unknown or answered twice): {line[:200]!r}")
            return
        if (req.batch is not None) != in_batch:
            self.stats.fail("malformed", f"{self.who}: {req.method} answered "
                            f"{'in' if in_batch else 'outside'} a batch")
        self.stats.answered += 1
        if "result" in msg:
            self.stats.results += 1
            if req.expect == "denied":
                self.stats.fail("not-denied", f"{self.who}: {req.method} as uid {NOBODY} "
                                f"succeeded: {line[:200]!r}")
            if req.stream:
                self.judge_stream_end(req, msg["result"])
            return
        err = msg["error"]
        code = err.get("code") if isinstance(err, dict) else None
        data = err.get("data") if isinstance(err, dict) else None
        if not isinstance(code, int) or not isinstance(err.get("message"), str) or \
                not isinstance(data, dict) or data.get("name") != NAMES.get(code):
            self.stats.fail("malformed", f"{self.who}: bad error object: {line[:200]!r}")
            return
        self.stats.errors[code] += 1
        if req.expect == "denied":
            if code == -32007:
                self.stats.denied_ok += 1
            else:
                self.stats.fail("not-denied", f"{self.who}: {req.method} as uid {NOBODY}: "
                                f"{code} not -32007: {line[:200]!r}")
        elif code in BAD_FOR_VALID or (code == -32007 and req.expect != "allowed-or-denied"):
            self.stats.fail("unexpected-code", f"{self.who}: {req.method}: {line[:300]!r}")
        elif code == -32010 and not req.cancelled:
            self.stats.fail("unexpected-code", f"{self.who}: {req.method} Cancelled "
                            f"without rpc.cancel: {line[:300]!r}")

    def judge_stream_end(self, req, result):
        self.stats.streams += 1
        if not isinstance(result, dict) or result.get("chunks") != req.chunks:
            self.stats.fail("malformed", f"{self.who}: {req.method} stream ended with "
                            f"{result!r:.200} after {req.chunks} chunks")
        elif req.method == "nvme.zns.report_zones" and result.get("nr_zones") != req.items:
            self.stats.fail("malformed", f"{self.who}: stream nr_zones {result.get('nr_zones')} "
                            f"but {req.items} zones streamed")

    def cut(self, how):
        """Closes on purpose: what is pending is abandoned, not unanswered."""
        self.stats.cut[how] += 1
        self.stats.abandoned += len(self.pending)
        self.pending.clear()
        self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            self.sock.close()


# ---- what clients ask ------------------------------------------------------------

def any_ns(rng):
    return rng.choice(STATIC_NS + STATIC_NS + DYNAMIC_NS)


def read_call(rng):
    """(method, params) of a read-class call."""
    k = rng.randrange(12)
    if k == 0:
        return "nvme.id_ctrl", {"device": rng.choice(CTRLS)}
    if k == 1:
        return "nvme.id_ns", {"device": any_ns(rng)}
    if k == 2:
        return "nvme.id_ns", {"device": rng.choice(CTRLS), "nsid": rng.randint(1, 4)}
    if k == 3:
        return "nvme.smart_log", {"device": rng.choice(CTRLS + STATIC_NS)}
    if k == 4:
        lid, length = rng.choice([(1, 4096), (2, 512), (3, 512), (4, 4096), (5, 4096)])
        return "nvme.get_log", {"device": rng.choice(CTRLS), "lid": lid, "length": length}
    if k == 5:
        return "nvme.list", {}
    if k == 6:
        return "nvme.list_ns", {"device": rng.choice(CTRLS)}
    if k == 7:
        return "nvme.get_feature", {"device": rng.choice(CTRLS), "fid": rng.choice([2, 4, 7, 8, 11])}
    if k == 8:
        return "nvme.zns.report_zones", {"device": rng.choice(ZONED), "limit": rng.randint(1, 200),
                                         "slba": rng.choice([0, 64, 1024])}
    if k == 9:
        return "server.stats", {}
    if k == 10:
        return "nvme.id_ctrl", {"device": any_ns(rng)}
    return "rpc.ping", {}


def stream_call(rng):
    if rng.random() < 0.8:
        p = {"device": rng.choice(ZONED), "stream": True}
        if rng.random() < 0.5:
            p["limit"] = rng.randint(1, 5000)
        if rng.random() < 0.2:
            p["state"] = rng.choice(["empty", "all", "full"])
        return "nvme.zns.report_zones", p
    return "nvme.get_log", {"device": rng.choice(CTRLS), "lid": 1, "length": 4096,
                            "stream": True}


def write_call(rng):
    """(method, params) of a write or destructive call (for uid 65534)."""
    k = rng.randrange(12)
    dev = rng.choice(CTRLS)
    if k == 0:
        return "nvme.set_feature", {"device": dev, "fid": 4, "value": 350}
    if k == 1:
        return "nvme.ns_create", {"device": dev, "nsze": 8192, "lba_size": 512}
    if k == 2:
        return "nvme.ns_delete", {"device": dev, "nsid": 1, "confirm": SN[dev]}
    if k == 3:
        return "nvme.ns_attach", {"device": dev, "nsid": 1}
    if k == 4:
        return "nvme.ns_detach", {"device": dev, "nsid": 1, "confirm": SN[dev]}
    if k == 5:
        return "nvme.rescan", {}
    if k == 6:
        return "nvme.ns_rescan", {"device": dev}
    if k == 7:
        return "nvme.get_log", {"device": dev, "lid": 2, "length": 512, "rae": False}
    if k == 8:
        return "nvme.get_log", {"device": dev, "lid": 7, "length": 512, "lsp": 1}
    if k == 9:
        return "nvme.format", {"device": "sim0n1", "lbaf": 0, "confirm": "SOAK0A"}
    if k == 10:
        return "nvme.sanitize", {"device": dev, "action": "block", "confirm": SN[dev]}
    return "nvme.reset", {"device": dev, "confirm": SN[dev]}


# ---- clients ---------------------------------------------------------------------

class Client(threading.Thread):
    """One connection at a time, reconnecting, until the deadline."""

    def __init__(self, n, path, deadline, stats, seed, read_timeout, nobody=False):
        super().__init__(name=f"client-{n}", daemon=True)
        self.path = path
        self.deadline = deadline
        self.stats = stats
        self.rng = random.Random(seed)
        self.read_timeout = read_timeout
        self.nobody = nobody
        self.who = f"{'nobody' if nobody else 'root'}{n}"

    def run(self):
        try:
            while time.monotonic() < self.deadline:
                self.session()
        except Exception as e:  # noqa: BLE001 - a client bug is reported, not hidden
            self.stats.fail("client-crash", f"{self.who}: {e!r}")

    def op(self, conn):
        """One call as this client may make it: writes refused for nobody."""
        if self.nobody and self.rng.random() < 0.5:
            method, params = write_call(self.rng)
            return method, "denied", params
        method, params = read_call(self.rng)
        return method, ("allowed" if self.nobody else "any"), params

    def session(self):
        rng = self.rng
        try:
            conn = Conn(self.path, self.stats, rng, self.read_timeout, self.who)
        except OSError as e:
            self.stats.fail("connect", f"{self.who}: {e!r}")
            time.sleep(0.1)
            return
        rounds = rng.randint(1, 40)
        try:
            for _ in range(rounds):
                if time.monotonic() >= self.deadline:
                    break
                if rng.random() < 0.04:
                    self.cut_somehow(conn)
                    return
                if not self.round(conn):
                    return
            conn.close()
        except Unanswered:
            conn.pending.clear()
            conn.close()

    def round(self, conn):
        rng = self.rng
        k = rng.random()
        if k < 0.35:  # one call
            method, expect, params = self.op(conn)
            conn.send(text(conn.request(method, expect, **params)))
        elif k < 0.6:  # pipelined: several in one write, answered in any order
            data = b"".join(text(conn.request(m, e, **p))
                            for m, e, p in (self.op(conn) for _ in range(rng.randint(2, 8))))
            conn.send(data)
        elif k < 0.8:  # a batch: reads, writes (nobody), a notification, a stream
            conn.send(conn.batch(self.batch_elements()))
        else:  # a stream, perhaps cancelled, perhaps with something pipelined behind it
            method, params = stream_call(rng)
            msg = conn.request(method, "allowed" if self.nobody else "any", **params)
            data = text(msg)
            if rng.random() < 0.3:
                m, e, p = self.op(conn)
                data += text(conn.request(m, e, **p))
            conn.send(data)
            if rng.random() < 0.2:
                conn.pending[msg["id"]].cancelled = True
                conn.send(text(conn.request("rpc.cancel", "allowed" if self.nobody else "any",
                                            id=msg["id"])))
        return conn.drain()

    def batch_elements(self):
        rng = self.rng
        els = []
        for _ in range(rng.randint(2, 8)):
            method, expect, params = self.op(None)
            els.append((method, expect, params))
        if rng.random() < 0.3:
            els.append(("rpc.ping", None, {}))  # a notification: no answer
        if rng.random() < 0.2:
            m, p = stream_call(rng)
            if m == "nvme.zns.report_zones":
                p["limit"] = rng.randint(1, 300)
            els.append((m, "allowed" if self.nobody else "any", p))
        rng.shuffle(els)
        return els

    def cut_somehow(self, conn):
        rng = self.rng
        how = rng.choice(["mid-line", "mid-batch", "mid-stream", "unread", "mid-line-pipelined"])
        if how == "mid-line":
            m, e, p = self.op(conn)
            t = text(rpc(m, conn.new_id(), p))
            conn.send(t[:rng.randint(1, len(t) - 1)])
        elif how == "mid-line-pipelined":
            data = b"".join(text(conn.request(m, e, **p))
                            for m, e, p in (self.op(conn) for _ in range(rng.randint(1, 4))))
            t = text(rpc("nvme.list", conn.new_id()))
            conn.send(data + t[:rng.randint(1, len(t) - 1)])
        elif how == "mid-batch":
            t = conn.batch(self.batch_elements())
            if rng.random() < 0.5:
                t = t[:rng.randint(1, len(t) - 1)]  # the batch's line unfinished
            conn.send(t)
        elif how == "mid-stream":
            method, params = stream_call(rng)
            params.pop("limit", None)
            conn.send(text(conn.request(method, "any", **params)))
            # Read up to a few lines of it, then leave.
            for _ in range(rng.randint(0, 3)):
                msg = conn.read_one()
                if not (isinstance(msg, dict) and msg.get("method") == "rpc.stream"):
                    break
        else:  # answers unread
            data = b"".join(text(conn.request(m, e, **p))
                            for m, e, p in (self.op(conn) for _ in range(rng.randint(1, 16))))
            conn.send(data)
        if rng.random() < 0.3:
            # A reset rather than an orderly close: unread data in our buffer.
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        conn.cut(how)


class Mutator(threading.Thread):
    """Root: reshapes the topology until the deadline, checking each step."""

    def __init__(self, path, deadline, stats, seed, read_timeout, rescanner=False):
        super().__init__(name="rescanner" if rescanner else "mutator", daemon=True)
        self.rescanner = rescanner
        self.path = path
        self.deadline = deadline
        self.stats = stats
        self.rng = random.Random(seed)
        self.read_timeout = read_timeout
        self.conn = None

    def call(self, method, **params):
        """Returns (result, error) of one call on the mutator's connection."""
        msg = self.conn.request(method, "any", **params)
        self.conn.send(text(msg))
        id = msg["id"]
        while id in self.conn.pending:
            got = self.conn.read_one()
            if isinstance(got, dict) and got.get("id") == id:
                return got.get("result"), got.get("error")
        return None, {"code": None}

    def expect_device(self, name, present, after):
        result, error = self.call("nvme.id_ns", device=name)
        if present and error is not None:
            self.stats.fail("topology", f"{name} absent after {after}: {error!r:.200}")
        if not present and (error is None or error.get("code") != -32001):
            self.stats.fail("topology", f"{name} still there after {after}: "
                            f"{(error or result)!r:.200}")

    def run(self):
        try:
            while time.monotonic() < self.deadline:
                self.conn = Conn(self.path, self.stats, self.rng, self.read_timeout, self.name)
                for _ in range(self.rng.randint(5, 30)):
                    if time.monotonic() >= self.deadline:
                        break
                    if self.rescanner:
                        self.rescan_step()
                    else:
                        self.step()
                self.conn.drain()
                self.conn.close()
        except Unanswered as e:
            self.stats.fail("unanswered", f"{self.name}: {e}")
        except Exception as e:  # noqa: BLE001
            self.stats.fail("client-crash", f"{self.name}: {e!r}")

    def rescan_step(self):
        """Replaces controller entries under the readers' feet: a few rescans
        and feature changes pipelined, then their answers."""
        rng = self.rng
        data = b""
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(4)
            if k < 2:
                msg = self.conn.request("nvme.ns_rescan", "any", {"device": rng.choice(CTRLS)})
            elif k == 2:
                msg = self.conn.request("nvme.rescan", "any")
            else:
                msg = self.conn.request("nvme.set_feature", "any",
                                        {"device": rng.choice(CTRLS), "fid": 4,
                                         "value": rng.randint(330, 360),
                                         "save": rng.random() < 0.3})
            data += text(msg)
        self.conn.send(data)
        self.conn.drain()
        self.stats.topology_steps += 1

    def step(self):
        rng = self.rng
        self.stats.topology_steps += 1
        sub = rng.choice([("sim0", [1, 2], ["sim0", "sim1"]), ("sim2", [1], ["sim2"])])
        ctrl, cntlids, names = sub
        shared = len(cntlids) > 1
        params = {"device": ctrl, "nsze": rng.choice([2048, 8192]),
                  "lba_size": 512 if ctrl != "sim2" else 4096}
        if shared:
            params["nmic"] = 1
        result, error = self.call("nvme.ns_create", **params)
        if error is not None:
            return
        nsid = result["nsid"]
        result, error = self.call("nvme.ns_attach", device=ctrl, nsid=nsid, controllers=cntlids)
        if error is None:
            for n in names:
                self.expect_device(f"{n}n{nsid}", True, "ns_attach")
        if rng.random() < 0.5:
            self.call("nvme.ns_rescan", device=rng.choice(names))
        if rng.random() < 0.3:
            self.call("nvme.rescan")
        self.call("nvme.set_feature", device=rng.choice(CTRLS), fid=4,
                  value=rng.randint(330, 360))
        if rng.random() < 0.5:
            self.call("nvme.ns_detach", device=ctrl, nsid=nsid, controllers=cntlids,
                      confirm=SN[ctrl])
        result, error = self.call("nvme.ns_delete", device=ctrl, nsid=nsid, confirm=SN[ctrl])
        if error is None:
            for n in names:
                self.expect_device(f"{n}n{nsid}", False, "ns_delete")
        else:
            self.stats.fail("topology", f"ns_delete {ctrl} nsid {nsid}: {error!r:.200}")


def nobody_process(path, deadline, n, seed, read_timeout):
    """Forks a process that runs @n clients as uid 65534; returns (pid, fd)
    to read its Stats from."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            stats = Stats()
            clients = [Client(i, path, deadline, Stats(), seed + i, read_timeout, nobody=True)
                       for i in range(n)]
            for c in clients:
                c.start()
            for c in clients:
                c.join()
                stats.merge(c.stats)
            with os.fdopen(w, "w") as f:
                f.write(stats.to_json())
            code = 0
        except BaseException as e:  # noqa: BLE001
            os.write(2, f"soak: nobody client: {e!r}\n".encode())
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


# ---- the daemon ----------------------------------------------------------------

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for row in f:
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def sanitized(daemon):
    env = os.environ.get("NR_SANITIZED")
    if env in ("0", "1"):
        return env == "1"
    with open(daemon, "rb") as f:
        return b"__asan_init" in f.read()


def wait_for_socket(proc, path, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
            return True
        except OSError:
            time.sleep(0.05)
    return False


def prime(path, stats, read_timeout):
    """One of each kind of call before the fd baseline, so descriptors opened
    once (syslog's on the first audited call) are counted in it."""
    conn = Conn(path, stats, random.Random(0), read_timeout, "prime")
    for method, params in [("nvme.set_feature", {"device": "sim2", "fid": 4, "value": 343}),
                           ("nvme.list", {}), ("nvme.id_ctrl", {"device": "sim0"}),
                           ("nvme.zns.report_zones", {"device": "sim0n2", "stream": True})]:
        conn.send(text(conn.request(method, "any", **params)))
        conn.drain()
    conn.close()


def settle_fds(pid, want, timeout):
    """Polls until the daemon holds at most @want descriptors; returns the last count."""
    deadline = time.monotonic() + timeout
    while True:
        n = open_fds(pid)
        if n <= want or time.monotonic() >= deadline:
            return n
        time.sleep(0.2)


def stable_fds(pid, timeout=5.0):
    """The descriptor count once it stops changing."""
    last, since = open_fds(pid), time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        n = open_fds(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= 0.5:
            break
    return last


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--seconds", type=float, default=60.0, help="load duration (default 60)")
    ap.add_argument("--daemon", default=os.path.join(here, "..", "build", "nvmerpcd"))
    ap.add_argument("--clients", type=int, default=64, help="root reader connections")
    ap.add_argument("--nobody", type=int, default=8,
                    help="uid 65534 connections (needs root; 0: none)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds before the RSS checkpoint (default: a quarter, 5..15 s)")
    ap.add_argument("--read-timeout", type=float, default=60.0,
                    help="seconds an answer may take on a kept connection")
    ap.add_argument("--settle", type=float, default=15.0,
                    help="seconds for descriptors to come back once clients are gone")
    ap.add_argument("--rss-growth", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep-tmp", action="store_true")
    ap.add_argument("--write-buffer", type=int, default=65536,
                    help="the daemon's --write-buffer (default 64 KiB: answers buffered for "
                    "unread clients, up to 1 MiB each at the daemon's default, would "
                    "swamp the RSS figures; small, it also pauses streams often)")
    ap.add_argument("--daemon-arg", action="append", default=[],
                    help="one more daemon argument (repeatable)")
    args = ap.parse_args()

    seed = args.seed if args.seed is not None else int(time.time())
    daemon = os.path.abspath(args.daemon)
    if not os.access(daemon, os.X_OK):
        print(f"soak: no daemon at {daemon}", file=sys.stderr)
        return 2
    asan = sanitized(daemon)
    warmup = args.warmup if args.warmup is not None else max(5.0, min(15.0, args.seconds / 4))
    tmp = tempfile.mkdtemp(prefix="nrsoak.")
    os.chmod(tmp, 0o755)  # uid 65534 reaches the socket
    sock = os.path.join(tmp, "s.sock")
    sim = os.path.join(tmp, "sim.json")
    with open(sim, "w") as f:
        json.dump(SIM, f)
    log_path = os.path.join(tmp, "daemon.log")
    log = open(log_path, "wb")
    argv = [daemon, "--socket", sock, f"--simulate={sim}", "--no-passthru", "--log-level", "warn",
            "--write-buffer", str(args.write_buffer), *args.daemon_arg]
    print(f"soak: {' '.join(argv)}")
    print(f"soak: {args.seconds:g} s, {args.clients} root clients, "
          f"{args.nobody if ROOT else 0} uid {NOBODY} clients, a mutator and a rescanner (root), seed {seed}"
          f"{', AddressSanitizer build' if asan else ''}")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    problems = []
    stats = Stats()
    figures = {}
    try:
        if not wait_for_socket(proc, sock):
            raise Abort("the daemon did not start")
        prime(sock, stats, args.read_timeout)
        figures["fds_start"] = fd_base = stable_fds(proc.pid)
        t0 = time.monotonic()
        deadline = t0 + args.seconds
        children = []
        if args.nobody and ROOT:
            per = max(1, args.nobody // 2)
            left = args.nobody
            while left > 0:  # fork before any thread exists
                k = min(per, left)
                children.append(nobody_process(sock, deadline, k, seed * 1000 + 500 + left,
                                               args.read_timeout))
                left -= k
        elif args.nobody:
            print(f"soak: note: not root, no uid {NOBODY} clients")
        clients = [Client(i, sock, deadline, Stats(), seed * 1000 + i, args.read_timeout)
                   for i in range(args.clients)]
        mutators = [Mutator(sock, deadline, Stats(), seed * 1000 + 999, args.read_timeout),
                    Mutator(sock, deadline, Stats(), seed * 1000 + 998, args.read_timeout,
                            rescanner=True)]
        for c in clients + mutators:
            c.start()
        # RSS once a second; the checkpoint is the highest sample in the
        # RSS_WINDOW seconds after warm-up: under load RSS moves with what is
        # in flight, and freed memory stays resident, so the end (idle) is
        # compared with the early high-water mark.
        series = []
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            if proc.poll() is None:
                series.append((time.monotonic() - t0, rss_kib(proc.pid)))
        early = [k for t, k in series if warmup <= t < warmup + RSS_WINDOW]
        figures["rss_start"] = max(early) if early else 0
        figures["rss_peak"] = max((k for _, k in series), default=0)
        figures["rss_series"] = [k for t, k in series if t >= warmup]
        # Loops stop by themselves; each waits at most read_timeout per read.
        for c in clients + mutators:
            c.join()
            stats.merge(c.stats)
        for pid, fd in children:
            with os.fdopen(fd) as f:
                out = f.read()
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0 or not out:
                problems.append(f"a uid {NOBODY} client process failed (status {status})")
            else:
                stats.merge(Stats.from_json(out))
        figures["load_s"] = time.monotonic() - t0
        if proc.poll() is not None:
            raise Abort(f"the daemon died during the soak (status {proc.returncode})")
        figures["fds_end"] = settle_fds(proc.pid, fd_base, args.settle)
        if figures["fds_end"] > fd_base:
            fds = sorted(os.readlink(f"/proc/{proc.pid}/fd/{n}")
                         for n in os.listdir(f"/proc/{proc.pid}/fd"))
            problems.append(f"descriptors leaked: {figures['fds_end']} open {args.settle:g} s "
                            f"after the clients left, {fd_base} before: {fds}")
        figures["rss_end"] = rss_kib(proc.pid)
        if asan:
            print("soak: note: AddressSanitizer build: RSS is not meaningful, not checked")
        elif not figures["rss_start"]:
            problems.append("no RSS checkpoint: --seconds too short for the warm-up")
        elif figures["rss_end"] > figures["rss_start"] * (1 + args.rss_growth):
            problems.append(f"RSS grew {figures['rss_start']} -> {figures['rss_end']} KiB "
                            f"(more than {args.rss_growth:.0%})")
        # The daemon still serves after all that.
        after = Stats()
        try:
            conn = Conn(sock, after, random.Random(0), args.read_timeout, "after")
            conn.send(text(conn.request("nvme.id_ctrl", "any", device="sim0")))
            conn.drain()
            conn.close()
            stats.merge(after)
        except (OSError, Unanswered) as e:
            problems.append(f"the daemon does not serve after the soak: {e!r}")
    except Abort as e:
        problems.append(str(e))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                problems.append("the daemon ignored SIGTERM for 30 s")
        log.close()
    if proc.returncode != 0 and not any("died" in p or "did not start" in p for p in problems):
        problems.append(f"the daemon exited {proc.returncode} on SIGTERM, not 0")
    if os.path.exists(sock):
        problems.append("the daemon left its socket behind")
    return finish(problems, stats, figures, log_path, tmp, args.keep_tmp, proc)


def finish(problems, stats, figures, log_path, tmp, keep, proc):
    with open(log_path, "rb") as f:
        log_text = f.read().decode(errors="replace")
    if "Sanitizer" in log_text or "runtime error:" in log_text:
        problems.append("a sanitizer reported (daemon log below)")
    for kind, n in sorted(stats.failure_counts.items()):
        problems.append(f"{n} x {kind}:\n    " + "\n    ".join(stats.failures[kind]))
    codes = ", ".join(f"{c} {NAMES.get(c, '?')}: {n}" for c, n in sorted(stats.errors.items()))
    cuts = ", ".join(f"{k}: {n}" for k, n in sorted(stats.cut.items()))
    print(f"soak: requests sent {stats.sent} (+{stats.notifications} notifications), "
          f"answered {stats.answered} (results {stats.results}), "
          f"abandoned on cut connections {stats.abandoned}")
    print(f"soak: errors by code: {codes or 'none'}")
    print(f"soak: connections {stats.connections}, cut on purpose {sum(stats.cut.values())} "
          f"({cuts or 'none'})")
    print(f"soak: batches {stats.batches}, streams completed {stats.streams} "
          f"({stats.stream_chunks} chunks, {stats.stream_items} items), uid {NOBODY} writes "
          f"refused {stats.denied_ok}, topology steps {stats.topology_steps}")
    if "rss_start" in figures:
        print(f"soak: RSS after warm-up {figures['rss_start']} KiB, peak "
              f"{figures.get('rss_peak', 0)} KiB, end {figures.get('rss_end', '-')} KiB")
        series = figures.get("rss_series", [])
        print("soak: RSS every second under load (MiB): "
              + " ".join(f"{k / 1024:.0f}" for k in series))
    if "fds_start" in figures:
        print(f"soak: open fds at start {figures['fds_start']}, end {figures.get('fds_end', '-')}")
    print(f"soak: daemon exit status {proc.returncode}")
    if problems:
        tail = "\n".join(log_text.splitlines()[-40:])
        print("soak: FAIL\n  " + "\n  ".join(problems) + f"\n--- daemon log (tail) ---\n{tail}")
    else:
        print("soak: PASS")
    if keep or problems:
        print(f"soak: kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
