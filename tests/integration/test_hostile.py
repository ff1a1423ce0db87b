"""The daemon against an unprivileged or careless local client: bytes that
stop anywhere, clients that never read or dribble, too many connections,
signals. Each regression test is named after the defect it pins.

Helpers that act as uid 65534 fork and drop privileges in-process and speak
raw JSON over the socket module only: they never read the source tree after
dropping, so they work from a clone nobody else may enter.
"""
import json
import os
import resource
import signal
import socket
import subprocess
import time

import pytest

from conftest import (DAEMON, VALGRIND, assert_error, assert_result, fork_as_nobody, line,
                      rpc, sim_json, slow_fast_sim)

PING = rpc("rpc.ping", id="ping")
SANITIZED = os.environ.get("NR_SANITIZED") == "1"
# Under a sanitizer or valgrind (whose allocator keeps freed blocks and adds redzones) the
# daemon's RSS says nothing about what it buffers: the memory bounds are checked without them.
MEASURES_RSS = not SANITIZED and not VALGRIND
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root to drop to uid 65534")


def connect(path, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)  # blocking: waits for room in the listen backlog
    s.settimeout(timeout)
    return s


def read_line(s):
    """One newline-terminated message from @s, or b"" at EOF."""
    buf = bytearray()
    while not buf.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            return bytes(buf)
        buf += chunk
    return bytes(buf)


def ping_ok(d):
    with d.raw() as conn:
        assert assert_result(conn.call(PING), "ping") == "pong"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# ---- defect 1: one byte aborts the daemon ---------------------------------

UNFINISHED = [b"{", b"1", b"tru", b'"abc', b"[1,", b'{"jsonrpc":"2.0"']


def send_and_close(path, data):
    for _ in range(20):
        s = connect(path)
        s.sendall(data)
        s.close()


@pytest.mark.parametrize("data", UNFINISHED, ids=lambda b: b.decode())
def test_unfinished_text_then_close_does_not_abort_daemon(daemon, data):
    d = daemon()
    send_and_close(d.socket, data)
    time.sleep(0.2)
    assert d.proc.poll() is None, d.stderr_text()
    ping_ok(d)


@needs_root
def test_unfinished_text_then_close_as_uid_65534_does_not_abort_daemon(daemon):
    d = daemon()
    for data in UNFINISHED:
        assert fork_as_nobody(send_and_close, d.socket, data) == 0
    time.sleep(0.2)
    assert d.proc.poll() is None, d.stderr_text()
    ping_ok(d)


