# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The JSON-RPC 2.0 client every nvmerpc.nvme module shares, and the plan/apply helpers.

Standard library only: a module runs on the managed host, where nothing but Python may be
installed. It talks to nvmerpcd over its Unix socket, or spawns ``nvmerpcd --stdio`` when
stdio_command is given (no daemon running), one request per line (NDJSON).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import select
import shlex
import socket
import subprocess
import tempfile
import time

DEFAULT_SOCKET = '/run/nvmerpcd.sock'
DEFAULT_TIMEOUT = 300

# The options every module takes (doc fragment nvmerpc.nvme.connection).
CONNECTION_ARGS = dict(
    socket=dict(type='path', default=DEFAULT_SOCKET),
    stdio_command=dict(type='raw'),
    timeout=dict(type='int', default=DEFAULT_TIMEOUT),
)

# What the user must change, for the errors a playbook can fix itself.
HINTS = {
    'PermissionDenied': 'the daemon\'s policy does not allow this user this call: run the task '
                        'as a user the policy allows (become: true) or change the policy',
    'ConfirmationRequired': 'the operation is destructive: set confirm to the controller\'s '
                            'serial number (nvme_info returns it as sn)',
}


class RpcError(Exception):
    """A JSON-RPC error answer: .code, .message, .data (dict or None), .name."""

    def __init__(self, code, message, data=None):
        super(RpcError, self).__init__('%s %s' % (code, message))
        self.code = code
        self.message = message
        self.data = data if isinstance(data, dict) else None
        self.name = (self.data or {}).get('name', 'RpcError')

    def as_dict(self):
        """The error as a module returns it: name, code, message, field, data, hint."""
        out = dict(name=self.name, code=self.code, message=self.message,
                   field=(self.data or {}).get('field'), data=self.data)
        if self.name in HINTS:
            out['hint'] = HINTS[self.name]
        return out


class TransportError(Exception):
    """The daemon could not be reached, went away, or did not answer in time."""


