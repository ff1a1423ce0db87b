#!/usr/bin/python3
"""Generates docs/api.md, the method reference, from the OpenRPC schema.

    tools/gen_api_doc.py SCHEMA NVMERPCD OUT [--check]

SCHEMA is schema/ (assembled as the build does) or an assembled openrpc.json; NVMERPCD the
daemon binary. For every method: its class (and the parameters that raise it), whether it
streams, its backends, its parameters with types and limits, its result, the errors it can
answer, and an example request with the answer the real daemon gave on the built-in
simulator (started here with --simulate --no-passthru on a private socket, the examples sent
in the order below, so that each sees the simulator as the previous ones left it). Long
arrays in answers are cut to their first items, and the few values that change from run to
run (times, durations, the process id) are replaced by a fixed placeholder, so the file is
the same on every run: --check fails (exit 1) when OUT differs from what would be written.
"""
import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_python_client import load_doc, resolve  # noqa: E402

SIM_SN = "NRSIM0000000001"
CUT_ITEMS = 3  # array items shown in an example answer
# Values that differ between runs, by member name: shown as this placeholder.
VOLATILE = {"uptime_ms", "uptime_s", "started", "pid", "time", "duration_ms", "busy_ms",
            "last_ms", "max_ms", "mean_ms", "total_ms", "p50_ms", "p99_ms", "elapsed_ms",
            "timestamp", "since", "version_build", "age_ms", "queued_ms",
            "sum_us", "buckets"}
PLACEHOLDER = "<varies>"

# One example per method, in the order they are sent: reads, then writes, then destructive
# calls (which change the simulated controller). A method missing here fails the generator.
# A third member False marks a step that prepares the next example and is not shown.
# A 512 MiB namespace 3, attached to sim0: what nvme.plan plans and nvme.apply does.
NS3 = {"namespaces": [{"nsid": 3, "size": 536870912, "lba_size": 512}]}
IMAGE = base64.b64encode(bytes(4096)).decode()
EXAMPLES = [
    ("rpc.ping", {}),
    ("rpc.discover", {}),
    ("server.info", {}),
    ("nvme.list", {}),
    ("nvme.id_ctrl", {"device": "sim0"}),
    ("nvme.id_ns", {"device": "sim0n1"}),
    ("nvme.id_ns_csi", {"device": "sim0n2", "csi": 2}),
    ("nvme.list_ns", {"device": "sim0"}),
    ("nvme.list_ctrl", {"device": "sim0"}),
    ("nvme.ns_descs", {"device": "sim0n1"}),
    ("nvme.smart_log", {"device": "sim0"}),
    ("nvme.error_log", {"device": "sim0", "entries": 2}),
    ("nvme.fw_log", {"device": "sim0"}),
    ("nvme.effects_log", {"device": "sim0"}),
    ("nvme.self_test_log", {"device": "sim0"}),
    ("nvme.sanitize_log", {"device": "sim0"}),
    ("nvme.changed_ns_list", {"device": "sim0"}),
    ("nvme.telemetry_log", {"device": "sim0"}),
    ("nvme.persistent_event_log", {"device": "sim0", "action": "establish"}),
    ("nvme.get_log", {"device": "sim0", "lid": 2, "length": 64}),
    ("nvme.get_feature", {"device": "sim0", "fid": 4}),
    ("nvme.zns.id_ctrl", {"device": "sim0"}),
    ("nvme.zns.id_ns", {"device": "sim0n2"}),
    ("nvme.zns.report_zones", {"device": "sim0n2", "limit": 2}),
    ("nvme.zns.changed_zones", {"device": "sim0n2"}),
    ("nvme.plan", {"device": "sim0", "desired": NS3}),
    ("nvme.watch", {"devices": ["sim0"], "interval_ms": 1000}),
    ("mi.endpoints", {}),
    ("mi.health_status_poll", {"device": "sim0"}),
    ("mi.read_data", {"device": "sim0", "type": "subsystem"}),
    ("mi.config_get", {"device": "sim0", "config": "mctp_mtu"}),
    ("server.stats", {}),
    ("rpc.cancel", {"id": 12345}),
    ("nvme.rescan", {}),
    ("mi.scan", {}),
    ("nvme.ns_rescan", {"device": "sim0"}),
    ("nvme.set_feature", {"device": "sim0", "fid": 4, "fields": {"tmpth": 350}}),
    ("mi.config_set", {"device": "sim0", "config": "mctp_mtu", "value": 64}),
    ("nvme.self_test", {"device": "sim0", "action": "short"}),
    ("nvme.fw_download", {"device": "sim0", "image": IMAGE}),
    ("nvme.zns.mgmt_send", {"device": "sim0n2", "action": "open", "slba": 6144}),
    ("nvme.zns.append", {"device": "sim0n2", "slba": 6144,
                         "data": base64.b64encode(bytes(512)).decode()}),
    ("nvme.ns_create", {"device": "sim0", "nsze": 1048576, "lba_size": 512}),
    ("nvme.ns_attach", {"device": "sim0", "nsid": 3}),
    ("sim.fault", {"device": "sim0", "delay_us": 10}),
    ("nvme.ns_detach", {"device": "sim0", "nsid": 3, "confirm": SIM_SN}),
    ("nvme.ns_delete", {"device": "sim0", "nsid": 3, "confirm": SIM_SN}),
    ("nvme.apply", {"device": "sim0", "desired": NS3}),
    ("nvme.admin_passthru", {"device": "sim0", "opcode": 6, "cdw10": 1, "data_len": 4096,
                             "confirm": SIM_SN}),
    ("nvme.io_passthru", {"device": "sim0n1", "opcode": 0, "nsid": 1, "confirm": SIM_SN}),
    ("nvme.fw_commit", {"device": "sim0", "slot": 2, "action": "replace",
                        "confirm": SIM_SN}),
    ("nvme.format", {"device": "sim0n1", "lbaf": 0, "confirm": SIM_SN}),
    ("nvme.sanitize", {"device": "sim0", "action": "block", "confirm": SIM_SN}),
    ("nvme.reset", {"device": "sim0", "confirm": SIM_SN}),
    ("sim.fault", {"device": "sim0", "removed": True}, False),
    ("sim.insert", {"controller": "sim0"}),
    ("nvme.rescan", {}, False),
]

