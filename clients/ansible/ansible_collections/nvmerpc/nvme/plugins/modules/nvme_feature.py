#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nvme_feature
short_description: Set an NVMe feature's value or named fields
version_added: 1.0.0
description:
  - Sets a feature (Set Features) to a whole value or to some of its named fields (the names
    C(nvme.get_feature) returns; the other fields are kept), only when it differs.
  - The daemon's C(nvme.plan) compares and C(nvme.apply) sets, so check mode and diff show
    exactly what the run does.
author: nvmerpcd contributors (@nvmerpc)
extends_documentation_fragment:
  - nvmerpc.nvme.connection
options:
  device:
    description: The controller (C(nvme0), C(sim0)).
    type: str
    required: true
  fid:
    description: The feature identifier (4 is Temperature Threshold).
    type: int
    required: true
  nsid:
    description: The namespace, for a namespace-specific feature.
    type: int
  value:
    description: The whole dword. One of I(value) and I(fields).
    type: int
  fields:
    description: Named fields of the value, each an integer. One of I(value) and I(fields).
    type: dict
  save:
    description: Persist it across power cycles; the saved value must match too.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Temperature threshold 350 K, saved
  nvmerpc.nvme.nvme_feature:
    device: nvme0
    fid: 4
    fields: {tmpth: 350}
    save: true

- name: Volatile write cache off
  nvmerpc.nvme.nvme_feature:
    device: nvme0
    fid: 6
    value: 0
'''

RETURN = r'''
operations:
  description: The operations planned (check mode) or run.
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
    CONNECTION_ARGS, connect, desired_state)


def main():
    spec = dict(CONNECTION_ARGS, device=dict(type='str', required=True),
                fid=dict(type='int', required=True), nsid=dict(type='int'),
                value=dict(type='int'), fields=dict(type='dict'),
                save=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[('value', 'fields')],
                           required_one_of=[('value', 'fields')])
    p = module.params
    feature = dict((k, p[k]) for k in ('fid', 'nsid', 'value', 'fields') if p[k] is not None)
    if p['save']:
        feature['save'] = True
    with connect(module) as client:
        desired_state(module, client, p['device'], dict(features=[feature]))


if __name__ == '__main__':
    main()