class Client(object):
    """One connection to nvmerpcd: a Unix socket path, or a command speaking --stdio.

    call() sends one request and returns its result (raising RpcError); rpc.stream items
    sent before a streamed call's answer are collected in .stream_items.
    """

    def __init__(self, socket_path=DEFAULT_SOCKET, stdio_command=None, timeout=DEFAULT_TIMEOUT):
        self.timeout = timeout
        self.stream_items = []
        self._buf = b''
        self._next_id = 0
        self._sock = None
        self._proc = None
        if stdio_command:
            argv = stdio_command if isinstance(stdio_command, list) else shlex.split(stdio_command)
            # The daemon's log (an audit line per write call) goes to a file: a pipe nobody
            # reads would fill and stop the daemon. Its end is quoted if the daemon goes away.
            self._stderr = tempfile.TemporaryFile()
            try:
                self._proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE,
                                              stdout=subprocess.PIPE, stderr=self._stderr,
                                              bufsize=0)
            except OSError as e:
                self._stderr.close()
                raise TransportError('cannot run %s: %s' % (argv[0], e))
            self._rfd = self._proc.stdout.fileno()
        else:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.settimeout(timeout)
            try:
                self._sock.connect(socket_path)
            except (OSError, socket.error) as e:
                self._sock.close()
                raise TransportError('cannot connect to nvmerpcd at %s: %s' % (socket_path, e))
            self._rfd = self._sock.fileno()

    def close(self):
        """Closes the connection; a spawned daemon sees end of input and exits."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            self._proc.stdin.close()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc.stdout.close()
            self._stderr.close()
            self._proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _write(self, data):
        try:
            if self._sock is not None:
                self._sock.sendall(data)
            else:
                self._proc.stdin.write(data)
                self._proc.stdin.flush()
        except (OSError, socket.error) as e:
            raise TransportError('writing to nvmerpcd: %s' % e)

    def _readline(self, deadline):
        """Returns the next line (bytes, without newline); raises TransportError at end of
        stream or past @deadline (time.monotonic())."""
        scanned = 0
        while b'\n' not in self._buf[scanned:]:
            scanned = len(self._buf)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError('no answer from nvmerpcd within %s s' % self.timeout)
            ready = select.select([self._rfd], [], [], left)[0]
            if not ready:
                continue
            chunk = os.read(self._rfd, 1 << 20)
            if not chunk:
                raise TransportError('nvmerpcd closed the connection' + self._log_tail())
            self._buf += chunk
        line, self._buf = self._buf.split(b'\n', 1)
        return line

    def _log_tail(self):
        """The end of a spawned daemon's log, for an error message ('' for a socket)."""
        if self._proc is None:
            return ''
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode('utf-8', 'replace').strip()
        return (': ' + tail) if tail else ''

    def call(self, method, **params):
        """Calls @method with @params (by name); returns its result, raises RpcError."""
        self._next_id += 1
        rid = self._next_id
        msg = dict(jsonrpc='2.0', id=rid, method=method)
        if params:
            msg['params'] = params
        self._write(json.dumps(msg, separators=(',', ':')).encode('utf-8') + b'\n')
        deadline = time.monotonic() + self.timeout
        while True:
            line = self._readline(deadline)
            try:
                answer = json.loads(line.decode('utf-8'))
            except ValueError:
                raise TransportError('not a JSON-RPC answer: %r' % line[:200])
            if not isinstance(answer, dict):
                raise TransportError('not a JSON-RPC answer: %r' % line[:200])
            if answer.get('method') == 'rpc.stream':
                note = answer.get('params') or {}
                if note.get('id') == rid:
                    self.stream_items.extend(note.get('items') or [])
                continue
            if answer.get('id') != rid:
                continue
            if 'error' in answer:
                err = answer['error']
                raise RpcError(err.get('code'), err.get('message', ''), err.get('data'))
            return answer.get('result')


def connect(module):
    """Returns a Client from the module's connection options; fails the module when the
    daemon cannot be reached."""
    p = module.params
    try:
        return Client(p['socket'], p.get('stdio_command'), p['timeout'])
    except TransportError as e:
        module.fail_json(msg=str(e))


def fail_rpc(module, err, **extra):
    """Fails the module with the daemon's error: its name, message and field, and what to
    change for PermissionDenied and ConfirmationRequired."""
    e = err.as_dict()
    msg = '%s: %s' % (e['name'], e['message'])
    if e['field']:
        msg += ' (field %s)' % e['field']
    if e.get('hint'):
        msg += ': ' + e['hint']
    module.fail_json(msg=msg, error=e, **extra)


def call_or_fail(module, client, method, **params):
    """client.call(), failing the module on any error."""
    try:
        return client.call(method, **params)
    except RpcError as e:
        fail_rpc(module, e, method=method)
    except TransportError as e:
        module.fail_json(msg=str(e), method=method)


# -- plan/apply ------------------------------------------------------------------------------

ACTIVATING = ('replace_activate', 'activate', 'replace_activate_immediate', 1, 2, 3)


def loses_data(op):
    """True when a planned operation (method and params) loses data or resets: deleting or
    formatting a namespace, sanitizing, resetting a zone, or a firmware commit that
    activates. These need force on top of confirm."""
    method, params = op.get('method'), op.get('params') or {}
    if method in ('nvme.ns_delete', 'nvme.format', 'nvme.sanitize'):
        return True
    if method == 'nvme.zns.mgmt_send':
        return params.get('action') == 'reset'
    if method == 'nvme.fw_commit':
        return params.get('action', 'replace_activate') in ACTIVATING
    return False