# The errors a call can get, from the method's shape (the server's own rules).
ERROR_RULES = [
    ("InvalidParams", lambda m: True, "a parameter unknown, missing, mistyped or out of range"),
    ("PermissionDenied", lambda m: m["x-class"] != "read" or raises(m),
     "the policy does not allow the call's class to the peer"),
    ("ConfirmationRequired", lambda m: m["x-class"] == "destructive" or has(m, "confirm"),
     "confirm missing or not the controller's serial number"),
    ("DeviceNotFound", lambda m: has(m, "device") or has(m, "devices"), "no such device listed"),
    ("DeviceBusy", lambda m: has(m, "device"), "the device's queue (--max-queue) is full"),
    ("Timeout", lambda m: has(m, "device"), "the device command exceeded --timeout-ms"),
    ("NvmeStatus", lambda m: has(m, "device"), "the controller completed with an error status"),
    ("MiStatus", lambda m: has(m, "device") and "mi" in m["x-backends"],
     "an NVMe-MI endpoint answered with an error status"),
    ("TransportError", lambda m: has(m, "device"), "the ioctl or MCTP transport failed"),
    ("NotSupported", lambda m: has(m, "device") and set(m["x-backends"]) != BACKENDS,
     "the device's backend does not support the method"),
    ("Cancelled", lambda m: has(m, "device") or m["x-streaming"],
     "rpc.cancel, or the daemon stopping before the call reached a device"),
    ("ResultTooLarge", lambda m: m["x-streaming"], "more than --max-result-items without stream"),
    ("ServerBusy", lambda m: True, "a limit (data.limit names it)"),
]
BACKENDS = {"sim", "passthru", "mi"}


def has(method, name):
    return any(p["name"] == name for p in method["params"])


def raises(method):
    return any("x-class-if" in p for p in method["params"])


