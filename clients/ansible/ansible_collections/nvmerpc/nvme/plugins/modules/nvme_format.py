#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nvme_format
short_description: Format an NVMe namespace to an LBA format
version_added: 1.0.0
description:
  - Sends Format NVM (the daemon's C(nvme.format)) when the namespace's LBA format differs from
    the one asked, or always with I(reformat). Check mode reports the same decision and sends
    nothing.
  - A format loses the namespace's data, so it needs I(confirm) (the controller's serial number,
    checked before anything is sent, in check mode too) and I(force). I(force) allows the format
    and nothing else.
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
    description: The namespace.
    type: int
    required: true
  lba_size:
    description: Bytes per logical block; the metadata-free LBA format of that size is used.
      One of I(lba_size) and I(lbaf).
    type: int
  lbaf:
    description: The LBA format index. One of I(lba_size) and I(lbaf).
    type: int
  erase:
    description: The secure erase setting of the format.
    type: str
    choices: [none, user_data, crypto]
    default: none
  reformat:
    description: Format even when the namespace already has the LBA format asked (to erase it);
      every run then changes it.
    type: bool
    default: false
  wait:
    description: Answer when the format is done (a format command completes when done, so the
      daemon always waits; I(timeout) bounds it).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Namespace 1 in 4 KiB blocks
  nvmerpc.nvme.nvme_format:
    device: nvme0
    nsid: 1
    lba_size: 4096
    confirm: "{{ nvme_serial }}"
    force: true
'''

RETURN = r'''
operations:
  description: The format command planned (check mode) or sent; empty when nothing is done.
  returned: always
  type: list
  elements: dict
lbaf:
  description: The namespace's LBA format index after the run (asked, in check mode).
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nvmerpc.nvme.plugins.module_utils.nvmerpc import (
    CONNECTION_ARGS, call_or_fail, check_confirm, connect)

SES = dict(none=0, user_data=1, crypto=2)


def current_format(id_ns):
    """The LBA format index in use (FLBAS bits 3:0, and 6:5 as bits 5:4)."""
    flbas = id_ns.get('flbas', 0)
    return (flbas & 0xf) | ((flbas >> 5) & 3) << 4


def wanted_format(module, id_ns):
    """The index asked: lbaf, or the metadata-free format of lba_size bytes."""
    p = module.params
    lbafs = id_ns.get('lbafs') or []
    if p['lbaf'] is not None:
        if p['lbaf'] >= len(lbafs):
            module.fail_json(msg='lbaf %d: the namespace has %d LBA formats' % (p['lbaf'], len(lbafs)))
        return p['lbaf']
    for i, f in enumerate(lbafs):
        if f.get('ms') == 0 and 1 << f.get('ds', 0) == p['lba_size']:
            return i
    module.fail_json(msg='no metadata-free LBA format of %d bytes' % p['lba_size'])


def main():
    spec = dict(CONNECTION_ARGS, device=dict(type='str', required=True),
                nsid=dict(type='int', required=True), lba_size=dict(type='int'),
                lbaf=dict(type='int'),
                erase=dict(type='str', default='none', choices=['none', 'user_data', 'crypto']),
                reformat=dict(type='bool', default=False), wait=dict(type='bool', default=True),
                confirm=dict(type='str'), force=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[('lba_size', 'lbaf')],
                           required_one_of=[('lba_size', 'lbaf')])
    p = module.params
    with connect(module) as client:
        id_ns = call_or_fail(module, client, 'nvme.id_ns', device=p['device'], nsid=p['nsid'])
        before, after = current_format(id_ns), wanted_format(module, id_ns)
        if before == after and not p['reformat']:
            module.exit_json(changed=False, operations=[], lbaf=before)
        params = dict(device=p['device'], nsid=p['nsid'], lbaf=after, ses=SES[p['erase']],
                      wait=p['wait'])
        op = dict(method='nvme.format', params=params,
                  sentence='format namespace %d of %s to LBA format %d (erase: %s)'
                  % (p['nsid'], p['device'], after, p['erase']))
        if not p['force']:
            module.fail_json(msg='force: true is required: a format loses the namespace\'s data: '
                                 + op['sentence'], operations=[op])
        check_confirm(module, client, p['device'], p['confirm'])
        result = dict(changed=True, operations=[op], lbaf=after,
                      diff=dict(before=dict(lbaf=before), after=dict(lbaf=after)))
        if not module.check_mode:
            call_or_fail(module, client, 'nvme.format', confirm=p['confirm'], **params)
            id_ns = call_or_fail(module, client, 'nvme.id_ns', device=p['device'], nsid=p['nsid'])
            result['lbaf'] = current_format(id_ns)
        module.exit_json(**result)


if __name__ == '__main__':
    main()
