"""Line transports: a Unix socket, a pair of file objects, a child process.

All share one interface: write(bytes), readline() -> bytes (b"" at end of
stream, the newline included otherwise), settimeout(seconds or None), close().
"""
import os
import select
import socket
import subprocess


class Transport:
    def write(self, data):
        raise NotImplementedError

    def readline(self):
        raise NotImplementedError

    def settimeout(self, timeout):
        self.timeout = timeout

    def close(self):
        pass


class _FdLineReader:
    """Splits bytes from a read callable into lines; keeps the remainder."""

    def __init__(self):
        self._buf = bytearray()
        self._eof = False

    def readline(self, read_some):
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl + 1])
                del self._buf[:nl + 1]
                return line
            if self._eof:
                line = bytes(self._buf)
                self._buf.clear()
                return line
            chunk = read_some()
            if not chunk:
                self._eof = True
            else:
                self._buf += chunk


class SocketTransport(Transport):
    """An AF_UNIX stream socket."""

    def __init__(self, path=None, timeout=None, sock=None):
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(path)
            except OSError:
                sock.close()
                raise
        self.sock = sock
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self._reader = _FdLineReader()

    def write(self, data):
        self.sock.sendall(data)

    def readline(self):
        return self._reader.readline(lambda: self.sock.recv(65536))

    def settimeout(self, timeout):
        self.timeout = timeout
        self.sock.settimeout(timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class StreamTransport(Transport):
    """A readable and a writable binary file object (pipes, socket files).

    Reads use the read file's descriptor with select() when it has one, so a
    timeout applies; otherwise readline() blocks.
    """

    def __init__(self, rfile, wfile, timeout=None):
        self.rfile = rfile
        self.wfile = wfile
        self.timeout = timeout
        self._reader = _FdLineReader()
        try:
            self._fd = rfile.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None

    def _read_some(self):
        if self._fd is None:
            return self.rfile.readline()
        if self.timeout is not None:
            ready, _, _ = select.select([self._fd], [], [], self.timeout)
            if not ready:
                raise TimeoutError("timed out waiting for the peer")
        return os.read(self._fd, 65536)

    def write(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def readline(self):
        return self._reader.readline(self._read_some)

    def close(self):
        for f in (self.wfile, self.rfile):
            try:
                f.close()
            except (OSError, ValueError):
                pass


class ProcessTransport(StreamTransport):
    """A child process speaking NDJSON on its stdin and stdout (--stdio)."""

    def __init__(self, argv, timeout=None, stderr=None, **popen_kw):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr, bufsize=0, **popen_kw)
        super().__init__(self.proc.stdout, self.proc.stdin, timeout)

    def close(self, wait=10.0):
        """Closes stdin (the daemon's end of session), then waits for the
        child; terminates it if it does not exit within @wait seconds.
        Returns its exit status."""
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            return self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            return self.proc.wait(wait)
        finally:
            try:
                self.proc.stdout.close()
            except (OSError, ValueError):
                pass