def type_text(doc, schema):
    """One line: the JSON type with its limits, components named."""
    schema, name = resolve(doc, schema)
    if not isinstance(schema, dict):
        return "any"
    if "enum" in schema:
        text = " \\| ".join(json.dumps(v) for v in schema["enum"])
    elif "const" in schema:
        text = json.dumps(schema["const"])
    elif "oneOf" in schema or "anyOf" in schema:
        text = " or ".join(type_text(doc, s) for s in schema.get("oneOf") or schema["anyOf"])
    elif schema.get("type") == "array":
        text = f"array of {type_text(doc, schema.get('items', {}))}"
    else:
        t = schema.get("type", "any")
        text = " or ".join(t) if isinstance(t, list) else t
    limits = []
    for key, fmt in (("minimum", "≥ {}"), ("maximum", "≤ {}"), ("minLength", "length ≥ {}"),
                     ("maxLength", "length ≤ {}"), ("minItems", "≥ {} items"),
                     ("maxItems", "≤ {} items"), ("pattern", "matching `{}`"),
                     ("default", "default {}")):
        if key in schema:
            value = schema[key]
            limits.append(fmt.format(json.dumps(value) if key == "default" else value))
    if name:
        text = f"{name} ({text})"
    return text + (", " + ", ".join(limits) if limits else "")


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def raise_text(param):
    rules = param.get("x-class-if", {})
    return "; ".join(f"{cls} call when {json.dumps(cond, separators=(',', ':'))}"
                     for cls, cond in rules.items())


def params_table(doc, method):
    if not method["params"]:
        return ["No parameters.", ""]
    rows = ["| name | type and limits | required | notes |", "|---|---|---|---|"]
    for p in method["params"]:
        notes = p.get("description") or p["schema"].get("description", "")
        if "x-class-if" in p:
            notes = (notes + "; " if notes else "") + "raises the class: " + raise_text(p)
        rows.append(f"| `{p['name']}` | {cell(type_text(doc, p['schema']))} | "
                    f"{'yes' if p.get('required') else 'no'} | {cell(notes)} |")
    return rows + [""]


def result_text(doc, method):
    schema, name = resolve(doc, method["result"]["schema"])
    lines = [f"Result: {cell(type_text(doc, method['result']['schema']))}."]
    props = schema.get("properties") if isinstance(schema, dict) else None
    if props:
        required = set(schema.get("required", []))
        members = ", ".join(f"`{k}`" + ("" if k in required else " (optional)") for k in props)
        lines.append(f"Members: {members}.")
    desc = schema.get("description") if isinstance(schema, dict) else None
    if desc:
        lines.append(desc)
    return [" ".join(lines), ""]


def errors_list(doc, method):
    codes = doc["components"]["errors"]
    rows = []
    for name, applies, why in ERROR_RULES:
        if applies(method):
            rows.append(f"- {codes[name]['code']} {name}: {why}")
    for e in method.get("errors", []):
        rows.append(f"- {e['code']} {e['message']}: {e.get('data', '')} (this method)")
    return rows + [""]