def test_unfinished_text_in_stdio_mode_with_reader_gone_does_not_abort(tmp_path):
    # (sleep .5; printf '{') | nvmerpcd --stdio --simulate | (exec 0<&-; sleep 1.5)
    r, w = os.pipe()
    os.close(r)  # the reader is gone before anything is written
    proc = subprocess.Popen([DAEMON, "--stdio", "--simulate", "--no-passthru"],
                            stdin=subprocess.PIPE, stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    time.sleep(0.5)
    proc.stdin.write(b"{")
    proc.stdin.close()
    rc = proc.wait(10)
    assert rc == 1, (rc, proc.stderr.read())  # answers could not be written: not 0, not 134


def test_stdio_answers_to_pipe_closed_early_exit_1(tmp_path):
    reqs = tmp_path / "reqs.ndjson"
    reqs.write_bytes(b"".join(line(rpc("rpc.discover", id=i)) for i in range(200)))
    with open(reqs, "rb") as stdin:
        proc = subprocess.Popen([DAEMON, "--stdio", "--simulate", "--no-passthru"],
                                stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    rc = proc.wait(20)
    assert rc == 1, (rc, proc.stderr.read())


# ---- disconnects at every point, as root and as another uid -------------------

SLOW = slow_fast_sim(slow_us=200000)


def disconnect_everywhere(path):
    """Each way a client can leave: mid-line, after sending, mid-batch,
    mid-stream, before reading a large answer."""
    id_ctrl = line(rpc("nvme.id_ctrl", id=1, device="sim0"))
    batch = json.dumps([rpc("nvme.id_ctrl", id=i, device="sim0") for i in range(8)]
                       + [rpc("rpc.ping", id=99)]).encode() + b"\n"
    stream = line(rpc("nvme.zns.report_zones", id=2, device="sim1n1", stream=True))
    for data in (id_ctrl[:10], id_ctrl, batch, batch[:len(batch) // 2], stream,
                 line(rpc("rpc.discover", id=3)) * 50):
        s = connect(path)
        s.sendall(data)
        time.sleep(0.01)
        s.close()


def zoned_slow_sim():
    sim = slow_fast_sim(slow_us=200000)
    sim["subsystems"][1]["namespaces"] = [
        {"nsid": 1, "lba_size": 4096, "zoned": {"zone_size": 256, "nr_zones": 100000}}]
    return sim


@pytest.mark.parametrize("who", ["root", "nobody"])
def test_disconnect_at_every_point_leaves_daemon_serving(daemon, who):
    if who == "nobody" and not ROOT:
        pytest.skip("needs root to drop to uid 65534")
    d = daemon(sim=zoned_slow_sim())
    for _ in range(3):
        if who == "root":
            disconnect_everywhere(d.socket)
        else:
            assert fork_as_nobody(disconnect_everywhere, d.socket) == 0
    time.sleep(1.0)  # the slow device's queued calls were dropped, running ones finish
    assert d.proc.poll() is None, d.stderr_text()
    ping_ok(d)
    with d.client() as c:
        assert c.nvme_id_ctrl(device="sim0")["sn"] == "SLOW0001"


# ---- defect 3: --stdio with files ----------------------------------------------

def test_stdio_with_stdin_from_a_file_answers_everything(tmp_path):
    reqs = tmp_path / "requests.ndjson"
    out = tmp_path / "answers.ndjson"
    reqs.write_bytes(b"".join(line(rpc("rpc.ping", id=i)) for i in range(500))
                     + line(rpc("nvme.id_ctrl", id="c", device="sim0")))
    with open(reqs, "rb") as stdin, open(out, "wb") as stdout:
        rc = subprocess.run([DAEMON, "--stdio", "--simulate", "--no-passthru"], stdin=stdin,
                            stdout=stdout, stderr=subprocess.PIPE, timeout=30).returncode
    assert rc == 0
    answers = [json.loads(x) for x in out.read_bytes().splitlines()]
    assert sorted(a["id"] for a in answers if a["id"] != "c") == list(range(500))
    assert [a["result"]["sn"] for a in answers if a["id"] == "c"] == ["NRSIM0000000001"]


def test_stdio_with_stdin_from_dev_null_exits_0(tmp_path):
    with open(os.devnull, "rb") as stdin, open(os.devnull, "wb") as stdout:
        rc = subprocess.run([DAEMON, "--stdio", "--simulate", "--no-passthru"], stdin=stdin,
                            stdout=stdout, stderr=subprocess.PIPE, timeout=30).returncode
    assert rc == 0


def test_stdio_with_file_input_and_pipe_output(tmp_path):
    reqs = tmp_path / "requests.ndjson"
    reqs.write_bytes(b"".join(line(rpc("rpc.discover", id=i)) for i in range(100)))
    with open(reqs, "rb") as stdin:
        proc = subprocess.run([DAEMON, "--stdio", "--simulate", "--no-passthru"], stdin=stdin,
                              capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 100


# ---- defect 4: unread replies grow memory without bound -------------------------

def test_unread_replies_bounded_memory(daemon):
    d = daemon()
    ping_ok(d)
    before = d.rss_kib()
    s = connect(d.socket)
    s.setblocking(False)
    request = line(rpc("rpc.discover", id=1))
    sent = 0
    deadline = time.monotonic() + 20
    stalled_since = None
    # Pipeline 10,000 requests (74 KB answers each) without reading a byte;
    # the daemon stops reading us, so our sends stall.
    data = request * 10000
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += s.send(data[sent:sent + 65536])
            stalled_since = None
        except BlockingIOError:
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 2.0:
                break
            time.sleep(0.05)
    grown_mib = (d.rss_kib() - before) / 1024
    assert sent < len(data), "the daemon kept reading a client that reads nothing"
    if MEASURES_RSS:
        assert grown_mib < 48, f"RSS grew {grown_mib:.0f} MiB"
    # Reading resumes the service: the answers come, in order.
    s.setblocking(True)
    s.settimeout(10)
    f = s.makefile("rb")
    for _ in range(20):
        assert json.loads(f.readline())["id"] == 1
    s.close()
    ping_ok(d)


# ---- defect 5: unfinished lines cost up to --max-line each -----------------------

def test_dribbling_connections_bounded_memory(daemon):
    d = daemon(args=["--max-input-total", str(16 << 20)])
    ping_ok(d)
    before = d.rss_kib()
    conns = []
    partial = b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping","params":{"pad":"' + b"x" * 1000000
    busy = 0
    for _ in range(100):
        s = connect(d.socket)
        s.sendall(partial)
        conns.append(s)
    time.sleep(0.5)
    for s in conns:
        s.setblocking(False)
        try:
            msg = s.recv(4096)
        except BlockingIOError:
            continue
        if msg:
            assert_error(json.loads(msg), -32013, "ServerBusy", id=None)
            assert json.loads(msg)["error"]["data"]["limit"] == "max-input-total"
            busy += 1
    grown_mib = (d.rss_kib() - before) / 1024
    assert busy >= 80, busy  # 100 MB asked for, 16 MiB allowed
    if MEASURES_RSS:
        assert grown_mib < 48, f"RSS grew {grown_mib:.0f} MiB"
    for s in conns:
        s.close()
    ping_ok(d)


def test_partial_line_times_out(daemon):
    d = daemon(args=["--line-timeout-ms", "1000"])
    s = connect(d.socket)
    start = time.monotonic()
    for b in b'{"jsonrpc":"2.0","id":1':
        try:
            s.sendall(bytes([b]))
        except OSError:
            break
        time.sleep(0.15)
    msg = read_line(s)
    assert_error(json.loads(msg), -32600, "InvalidRequest", id=None)
    assert json.loads(msg)["error"]["data"]["limit"] == "line-timeout-ms"
    assert read_line(s) == b""  # closed
    assert time.monotonic() - start < 6
    s.close()
    ping_ok(d)


def test_idle_connection_times_out_busy_one_does_not(daemon):
    d = daemon(args=["--idle-timeout-ms", "400"], sim=slow_fast_sim(slow_us=1600000))
    idle = connect(d.socket)
    busy = connect(d.socket)
    busy.sendall(line(rpc("nvme.id_ctrl", id=5, device="sim0")))
    idle.settimeout(3)
    assert idle.recv(100) == b"", "idle connection still open"
    answer = json.loads(read_line(busy))  # its call outlived the idle timeout
    assert assert_result(answer, 5)["sn"] == "SLOW0001"
    idle.close()
    busy.close()


# ---- defect 8: SIGHUP kills the daemon --------------------------------------------

def test_sighup_is_logged_and_ignored(daemon):
    d = daemon()
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert d.proc.poll() is None, "SIGHUP killed the daemon"
    ping_ok(d)
    assert "SIGHUP" in d.stderr_text()


# ---- defect 9: past the fd limit connections are silently dropped ------------------

def test_past_fd_limit_connections_are_told_not_dropped(tmp_path):
    # A small descriptor limit, as under a unit without LimitNOFILE.
    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (320, 320))

    sock = str(tmp_path / "s.sock")
    proc = subprocess.Popen([DAEMON, "--simulate", "--no-passthru", "--socket", sock],
                            preexec_fn=low_nofile, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.02)
        outcomes = {"served": 0, "busy": 0, "dropped": 0}
        socks = [connect(sock) for _ in range(400)]
        for s in socks:
            try:
                s.sendall(line(PING))
            except BrokenPipeError:
                pass  # refused: the line is waiting to be read
            try:
                msg = read_line(s)
            except OSError:
                msg = b""
            if not msg:
                outcomes["dropped"] += 1
                continue
            resp = json.loads(msg)
            if "result" in resp:
                outcomes["served"] += 1
            else:
                assert_error(resp, -32013, "ServerBusy", id=None)
                outcomes["busy"] += 1
        assert outcomes["dropped"] == 0, outcomes
        assert outcomes["served"] > 0 and outcomes["busy"] > 0, outcomes
        for s in socks:
            s.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        stderr = proc.communicate(timeout=10)[1].decode()
    assert proc.returncode == 0, stderr
    assert "--max-connections lowered" in stderr, stderr


def test_out_of_descriptors_pauses_accept_without_spinning(daemon):
    d = daemon()
    pid = d.proc.pid
    held = [connect(d.socket) for _ in range(5)]
    used = open_fds(pid)
    # Lower the running daemon's limit below what it holds plus a little:
    # the next accepts fail with EMFILE.
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (used + 2, hard))
    waiting = [connect(d.socket) for _ in range(6)]  # sit in the kernel backlog
    for s in waiting:
        s.sendall(line(PING))
    cpu0 = cpu_seconds(pid)
    time.sleep(2.0)
    spent = cpu_seconds(pid) - cpu0
    assert spent < 0.5, f"the loop spun: {spent:.2f} s of CPU in 2 s"
    assert "pausing accepts" in d.stderr_text()
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    for s in held:
        s.close()  # a closed connection resumes accepting
    for s in waiting:
        resp = json.loads(read_line(s))
        assert assert_result(resp, "ping") == "pong"
        s.close()


# ---- connection, call, batch and depth limits -------------------------------------

def hold_connections(path, n, results):
    socks = [connect(path) for _ in range(n)]
    for s in socks:
        s.sendall(line(PING))
    for s in socks:
        msg = read_line(s)
        results.append(json.loads(msg) if msg else None)


@needs_root
def test_connections_per_uid_limit_refuses_with_one_line(daemon):
    d = daemon(args=["--max-connections-per-uid", "4"])

    def nobody():
        socks = [connect(d.socket) for _ in range(6)]
        got = []
        for s in socks:
            try:
                s.sendall(line(PING))
            except OSError:
                pass
            msg = read_line(s)
            got.append(json.loads(msg))
        assert [("result" in g) for g in got] == [True] * 4 + [False] * 2, got
        for g in got[4:]:
            assert g["error"]["code"] == -32013, g
            assert g["error"]["data"]["limit"] == "max-connections-per-uid", g
        assert read_line(socks[5]) == b""  # and closed

    assert fork_as_nobody(nobody) == 0
    ping_ok(d)  # root is not bound by the per-uid limit


def test_max_connections_root_keeps_a_reserve(daemon):
    d = daemon(args=["--max-connections", "3"])
    time.sleep(0.3)  # the readiness probe's connection is gone
    socks = [connect(d.socket) for _ in range(3 + 16 + 1)]
    replies = []
    for s in socks:
        try:
            s.sendall(line(PING))
        except OSError:
            pass
        replies.append(json.loads(read_line(s)))
    assert sum("result" in r for r in replies) == 19, replies
    assert replies[-1]["error"]["data"]["limit"] == "max-connections"
    for s in socks:
        s.close()


def test_max_calls_per_connection(daemon):
    d = daemon(args=["--max-calls", "4"], sim=slow_fast_sim(slow_us=300000))
    with d.raw() as conn:
        for i in range(6):
            conn.send(rpc("nvme.id_ctrl", id=i, device="sim0"))
        got = {}
        for _ in range(6):
            r = conn.recv()
            got[r["id"]] = r
        for i in (4, 5):
            data = assert_error(got[i], -32013, "ServerBusy", id=i)
            assert data["limit"] == "max-calls"
        assert all("result" in got[i] for i in range(4))


def test_max_batch(daemon):
    d = daemon(args=["--max-batch", "3"])
    with d.raw() as conn:
        conn.send(json.dumps([PING] * 4).encode() + b"\n")
        data = assert_error(conn.recv(), -32600, "InvalidRequest", id=None)
        assert data["limit"] == "max-batch"
        conn.send(json.dumps([PING] * 3).encode() + b"\n")
        assert len(conn.recv()) == 3


def test_max_depth(daemon):
    d = daemon(args=["--max-depth", "8"])
    with d.raw() as conn:
        deep = {"jsonrpc": "2.0", "id": 1, "method": "rpc.ping", "params": {"x": [[[[[[[1]]]]]]]}}
        conn.send(deep)
        assert_error(conn.recv(), -32600, "InvalidRequest", id=None)
        ok = {"jsonrpc": "2.0", "id": 2, "method": "rpc.ping", "params": {}}
        assert assert_result(conn.call(ok), 2) == "pong"


def test_default_depth_limit_answers_deep_text(daemon):
    d = daemon()
    with d.raw() as conn:
        conn.send(b"[" * 5000 + b"]" * 5000 + b"\n")
        assert_error(conn.recv(), -32600, "InvalidRequest", id=None)
        ping_ok(d)


# ---- valid JSON is never a parse error ---------------------------------------------

@pytest.mark.parametrize("value", [
    b"123456789012345678901234567890", b"-123456789012345678901234567890", b"1e400",
    b"9" * 400, b"18446744073709551616"])
def test_number_beyond_64_bits_is_invalid_params_not_parse_error(daemon, value):
    d = daemon()
    with d.raw() as conn:
        conn.send(b'{"jsonrpc":"2.0","id":7,"method":"nvme.id_ns","params":'
                  b'{"device":"sim0","nsid":' + value + b'}}\n')
        data = assert_error(conn.recv(), -32602, "InvalidParams", id=7, field="params.nsid")
        assert "64 bits" in data["reason"], data


def test_id_beyond_64_bits_is_invalid_request(daemon):
    d = daemon()
    with d.raw() as conn:
        conn.send(b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"rpc.ping"}\n')
        assert_error(conn.recv(), -32600, "InvalidRequest", id=None)


def test_nul_in_param_string_is_invalid_params(daemon):
    d = daemon()
    with d.raw() as conn:
        conn.send(b'{"jsonrpc":"2.0","id":8,"method":"nvme.id_ctrl",'
                  b'"params":{"device":"sim0\\u0000/etc/passwd"}}\n')
        assert_error(conn.recv(), -32602, "InvalidParams", id=8, field="params.device")


def test_nul_in_method_is_method_not_found(daemon):
    d = daemon()
    with d.raw() as conn:
        conn.send(b'{"jsonrpc":"2.0","id":9,"method":"rpc.ping\\u0000x"}\n')
        assert_error(conn.recv(), -32601, "MethodNotFound", id=9)


@pytest.mark.parametrize("text", [
    b'{"jsonrpc":"2.0","id":1,"id":2,"method":"rpc.ping"}',
    b'{"jsonrpc":"2.0","id":1,"method":"rpc.ping","params":{"a\\u0000b":1}}'],
    ids=["duplicate-member", "nul-in-member-name"])
def test_json_this_server_refuses_is_invalid_request(daemon, text):
    d = daemon()
    with d.raw() as conn:
        conn.send(text + b"\n")
        assert_error(conn.recv(), -32600, "InvalidRequest", id=None)
        assert assert_result(conn.call(PING), "ping") == "pong"


# ---- defect 10: smaller ones ---------------------------------------------------------

@pytest.mark.parametrize("argv", [["--max-line", "5"], ["--max-line=5"]])
def test_bad_option_value_names_the_option(argv):
    proc = subprocess.run([DAEMON, *argv, "--stdio"], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=10)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "bad value for --max-line: '5'" in err, err
    assert "--5" not in err and "----" not in err, err


def test_socket_path_too_long_is_refused_before_creating_anything(tmp_path):
    long_dir = tmp_path / ("d" * 80)
    long_dir.mkdir()
    path = long_dir / ("s" * 40 + ".sock")
    proc = subprocess.run([DAEMON, "--simulate", "--no-passthru", "--socket", str(path)],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "a Unix socket path holds at most 107" in err, err
    assert list(long_dir.iterdir()) == []  # no lock, no truncated stray socket
    assert not any(p.is_socket() for p in tmp_path.iterdir())


def test_batch_answer_over_write_buffer_written_at_once_keeps_connection_read(daemon):
    """Regression: a batch whose answer is larger than --write-buffer held the input while
    it was gathered; the answer then went out in one direct write, no write callback came
    to resume reading, and the connection was never read again (its next request hung)."""
    d = daemon(args=["--write-buffer", "4096"])
    with d.raw(timeout=10) as conn:
        batch = [rpc("rpc.ping", id=i) for i in range(200)]  # about 7 KiB of answers
        conn.send(json.dumps(batch).encode() + b"\n" + line(rpc("rpc.ping", id="after")))
        answers = conn.recv()
        assert isinstance(answers, list) and len(answers) == 200, answers
        assert assert_result(conn.recv(), "after") == "pong"
        # And a request sent only now, after everything was written.
        assert assert_result(conn.call(rpc("rpc.ping", id="later")), "later") == "pong"


def test_stream_paused_while_its_first_chunk_was_gathered_resumes(daemon):
    """Regression: a stream's first chunk runs on the loop thread while the request is
    read, so it is gathered with the other answers; over --write-buffer the stream
    paused, the gathered text then went out in one direct write, no write callback came
    to wake it, and the stream never ended (the soak's unanswered report_zones)."""
    zoned = sim_json([{"nqn": "nqn.2026-11.io.nvmerpcd:paused", "controllers": [{"sn": "P1"}],
                       "namespaces": [{"nsid": 1, "lba_size": 512,
                                       "zoned": {"zone_size": 64, "nr_zones": 20000}}]}])
    d = daemon(args=["--write-buffer", "4096", "--no-passthru"], sim=zoned)
    with d.raw(timeout=10) as conn:
        for round in range(3):
            conn.send(rpc("nvme.zns.report_zones", id=round, device="sim0n1", stream=True))
            items, final = 0, None
            while final is None:
                msg = conn.recv()
                if msg.get("method") == "rpc.stream":
                    items += len(msg["params"]["items"])
                else:
                    final = msg
            assert assert_result(final, round)["nr_zones"] == items == 20000
    # The same request as the last text before end of input (no newline): served when
    # the input ends, then the connection drains once the stream is done.
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(d.socket)
        sock.sendall(json.dumps(rpc("nvme.zns.report_zones", id="eof", device="sim0n1",
                                    stream=True)).encode())
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    final = json.loads(received.splitlines()[-1])
    assert assert_result(final, "eof")["nr_zones"] == 20000