def brief(op):
    """An operation as modules report it: method, params (a firmware image by its length),
    sentence; the same for a plan and for what apply did, so check mode and the real run
    compare."""
    params = dict(op.get('params') or {})
    if 'image' in params:
        params['image'] = '(%d characters of base64)' % len(params['image'])
    return dict(method=op.get('method'), params=params, sentence=op.get('sentence'))


def plan_diff(plan_result):
    """Ansible's diff (before/after) from a plan's diff list, keyed by path."""
    diff = dict(before={}, after={})
    for d in plan_result.get('diff') or []:
        diff['before'][d['path']] = d.get('before')
        diff['after'][d['path']] = d.get('after')
    return diff


def refusal(operations, confirm, force):
    """Returns why the operations may not run with these options (a message), or None.
    The same check runs in check mode, so check mode never promises what the run refuses."""
    losing = [op['sentence'] for op in operations if loses_data(op)]
    if losing and not force:
        return ('force: true is required: these operations lose data or reset the '
                'controller: %s' % '; '.join(losing))
    destructive = [op['sentence'] for op in operations if op.get('class') == 'destructive']
    if destructive and not confirm:
        return ('confirm (the controller\'s serial number) is required for: %s'
                % '; '.join(destructive))
    return None


def desired_state(module, client, device, desired, confirm=None, force=False):
    """Plans @desired on @device, refuses what needs confirm or force, and (not in check
    mode) applies it with the plan's digest. Exits the module with changed, operations
    (what the plan holds in check mode, what apply did otherwise), plan_digest and diff."""
    plan = call_or_fail(module, client, 'nvme.plan', device=device, desired=desired)
    ops = plan.get('operations') or []
    errs = [op for op in ops if op.get('error')]
    if errs:
        module.fail_json(msg='the controller cannot run: %s' % '; '.join(
            '%s (%s)' % (op['sentence'], op['error'].get('message')) for op in errs),
            operations=[brief(op) for op in ops])
    why = refusal(ops, confirm, force)
    if why:
        module.fail_json(msg=why, operations=[brief(op) for op in ops])
    if any(op.get('class') == 'destructive' for op in ops):
        # A wrong serial is refused by apply: check mode must not promise the change.
        check_confirm(module, client, device, confirm)
    result = dict(changed=bool(ops), device=device, plan_digest=plan.get('plan_digest'),
                  operations=[brief(op) for op in ops])
    if ops:
        result['diff'] = plan_diff(plan)
    if module.check_mode or not ops:
        module.exit_json(**result)
    params = dict(device=device, desired=desired, plan_digest=plan['plan_digest'])
    if confirm:
        params['confirm'] = confirm
    applied = call_or_fail(module, client, 'nvme.apply', **params)
    result['operations'] = [brief(op) for op in applied.get('done') or []]
    if not applied.get('complete'):
        failed = applied.get('failed') or {}
        err = failed.get('error') or {}
        data = err.get('data') or {}
        result['changed'] = bool(applied.get('done'))
        module.fail_json(msg='%s failed: %s: %s' % (failed.get('sentence') or failed.get('method'),
                                                    data.get('name', err.get('code')),
                                                    err.get('message')),
                         failed_operation=brief(failed), error=err,
                         not_attempted=[brief(op) for op in applied.get('not_attempted') or []],
                         **result)
    module.exit_json(**result)


def controller_serial(module, client, device):
    """The controller's serial number (Identify Controller sn)."""
    return (call_or_fail(module, client, 'nvme.id_ctrl', device=device).get('sn') or '').strip()


def check_confirm(module, client, device, confirm):
    """Fails unless @confirm is @device's serial number (for one-shot operations, checked
    before anything is sent, in check mode too)."""
    sn = controller_serial(module, client, device)
    if confirm != sn:
        module.fail_json(msg='ConfirmationRequired: set confirm to the serial number of %s to '
                             'run this operation (nvme_info returns it as sn)' % device,
                         error=dict(name='ConfirmationRequired', hint=HINTS['ConfirmationRequired']))
    return sn
