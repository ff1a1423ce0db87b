"""Runs commands inside the QEMU test guest for the host's cross-checks.

Started by the guest's /init on the virtio-serial port nr.agent (stdin and stdout are the port),
chrooted into the host's root, so nvme-cli is the host's /usr/sbin/nvme. One JSON request per
line: {"id": N, "argv": [...], "timeout": S}; one reply per line: {"id": N, "rc": RC,
"stdout": TEXT, "stderr": TEXT}, or {"id": N, "error": TEXT} when the command could not run.
EOF on the port (the host hung up) ends the agent; /init starts it again for the next host.
"""
import json
import subprocess
import sys

DEFAULT_TIMEOUT_S = 120


def run(request):
    try:
        proc = subprocess.run(request["argv"], capture_output=True,
                              timeout=request.get("timeout", DEFAULT_TIMEOUT_S))
    except (OSError, subprocess.SubprocessError, KeyError, TypeError) as e:
        return {"id": request.get("id"), "error": f"{type(e).__name__}: {e}"}
    return {"id": request.get("id"), "rc": proc.returncode,
            "stdout": proc.stdout.decode(errors="replace"),
            "stderr": proc.stderr.decode(errors="replace")}


def main():
    rfile = sys.stdin.buffer
    wfile = sys.stdout.buffer
    for raw in rfile:
        try:
            request = json.loads(raw)
        except ValueError as e:
            reply = {"id": None, "error": f"bad request: {e}"}
        else:
            reply = run(request) if isinstance(request, dict) else {"id": None, "error": "not an object"}
        wfile.write(json.dumps(reply).encode() + b"\n")
        wfile.flush()


if __name__ == "__main__":
    main()
