#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nvme_state
short_description: Bring an NVMe controller to a whole desired-state document
version_added: 1.0.0
description:
  - Passes a desired-state document (namespaces, features, firmware, zones) to the daemon's
    C(nvme.plan), which compares it with the controller and orders the operations between the
    two, then to C(nvme.apply) with the plan's digest, which runs them (refusing with
    StateChanged when the controller changed in between).
  - Check mode returns the plan and changes nothing; the real run reports the operations apply
    did, which are those check mode reported.
  - The document is described in the daemon's docs/desired-state.md
    (C(#/components/schemas/DesiredState) in C(rpc.discover)).
  - I(force) allows deleting or formatting namespaces (including a namespace re-created because
    its size changes), resetting zones and firmware commits that activate an image.
author: nvmerpcd contributors (@nvmerpc)
extends_documentation_fragment:
  - nvmerpc.nvme.connection
  - nvmerpc.nvme.destructive
options:
  device:
    description: The controller, as the daemon names it (C(nvme0), C(sim0)).
    type: str
    required: true
  desired:
    description: The desired-state document.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: One namespace of 1 GiB in 4 KiB blocks, the temperature threshold at 350 K
  nvmerpc.nvme.nvme_state:
    device: nvme0
    confirm: "{{ nvme_serial }}"
    force: true
    desired:
      namespaces:
        - {nsid: 1, size: 1073741824, lba_size: 4096}
        - {nsid: 2, state: absent}
      features:
        - {fid: 4, fields: {tmpth: 350}, save: true}
'''

RETURN = r'''
operations:
  description: The operations planned (check mode) or run, in order.
  returned: always
  type: list
  elements: dict
  contains:
    method:
      description: The daemon method called.
      type: str
      returned: always
    params:
      description: Its params (a firmware image by its length).
      type: dict
      returned: always
    sentence:
      description: What it does, in words.
      type: str
      returned: always
plan_digest:
  description: The digest of the state the plan read.
  returned: always
  type: str
device:
  description: The controller.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nvmerpc.nvme.plugins.module_utils.nvmerpc import (
    CONNECTION_ARGS, connect, desired_state)


def main():
    spec = dict(CONNECTION_ARGS, device=dict(type='str', required=True),
                desired=dict(type='dict', required=True), confirm=dict(type='str'),
                force=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    with connect(module) as client:
        desired_state(module, client, p['device'], p['desired'], p['confirm'], p['force'])


if __name__ == '__main__':
    main()
