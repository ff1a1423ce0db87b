#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nvme_zone
short_description: Reset or finish zones of a zoned namespace
version_added: 1.0.0
description:
  - Without I(slba), the daemon's C(nvme.plan) and C(nvme.apply) act on the zones in I(state)
    one by one, or, without I(state), on every zone the action applies to with one command,
    when any is not already empty (reset) or full (finish).
  - With I(slba), the one zone starting there is acted on when it is not already empty (reset)
    or full (finish).
  - A reset discards the zones' data, is destructive for the daemon and needs I(confirm) and
    I(force). I(force) allows zone resets and nothing else.
author: nvmerpcd contributors (@nvmerpc)
extends_documentation_fragment:
  - nvmerpc.nvme.connection
  - nvmerpc.nvme.destructive
options:
  device:
    description: The controller the zoned namespace is attached to (C(nvme0), C(sim0)).
    type: str
    required: true
  nsid:
    description: The zoned namespace.
    type: int
    required: true
  action:
    description: What to do with the zones.
    type: str
    required: true
    choices: [reset, finish]
  state:
    description: Act on the zones in this state only.
    type: str
    choices: [implicitly_open, explicitly_open, closed, full]
  slba:
    description: Act on the zone starting at this LBA only.
    type: int
'''

EXAMPLES = r'''
- name: Reset every full zone of namespace 2
  nvmerpc.nvme.nvme_zone:
    device: nvme0
    nsid: 2
    action: reset
    state: full
    confirm: "{{ nvme_serial }}"
    force: true

- name: Finish the zone at LBA 4096
  nvmerpc.nvme.nvme_zone:
    device: nvme0
    nsid: 2
    action: finish
    slba: 4096
'''

RETURN = r'''
operations:
  description: The zone management commands planned (check mode) or sent.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nvmerpc.nvme.plugins.module_utils.nvmerpc import (
    CONNECTION_ARGS, call_or_fail, check_confirm, connect, desired_state, refusal)

DONE_STATE = dict(reset='EMPTY', finish='FULL')


def namespace_name(module, client, device, nsid):
    """The daemon's name of namespace @nsid as @device reaches it (sim0n2, nvme0n2)."""
    for subsystem in call_or_fail(module, client, 'nvme.list').get('subsystems') or []:
        for ns in subsystem.get('namespaces') or []:
            if ns.get('nsid') == nsid and device in (ns.get('controllers') or []):
                return ns['name']
    module.fail_json(msg='namespace %d is not attached to %s' % (nsid, device))


def one_zone(module, client):
    """Acts on the zone at slba when it is not already in the action's end state."""
    p = module.params
    name = namespace_name(module, client, p['device'], p['nsid'])
    report = call_or_fail(module, client, 'nvme.zns.report_zones', device=name, slba=p['slba'],
                          limit=1)
    zones = report.get('zone_list') or []
    if not zones or zones[0]['slba'] != p['slba']:
        module.fail_json(msg='no zone starts at LBA %d of %s' % (p['slba'], name))
    before = zones[0]['state']
    params = dict(device=name, action=p['action'], slba=p['slba'])
    op = dict(method='nvme.zns.mgmt_send', params=params,
              sentence='%s the zone at LBA %d of %s (%s)' % (p['action'], p['slba'], name, before),
              **{'class': 'destructive' if p['action'] == 'reset' else 'write'})
    if before == DONE_STATE[p['action']]:
        module.exit_json(changed=False, operations=[])
    why = refusal([op], p['confirm'], p['force'])
    if why:
        module.fail_json(msg=why)
    if p['action'] == 'reset':
        check_confirm(module, client, p['device'], p['confirm'])
    result = dict(changed=True, operations=[dict((k, op[k]) for k in ('method', 'params', 'sentence'))],
                  diff=dict(before=dict(state=before), after=dict(state=DONE_STATE[p['action']])))
    if not module.check_mode:
        if p['confirm']:
            params = dict(params, confirm=p['confirm'])
        call_or_fail(module, client, 'nvme.zns.mgmt_send', **params)
    module.exit_json(**result)


def main():
    spec = dict(CONNECTION_ARGS, device=dict(type='str', required=True),
                nsid=dict(type='int', required=True),
                action=dict(type='str', required=True, choices=['reset', 'finish']),
                state=dict(type='str',
                           choices=['implicitly_open', 'explicitly_open', 'closed', 'full']),
                slba=dict(type='int'), confirm=dict(type='str'),
                force=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[('state', 'slba')])
    p = module.params
    with connect(module) as client:
        if p['slba'] is not None:
            one_zone(module, client)
        zone = dict(nsid=p['nsid'], action=p['action'])
        if p['state']:
            zone['state'] = p['state']
        desired_state(module, client, p['device'], dict(zones=[zone]), p['confirm'], p['force'])


if __name__ == '__main__':
    main()
