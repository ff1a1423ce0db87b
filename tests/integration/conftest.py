"""Fixtures that drive the real nvmerpcd binary over its real socket.

Environment (set by ctest): NVMERPCD (the daemon), NR_OPENRPC (assembled
document), NR_SOURCE_DIR, NR_BENCH_DIR, PYTHONPATH=clients/python. Set by
scripts/valgrind.sh: NR_VALGRIND=1, NR_START_TIMEOUT_S, NR_STOP_TIMEOUT_S.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

SOURCE_DIR = os.environ.get("NR_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "clients", "python"))

import nvmerpc  # noqa: E402

DAEMON = os.environ.get("NVMERPCD") or os.path.join(SOURCE_DIR, "build", "nvmerpcd")
# scripts/valgrind.sh raises both: a daemon under valgrind starts and exits slowly.
START_TIMEOUT_S = float(os.environ.get("NR_START_TIMEOUT_S", "10"))
STOP_TIMEOUT_S = float(os.environ.get("NR_STOP_TIMEOUT_S", "10"))
# Set by scripts/valgrind.sh: the daemon runs under valgrind, many times slower.
VALGRIND = os.environ.get("NR_VALGRIND") == "1"
# For tests whose timing valgrind's slowdown breaks (not what they check).
not_under_valgrind = pytest.mark.skipif(VALGRIND, reason="timing-sensitive: too slow under valgrind")
SIM_SN = "NRSIM0000000001"
# server.stats counts the request that asks for it: an idle daemon reports 1.
STATS_SELF = 1


def sim_json(subsystems):
    """The simulator description format of docs/simulator.md."""
    return {"subsystems": subsystems}


def slow_fast_sim(slow_us=300000):
    """Two subsystems: sim0 answers after @slow_us, sim1 at once."""
    return sim_json([
        {"nqn": "nqn.2024-01.io.nvmerpcd:slow", "controllers": [
            {"sn": "SLOW0001", "mn": "slow", "fr": "1.0", "cntlid": 1, "latency_us": slow_us}],
         "namespaces": [{"nsid": 1, "lba_size": 512, "blocks": 2097152}]},
        {"nqn": "nqn.2024-01.io.nvmerpcd:fast", "controllers": [
            {"sn": "FAST0001", "mn": "fast", "fr": "1.0", "cntlid": 1, "latency_us": 0}],
         "namespaces": [{"nsid": 1, "lba_size": 512, "blocks": 2097152}]},
    ])


def rpc(method, id=1, params=None, **kw):
    """A request dict; params from @params (e.g. holding "id") and/or **kw."""
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None or kw:
        msg["params"] = dict(params or {}, **kw)
    return msg


def line(msg):
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


class RawConn:
    """A bare socket speaking NDJSON line by line, for tests of framing."""

    def __init__(self, path, timeout=15.0):
        self.transport = nvmerpc.SocketTransport(path, timeout)
        self.sock = self.transport.sock

    def send(self, data):
        if not isinstance(data, (bytes, bytearray)):
            data = line(data)
        self.transport.write(data)

    def recv(self):
        raw = self.transport.readline()
        assert raw, "daemon closed the connection"
        assert raw.endswith(b"\n"), f"reply not newline-terminated: {raw[:200]!r}"
        return json.loads(raw)

    def call(self, msg):
        self.send(msg)
        return self.recv()

    def expect_silence(self, seconds=0.3):
        """Asserts that nothing arrives for @seconds."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            data = None
        finally:
            self.sock.settimeout(self.transport.timeout)
        assert data is None, f"unexpected reply: {data[:300]!r}"

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Daemon:
    """One running nvmerpcd: .socket, .proc, .client(), .raw(), .stderr_text()."""

    def __init__(self, workdir, args, sim=None, env=None, simulate=True):
        self.workdir = workdir
        self.socket = os.path.join(workdir, "s.sock")
        self.stderr_path = os.path.join(workdir, "stderr.log")
        flags = ["--simulate"] if simulate else []
        if sim is not None:
            sim_path = os.path.join(workdir, "sim.json")
            with open(sim_path, "w") as f:
                json.dump(sim, f)
            flags = [f"--simulate={sim_path}"]
        self.argv = [DAEMON, "--socket", self.socket, *flags, *args]
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, env=env,
                                     stdout=self._stderr, stderr=self._stderr)
        self.stopped = False

    def wait_ready(self, timeout=START_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode} before "
                                     f"accepting connections:\n{self.stderr_text()}")
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(1.0)
                    s.connect(self.socket)
                return self
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"daemon did not accept on {self.socket} within {timeout} s:\n"
                             f"{self.stderr_text()}")

    def client(self, timeout=30.0):
        return nvmerpc.Client(self.socket, timeout=timeout)

    def raw(self, timeout=15.0):
        return RawConn(self.socket, timeout)

    def stderr_text(self):
        if not self._stderr.closed:
            self._stderr.flush()
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for row in f:
                if row.startswith("VmRSS:"):
                    return int(row.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self):
        """SIGTERM; returns the exit status (kills after STOP_TIMEOUT_S)."""
        if self.stopped:
            return self.proc.returncode
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._stderr.close()
                raise AssertionError(f"daemon ignored SIGTERM for {STOP_TIMEOUT_S} s:\n"
                                     f"{self.stderr_text()}")
        self._stderr.close()
        return self.proc.returncode


