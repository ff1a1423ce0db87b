#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nvme_sanitize
short_description: Sanitize an NVMe controller's media
version_added: 1.0.0
description:
  - Sends Sanitize (the daemon's C(nvme.sanitize)) unless the Sanitize Status log says the last
    sanitize succeeded with the same action and no user data has been written since (Global Data
    Erased); I(resanitize) sends it anyway. C(exit_failure) is sent only when the last sanitize
    failed. Check mode reports the same decision and sends nothing.
  - Sanitize needs I(confirm) (the controller's serial number, checked before anything is sent,
    in check mode too); every action but C(exit_failure) erases all user data and also needs
    I(force). I(force) allows the sanitize and nothing else.
author: nvmerpcd contributors (@nvmerpc)
extends_documentation_fragment:
  - nvmerpc.nvme.connection
  - nvmerpc.nvme.destructive
options:
  device:
    description: The controller (C(nvme0), C(sim0)).
    type: str
    required: true
  action:
    description: The sanitize action.
    type: str
    required: true
    choices: [block, overwrite, crypto, exit_failure]
  ause:
    description: Allow unrestricted sanitize exit.
    type: bool
    default: false
  owpass:
    description: Overwrite passes (overwrite only).
    type: int
  ovrpat:
    description: The overwrite pattern (overwrite only).
    type: int
  nodas:
    description: No deallocate after sanitize.
    type: bool
    default: false
  resanitize:
    description: Sanitize even when the log says nothing was written since the last successful
      sanitize with this action; every run then changes it.
    type: bool
    default: false
  wait:
    description: Wait until the Sanitize Status log says it is done (bounded by I(timeout)).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Block erase before the drive leaves the fleet
  nvmerpc.nvme.nvme_sanitize:
    device: nvme0
    action: block
    confirm: "{{ nvme_serial }}"
    force: true
    timeout: 3600
'''

RETURN = r'''
operations:
  description: The sanitize command planned (check mode) or sent; empty when nothing is done.
  returned: always
  type: list
  elements: dict
sanitize_log:
  description: The Sanitize Status log before the run (check mode) or after it.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nvmerpc.nvme.plugins.module_utils.nvmerpc import (
    CONNECTION_ARGS, call_or_fail, check_confirm, connect)

SANACT = dict(exit_failure=1, block=2, overwrite=3, crypto=4)


def needed(p, log):
    """Whether the sanitize must be sent, from the Sanitize Status log."""
    if p['action'] == 'exit_failure':
        return log.get('status') == 'failed'
    if p['resanitize']:
        return True
    done = (log.get('status') == 'success' and log.get('global_erased')
            and log.get('cdw10_info', 0) & 7 == SANACT[p['action']])
    return not done


def main():
    spec = dict(CONNECTION_ARGS, device=dict(type='str', required=True),
                action=dict(type='str', required=True,
                            choices=['block', 'overwrite', 'crypto', 'exit_failure']),
                ause=dict(type='bool', default=False), owpass=dict(type='int', no_log=False),
                ovrpat=dict(type='int'), nodas=dict(type='bool', default=False),
                resanitize=dict(type='bool', default=False), wait=dict(type='bool', default=True),
                confirm=dict(type='str'), force=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    with connect(module) as client:
        log = call_or_fail(module, client, 'nvme.sanitize_log', device=p['device'])
        if not needed(p, log):
            module.exit_json(changed=False, operations=[], sanitize_log=log)
        params = dict(device=p['device'], action=p['action'], wait=p['wait'])
        for key in ('ause', 'nodas'):
            if p[key]:
                params[key] = True
        for key in ('owpass', 'ovrpat'):
            if p[key] is not None:
                params[key] = p[key]
        op = dict(method='nvme.sanitize', params=params,
                  sentence='sanitize %s (%s)' % (p['device'], p['action']))
        if p['action'] != 'exit_failure' and not p['force']:
            module.fail_json(msg='force: true is required: a sanitize erases all user data: '
                                 + op['sentence'], operations=[op])
        check_confirm(module, client, p['device'], p['confirm'])
        result = dict(changed=True, operations=[op], sanitize_log=log,
                      diff=dict(before=dict(status=log.get('status')),
                                after=dict(status='success', action=p['action'])))
        if not module.check_mode:
            call_or_fail(module, client, 'nvme.sanitize', confirm=p['confirm'], **params)
            result['sanitize_log'] = call_or_fail(module, client, 'nvme.sanitize_log',
                                                  device=p['device'])
        module.exit_json(**result)


if __name__ == '__main__':
    main()