def scrub(value):
    """The answer as shown: volatile values replaced, long arrays cut."""
    if isinstance(value, dict):
        return {k: PLACEHOLDER if k in VOLATILE else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        shown = [scrub(v) for v in value[:CUT_ITEMS]]
        if len(value) > CUT_ITEMS:
            shown.append(f"... {len(value) - CUT_ITEMS} more")
        return shown
    if isinstance(value, str) and len(value) > 96:  # base64 data: its length tells enough
        return value[:16] + f"... ({len(value)} characters)"
    return value


class Daemon:
    """The real daemon on the built-in simulator, on a private socket."""

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="nr-apidoc-")
        self.path = os.path.join(self.dir, "s.sock")
        self.log = open(os.path.join(self.dir, "log"), "w+b")
        self.proc = subprocess.Popen([binary, "--simulate", "--no-passthru", "--socket",
                                      self.path, "--log-level", "warn"],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(self.path)
                break
            except OSError:
                self.sock.close()
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gen_api_doc: {binary} did not start: {self.logtext()}")
                time.sleep(0.05)
        self.sock.settimeout(60)
        self.buf = b""
        self.next_id = 1

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def send(self, msg):
        self.sock.sendall(json.dumps(msg, separators=(",", ":")).encode() + b"\n")

    def recv(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise SystemExit(f"gen_api_doc: the daemon closed the socket: {self.logtext()}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, method, params):
        """Sends one request; returns (request, [stream notifications], answer)."""
        req = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        self.next_id += 1
        if params:
            req["params"] = params
        self.send(req)
        notes = []
        while True:
            msg = self.recv()
            if msg.get("id") == req["id"]:
                return req, notes, msg
            notes.append(msg)
            if method == "nvme.watch" and len(notes) == 1:
                # A watch never ends by itself: its snapshot came, cancel it.
                self.send({"jsonrpc": "2.0", "id": self.next_id, "method": "rpc.cancel",
                           "params": {"id": req["id"]}})
                self.next_id += 1

    def close(self):
        self.sock.close()
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


def run_examples(binary, methods):
    names = [example[0] for example in EXAMPLES]
    missing = sorted(set(methods) - set(names))
    if missing:
        raise SystemExit(f"gen_api_doc: no example for {', '.join(missing)}: add one to EXAMPLES")
    daemon = Daemon(binary)
    try:
        answers = {}
        for name, params, *shown in EXAMPLES:
            req, notes, answer = daemon.call(name, params)
            if shown != [False]:
                answers[name] = (req, notes, answer)
            if name == "nvme.watch":  # the answer to its rpc.cancel
                ack = daemon.recv()
                assert ack.get("result") is not None or ack.get("error"), ack
        return answers
    finally:
        daemon.close()


def example_block(example):
    req, notes, answer = example
    rows = ["```json", "→ " + json.dumps(scrub(req), separators=(",", ":"))]
    for note in notes[:2]:
        rows.append("← " + json.dumps(scrub(note), separators=(",", ":")))
    if len(notes) > 2:
        rows.append(f"← ... {len(notes) - 2} more rpc.stream notifications")
    rows.append("← " + json.dumps(scrub(answer), indent=2, ensure_ascii=False))
    rows.append("```")
    return rows + [""]


def render(doc, answers):
    methods = sorted(doc["methods"], key=lambda m: m["name"])
    out = ["<!-- Generated by tools/gen_api_doc.py from schema/ and the simulator: do not edit. -->",
           "# nvmerpcd API reference", "",
           doc["info"]["description"], "",
           "Every method below: its class (read, write or destructive: what the policy "
           "authorizes, docs/config.md) and the parameters that raise it for one call; whether "
           "it streams (`\"stream\": true` sends `rpc.stream` notifications before the final "
           "answer); the backends that serve it; its parameters with their JSON types and "
           "limits; its result; the errors a call of its shape can get (besides -32700 "
           "ParseError and -32600 InvalidRequest, which concern the envelope); and an example "
           "request (→) with the answer (←) the daemon gave on its built-in simulator "
           f"(`nvmerpcd --simulate`, controller `sim0`, serial `{SIM_SN}`). In examples, arrays "
           f"are cut to {CUT_ITEMS} items and values that change between runs read "
           f"`{PLACEHOLDER}`.", "",
           "## Methods", ""]
    for m in methods:
        anchor = m["name"].replace(".", "")
        out.append(f"- [`{m['name']}`](#{anchor}) ({m['x-class']}): {m['summary'].split('. ')[0]}")
    out.append("")
    for m in methods:
        out += [f"## {m['name']}", "", m["summary"], ""]
        cls = m["x-class"]
        if raises(m):
            cls += " (raised by: " + ", ".join(f"`{p['name']}`" for p in m["params"]
                                               if "x-class-if" in p) + ")"
        backends = ", ".join(m["x-backends"]) or "none: the daemon itself"
        out += [f"- class: {cls}", f"- streaming: {'yes' if m['x-streaming'] else 'no'}",
                f"- backends: {backends}", ""]
        out += ["### Parameters", ""] + params_table(doc, m)
        out += ["### Result", ""] + result_text(doc, m)
        out += ["### Errors", ""] + errors_list(doc, m)
        out += ["### Example", ""] + example_block(answers[m["name"]])
    return "\n".join(out).rstrip("\n") + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("schema")
    ap.add_argument("daemon")
    ap.add_argument("out")
    ap.add_argument("--check", action="store_true", help="fail when OUT is stale")
    args = ap.parse_args()
    doc = load_doc(args.schema)
    answers = run_examples(args.daemon, [m["name"] for m in doc["methods"]])
    text = render(doc, answers)
    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            print(f"{args.out} is stale: run tools/gen_api_doc.py schema build/nvmerpcd "
                  f"{args.out}", file=sys.stderr)
            return 1
        return 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
