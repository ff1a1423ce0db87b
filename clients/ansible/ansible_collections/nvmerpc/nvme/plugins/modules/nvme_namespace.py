#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nvme_namespace
short_description: Create, delete, attach and detach an NVMe namespace by NSID
version_added: 1.0.0
description:
  - A namespace is identified by its NSID. The daemon's C(nvme.plan) compares the namespace with
    what is asked and orders the operations (detach, create or delete, attach, format);
    C(nvme.apply) runs them with the plan's digest. Check mode and diff show exactly what the
    run does.
  - A controller gives a new namespace the lowest free NSID, so a new I(nsid) must be the lowest
    free one (the plan is refused naming C(nsid) otherwise).
  - I(force) allows the operations that lose the namespace's data, and only those - deleting it
    (I(state=absent)), deleting and creating it again because I(size) differs, and formatting it
    because I(lba_size) differs.
  - Detaching is destructive for the daemon (the host loses access) and needs I(confirm).
author: nvmerpcd contributors (@nvmerpc)
extends_documentation_fragment:
  - nvmerpc.nvme.connection
  - nvmerpc.nvme.destructive
options:
  device:
    description: The controller (C(nvme0), C(sim0)).
    type: str
    required: true
  nsid:
    description: The namespace's identity.
    type: int
    required: true
  state:
    description:
      - C(present) - it exists with I(size) and I(lba_size); its attachments are left as they
        are unless I(controllers) is given (a new one is attached to this controller).
      - C(attached) - it exists and is attached to I(controllers) exactly (default this
        controller alone).
      - C(detached) - it exists and is attached to no controller.
      - C(absent) - detached from every controller, then deleted.
    type: str
    choices: [present, absent, attached, detached]
    default: present
  size:
    description: Bytes, a multiple of I(lba_size); required to create it.
    type: int
  lba_size:
    description: Bytes per logical block (a metadata-free LBA format); default its own, 512 for
      a new namespace.
    type: int
  controllers:
    description: Controller IDs it is attached to, exactly.
    type: list
    elements: int
'''

EXAMPLES = r'''
- name: Namespace 2, 64 MiB in 4 KiB blocks, attached here
  nvmerpc.nvme.nvme_namespace:
    device: nvme0
    nsid: 2
    size: 67108864
    lba_size: 4096

- name: Namespace 3 gone, data and all
  nvmerpc.nvme.nvme_namespace:
    device: nvme0
    nsid: 3
    state: absent
    confirm: "{{ nvme_serial }}"
    force: true
'''

RETURN = r'''
operations:
  description: The operations planned (check mode) or run, each with method, params, sentence.
  returned: always
  type: list
  elements: dict
plan_digest:
  description: The digest of the state the plan read.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nvmerpc.nvme.plugins.module_utils.nvmerpc import (
    CONNECTION_ARGS, RpcError, call_or_fail, connect, desired_state)


def current_controllers(module, client, device, nsid):
    """The controller IDs @nsid is attached to, or None when it is not allocated."""
    allocated = call_or_fail(module, client, 'nvme.list_ns', device=device, all=True)
    if nsid not in [n['nsid'] for n in allocated.get('nsid_list') or []]:
        return None
    try:
        got = client.call('nvme.list_ctrl', device=device, nsid=nsid)
    except RpcError:
        return None
    return [c['ctrl_id'] for c in got.get('ctrl_list') or []]


def entry(module, client):
    """The desired document's entry for the namespace the options describe."""
    p = module.params
    ns = dict(nsid=p['nsid'])
    if p['state'] == 'absent':
        ns['state'] = 'absent'
        return ns
    for key in ('size', 'lba_size', 'controllers'):
        if p[key] is not None:
            ns[key] = p[key]
    if p['state'] == 'detached':
        ns['controllers'] = []
    elif p['state'] == 'present' and p['controllers'] is None:
        attached = current_controllers(module, client, p['device'], p['nsid'])
        if attached is not None:
            ns['controllers'] = attached
    return ns


def main():
    spec = dict(CONNECTION_ARGS, device=dict(type='str', required=True),
                nsid=dict(type='int', required=True),
                state=dict(type='str', default='present',
                           choices=['present', 'absent', 'attached', 'detached']),
                size=dict(type='int'), lba_size=dict(type='int'),
                controllers=dict(type='list', elements='int'),
                confirm=dict(type='str'), force=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    with connect(module) as client:
        desired = dict(namespaces=[entry(module, client)])
        desired_state(module, client, p['device'], desired, p['confirm'], p['force'])


if __name__ == '__main__':
    main()