# The child for as_nobody(). It imports only the standard library, and all of
# it before dropping root: afterwards it may not be able to read the source
# tree (a clone under /root), so it speaks raw JSON over the socket module.
_NOBODY_CHILD = r"""
import json, os, socket, sys
path, texts, groups = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
os.setgroups(groups); os.setgid(65534); os.setuid(65534)
def answered(msg):
    items = msg if isinstance(msg, list) else [msg]
    return any(isinstance(m, dict) and "id" in m for m in items)
replies = []
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
    s.settimeout(30)
    s.connect(path)
    f = s.makefile("rwb")
    for msg in texts:
        f.write(json.dumps(msg).encode() + b"\n")
        f.flush()
        replies.append(json.loads(f.readline()) if answered(msg) else None)
print(json.dumps(replies))
"""


def as_nobody(socket_path, messages, timeout=60, groups=()):
    """Sends each of @messages (a request, notification or batch, as dicts and
    lists) on one connection made as uid/gid 65534 (with supplementary
    @groups), in order, and returns the parsed replies (None for what gets no
    reply). Needs root. The child runs isolated (-I: no PYTHONPATH, no cwd)
    and never reads the source tree."""
    out = subprocess.run([sys.executable, "-I", "-c", _NOBODY_CHILD, socket_path,
                          json.dumps(messages), json.dumps(list(groups))],
                         capture_output=True, text=True,
                         timeout=timeout, cwd="/")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def fork_as_nobody(fn, *args):
    """Runs fn(*args) in a forked child as uid/gid 65534 with no supplementary
    groups; returns its exit status (0 when fn returned without raising).
    For checks below the JSON-RPC level (connect, raw bytes). Needs root."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            fn(*args)
            code = 0
        except BaseException as e:  # noqa: BLE001 - report anything
            os.write(2, f"fork_as_nobody: {e!r}\n".encode())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def rpc_outcome(resp):
    """"result" for a result, else [code, data.name] of the error."""
    if "result" in resp:
        return "result"
    return [resp["error"]["code"], resp["error"]["data"]["name"]]


def _workdir():
    # World-traversable, so a client that drops to uid 65534 reaches the socket.
    path = tempfile.mkdtemp(prefix="nr-it-")
    os.chmod(path, 0o755)
    return path


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def daemon(request):
    """Factory: daemon(args=(...), sim=dict_or_None, ready=True, env=None,
    simulate=True) -> Daemon. simulate=False (and no sim) starts it without
    --simulate.

    Every daemon started is stopped at teardown with SIGTERM, and must exit
    0 and remove its socket; its stderr is printed when the test failed.
    """
    if not os.access(DAEMON, os.X_OK):
        pytest.fail(f"daemon binary {DAEMON} not found: build it or set NVMERPCD")
    started = []

    def start(args=(), sim=None, ready=True, env=None, simulate=True):
        d = Daemon(_workdir(), list(args), sim, env, simulate)
        started.append(d)
        return d.wait_ready() if ready else d

    yield start
    problems = []
    for d in started:
        expect_clean = d.proc.poll() is None and not d.stopped
        try:
            rc = d.stop()
        except AssertionError as e:
            problems.append(str(e))
            continue
        if expect_clean:
            if rc != 0:
                problems.append(f"daemon exited {rc} on SIGTERM:\n{d.stderr_text()}")
            elif os.path.exists(d.socket):
                problems.append(f"daemon left its socket {d.socket} behind")
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            print(f"\n--- daemon {d.argv} stderr ---\n{d.stderr_text()}", file=sys.stderr)
    for d in started:
        shutil.rmtree(d.workdir, ignore_errors=True)
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def d(daemon):
    """A daemon on the built-in simulated subsystem."""
    return daemon()


@pytest.fixture
def c(d):
    """A client of that daemon."""
    with d.client() as client:
        yield client


def load_openrpc():
    path = os.environ.get("NR_OPENRPC")
    if path:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))
    import schema_build
    return schema_build.assemble(os.path.join(SOURCE_DIR, "schema"))


@pytest.fixture(scope="session")
def schema():
    return load_openrpc()


def make_validator(doc):
    import jsonschema

    def validate_result(method, result):
        """Validates @result against @method's result schema; $refs resolve
        against the whole document. Raises jsonschema.ValidationError."""
        index = next(i for i, m in enumerate(doc["methods"]) if m["name"] == method)
        # Draft 7 ignores $ref's siblings, so this wrapper's root is a document
        # holding components and methods: "#/components/schemas/X" resolves.
        wrapper = {"$ref": f"#/methods/{index}/result/schema",
                   "components": doc.get("components", {}), "methods": doc["methods"]}
        validator = jsonschema.Draft7Validator(wrapper)
        validator.validate(result)
        return result

    return validate_result


@pytest.fixture(scope="session")
def validate_result(schema):
    return make_validator(schema)


def assert_error(resp, code, name, id=..., field=None):
    """Asserts @resp is an error response with @code and data.name @name
    (and data.field @field, and id @id when given); returns error.data."""
    assert resp.get("jsonrpc") == "2.0", resp
    assert "result" not in resp, resp
    err = resp.get("error")
    assert isinstance(err, dict), resp
    assert err.get("code") == code, resp
    assert isinstance(err.get("message"), str) and err["message"], resp
    data = err.get("data")
    assert isinstance(data, dict), resp
    assert data.get("name") == name, resp
    if id is not ...:
        assert resp.get("id") == id, resp
    if field is not None:
        assert data.get("field") == field, resp
        assert isinstance(data.get("reason"), str) and data["reason"], resp
    return data


def assert_result(resp, id):
    assert resp.get("jsonrpc") == "2.0", resp
    assert resp.get("id") == id, resp
    assert "error" not in resp, resp
    assert "result" in resp, resp
    return resp["result"]
