"""The synchronous client: requests, responses dispatched by id, streams."""
import collections
import itertools
import json
import threading

from . import errors
from .transport import ProcessTransport, SocketTransport, StreamTransport
from ._methods import Methods

DEFAULT_SOCKET = "/run/nvmerpcd.sock"


class Stream:
    """Iterator over the items of a streamed request.

    Items arrive in rpc.stream notifications {"id", "seq", "items"}; after
    the last one the final response arrives: .summary holds its result once
    the iterator is exhausted, and an error response raises from next().
    .seqs lists the seq numbers seen, .chunks counts the notifications.
    """

    def __init__(self, client, request_id):
        self.client = client
        self.id = request_id
        self.summary = None
        self.seqs = []
        self.done = False
        self._items = collections.deque()

    def __iter__(self):
        return self

    def __next__(self):
        while not self._items:
            if self.done:
                raise StopIteration
            self._fill()
        return self._items.popleft()

    @property
    def chunks(self):
        return len(self.seqs)

    def next_chunk(self):
        """Returns the next notification's params dict, or None once the
        final response has arrived (.summary set); raises its error."""
        if self.done:
            return None
        kind, msg = self.client._wait_stream(self.id)
        if kind == "notification":
            self.seqs.append(msg["params"].get("seq"))
            return msg["params"]
        self.done = True
        if "error" in msg:
            raise errors.error_from_response(msg)
        self.summary = msg.get("result")
        return None

    def _fill(self):
        chunk = self.next_chunk()
        if chunk is not None:
            self._items.extend(chunk.get("items") or [])

    def cancel(self):
        """Sends rpc.cancel for this stream; returns its result dict."""
        return self.client.call("rpc.cancel", id=self.id)


class Client(Methods):
    """A JSON-RPC 2.0 client for nvmerpcd.

    Client(path) connects to the Unix socket; Client.from_stream(rfile,
    wfile) and Client.spawn(argv) use the same protocol over file objects
    or a child's stdio. Responses may arrive in any order and interleave
    with rpc.stream notifications: whichever caller is reading dispatches
    each line by id, so one client may also be shared between threads.
    """

    def __init__(self, path=DEFAULT_SOCKET, timeout=None, transport=None):
        self.transport = transport if transport is not None else SocketTransport(path, timeout)
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._reading = False
        self._responses = {}
        self._stream_notes = collections.defaultdict(collections.deque)
        self.notifications = collections.deque()  # other notifications, in order
        self._closed = False
        self._eof = False

    @classmethod
    def from_stream(cls, rfile, wfile, timeout=None):
        return cls(transport=StreamTransport(rfile, wfile, timeout))

    @classmethod
    def spawn(cls, argv, timeout=None, **popen_kw):
        """Starts argv (e.g. ["nvmerpcd", "--stdio", "--simulate"]) and talks
        to it over its stdin/stdout; .proc is the child."""
        client = cls(transport=ProcessTransport(argv, timeout, **popen_kw))
        client.proc = client.transport.proc
        return client

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if not self._closed:
            self._closed = True
            return self.transport.close()
        return None

    # -- requests ---------------------------------------------------------

    def next_id(self):
        return next(self._ids)

    def send(self, message):
        """Sends one JSON value (dict or list) as one line."""
        self.send_raw(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def send_raw(self, data):
        """Writes bytes as they are: for tests of framing."""
        with self._write_lock:
            self.transport.write(data)

    def recv_raw(self):
        """Reads the next line as bytes, bypassing dispatch (b"" at EOF)."""
        return self.transport.readline()

    def recv(self):
        """Reads and parses the next line, bypassing dispatch; None at EOF."""
        line = self.recv_raw()
        if not line:
            return None
        return json.loads(line)

    def request(self, method, params=None, id=None, stream=False):
        """Sends a request and returns its id without waiting."""
        if id is None:
            id = self.next_id()
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if stream:
            params = dict(params or {}, stream=True)
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return id

    def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def response(self, id):
        """Waits for the response to @id and returns it as a dict."""
        return self._wait(lambda: self._responses.pop(id, None))

    def result(self, id):
        """Waits for the response to @id; returns its result or raises."""
        resp = self.response(id)
        if "error" in resp:
            raise errors.error_from_response(resp)
        return resp.get("result")

    def call(self, method, /, **params):
        """Calls @method with keyword params; returns the result or raises
        an RpcError subclass."""
        return self.result(self.request(method, params))

    def stream(self, method, /, **params):
        """Sends @method with "stream": true; returns a Stream iterator."""
        return Stream(self, self.request(method, params, stream=True))

    # -- dispatch -----------------------------------------------------------

    def _wait_stream(self, id):
        def ready():
            notes = self._stream_notes.get(id)
            if notes:
                return ("notification", notes.popleft())
            resp = self._responses.pop(id, None)
            if resp is not None:
                self._stream_notes.pop(id, None)
                return ("response", resp)
            return None
        return self._wait(ready)

    def _dispatch(self, msg):
        if isinstance(msg, list):
            for item in msg:
                self._dispatch(item)
            return
        if not isinstance(msg, dict):
            raise errors.ProtocolError(f"not a JSON-RPC message: {msg!r}")
        if "method" in msg:
            params = msg.get("params")
            if msg["method"] == "rpc.stream" and isinstance(params, dict) and "id" in params:
                self._stream_notes[params["id"]].append(msg)
            else:
                self.notifications.append(msg)
            return
        self._responses[msg.get("id")] = msg

    def _wait(self, ready):
        """Returns ready()'s first non-None value; one waiting thread reads
        and dispatches lines at a time while the others sleep."""
        while True:
            with self._cond:
                while True:
                    value = ready()
                    if value is not None:
                        return value
                    if self._eof:
                        raise errors.ConnectionClosed("connection closed by the peer")
                    if not self._reading:
                        self._reading = True
                        break
                    self._cond.wait()
            line, msg = None, None
            try:
                line = self.transport.readline()
                if line.strip():
                    msg = json.loads(line)
            finally:
                with self._cond:
                    self._reading = False
                    if line == b"":
                        self._eof = True
                    if msg is not None:
                        self._dispatch(msg)
                    self._cond.notify_all()
