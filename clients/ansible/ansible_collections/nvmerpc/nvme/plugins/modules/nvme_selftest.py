#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nvme_selftest
short_description: Run or abort an NVMe device self-test
version_added: 1.0.0
description:
  - Starts a short or extended self-test (the daemon's C(nvme.self_test)) unless one of that kind
    is running, or one passed less than I(max_age_hours) power-on hours ago (Device Self-test log
    and SMART log). C(abort) is sent only when a test is running. Check mode reports the same
    decision and sends nothing.
  - With I(wait), the module fails when the test it ran did not pass.
  - A self-test keeps the controller busy, so it needs I(confirm) (the controller's serial
    number, checked before anything is sent, in check mode too). It loses no data.
author: nvmerpcd contributors (@nvmerpc)
extends_documentation_fragment:
  - nvmerpc.nvme.connection
options:
  device:
    description: The controller (C(nvme0), C(sim0)).
    type: str
    required: true
  action:
    description: The self-test to run, or C(abort).
    type: str
    choices: [short, extended, abort]
    default: short
  nsid:
    description: The namespace to test; default all.
    type: int
  max_age_hours:
    description: Nothing is done when a test of this kind passed less than this many power-on
      hours ago; 0 runs a test every time.
    type: int
    default: 0
  wait:
    description: Wait until the test is done (bounded by I(timeout)).
    type: bool
    default: true
  confirm:
    description: The controller's serial number (Identify Controller C(sn)).
    type: str
'''

EXAMPLES = r'''
- name: A short self-test, at most one a day
  nvmerpc.nvme.nvme_selftest:
    device: nvme0
    action: short
    max_age_hours: 24
    confirm: "{{ nvme_serial }}"
'''

RETURN = r'''
operations:
  description: The self-test command planned (check mode) or sent; empty when nothing is done.
  returned: always
  type: list
  elements: dict
self_test_log:
  description: The Device Self-test log before the run (check mode) or after it.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nvmerpc.nvme.plugins.module_utils.nvmerpc import (
    CONNECTION_ARGS, call_or_fail, check_confirm, connect)

CODE = dict(short=1, extended=2)


def needed(module, client, log):
    """Whether the command must be sent, and why not when it need not."""
    p = module.params
    running = log.get('current_operation', 0)
    if p['action'] == 'abort':
        return running != 0
    if running == CODE[p['action']]:
        return False
    if p['max_age_hours'] <= 0:
        return True
    smart = call_or_fail(module, client, 'nvme.smart_log', device=p['device'])
    now = int(smart.get('power_on_hours', 0))
    for entry in log.get('results') or []:
        if entry.get('code') == CODE[p['action']] and entry.get('result') == 0:
            return now - entry.get('poh', 0) >= p['max_age_hours']
    return True


def main():
    spec = dict(CONNECTION_ARGS, device=dict(type='str', required=True),
                action=dict(type='str', default='short', choices=['short', 'extended', 'abort']),
                nsid=dict(type='int'), max_age_hours=dict(type='int', default=0),
                wait=dict(type='bool', default=True), confirm=dict(type='str'))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    with connect(module) as client:
        log = call_or_fail(module, client, 'nvme.self_test_log', device=p['device'])
        if not needed(module, client, log):
            module.exit_json(changed=False, operations=[], self_test_log=log)
        params = dict(device=p['device'], action=p['action'])
        if p['nsid'] is not None:
            params['nsid'] = p['nsid']
        if p['action'] != 'abort':
            params['wait'] = p['wait']
        op = dict(method='nvme.self_test', params=params,
                  sentence='%s self-test on %s' % (p['action'], p['device']))
        check_confirm(module, client, p['device'], p['confirm'])
        result = dict(changed=True, operations=[op], self_test_log=log,
                      diff=dict(before=dict(current_operation=log.get('current_operation', 0)),
                                after=dict(action=p['action'])))
        if module.check_mode:
            module.exit_json(**result)
        call_or_fail(module, client, 'nvme.self_test', **params)
        log = result['self_test_log'] = call_or_fail(module, client, 'nvme.self_test_log',
                                                     device=p['device'])
        last = (log.get('results') or [{}])[0]
        if p['action'] != 'abort' and p['wait'] and last.get('result') != 0:
            module.fail_json(msg='the %s self-test did not pass: result %s, segment %s'
                             % (p['action'], last.get('result'), last.get('segment')), **result)
        module.exit_json(**result)


if __name__ == '__main__':
    main()
