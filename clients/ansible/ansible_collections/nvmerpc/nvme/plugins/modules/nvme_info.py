#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nvme_info
short_description: Read NVMe controllers, namespaces, SMART, firmware, features and MI endpoints
version_added: 1.0.0
description:
  - Returns what the host's nvmerpcd reads, as plain data (not facts), chosen with
    I(gather_subset). Never changes anything; the same in check mode.
author: nvmerpcd contributors (@nvmerpc)
extends_documentation_fragment:
  - nvmerpc.nvme.connection
options:
  device:
    description: Only this controller (C(nvme0), C(sim0)); default every controller.
    type: str
  gather_subset:
    description: What to read.
    type: list
    elements: str
    choices: [all, controllers, namespaces, smart, firmware, features, mi_endpoints]
    default: [all]
  features:
    description: The feature identifiers read with C(features).
    type: list
    elements: int
    default: [1, 2, 4, 6, 7, 8, 11]
'''

EXAMPLES = r'''
- name: Serial numbers and SMART
  nvmerpc.nvme.nvme_info:
    gather_subset: [controllers, smart]
  register: nvme

- name: The first controller's serial, for confirm
  ansible.builtin.set_fact:
    nvme_serial: "{{ nvme.controllers.nvme0.sn }}"
'''

RETURN = r'''
topology:
  description: The daemon's C(nvme.list) - subsystems, controllers, namespaces.
  returned: always
  type: dict
controllers:
  description: Identify Controller of each controller, by name.
  returned: when controllers is gathered
  type: dict
namespaces:
  description: Identify Namespace of each namespace, by name, with its nsid and controller.
  returned: when namespaces is gathered
  type: dict
smart:
  description: The SMART / Health log of each controller, by name.
  returned: when smart is gathered
  type: dict
firmware:
  description: The Firmware Slot log of each controller, by name.
  returned: when firmware is gathered
  type: dict
features:
  description: Each controller's features, by name, then by fid (value and fields, or error).
  returned: when features is gathered
  type: dict
mi_endpoints:
  description: The NVMe-MI endpoints the daemon knows.
  returned: when mi_endpoints is gathered
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nvmerpc.nvme.plugins.module_utils.nvmerpc import (
    CONNECTION_ARGS, RpcError, call_or_fail, connect)

SUBSETS = ['controllers', 'namespaces', 'smart', 'firmware', 'features', 'mi_endpoints']
PER_CONTROLLER = dict(controllers='nvme.id_ctrl', smart='nvme.smart_log', firmware='nvme.fw_log')


def read_features(client, device, fids):
    """{fid: get_feature's value and fields, or the error} for each fid."""
    out = {}
    for fid in fids:
        try:
            got = client.call('nvme.get_feature', device=device, fid=fid)
            out[str(fid)] = dict(name=got.get('name'), value=got.get('value'),
                                 fields=got.get('fields'))
        except RpcError as e:
            out[str(fid)] = dict(error=e.as_dict())
    return out


def read_namespaces(module, client, topology, names):
    """Identify Namespace of each namespace reached by one of @names."""
    out = {}
    for subsystem in topology.get('subsystems') or []:
        for ns in subsystem.get('namespaces') or []:
            ctrls = [c for c in ns.get('controllers') or [] if c in names]
            if not ctrls:
                continue
            info = call_or_fail(module, client, 'nvme.id_ns', device=ctrls[0], nsid=ns['nsid'])
            out[ns['name']] = dict(info, nsid=ns['nsid'], controller=ctrls[0], csi=ns.get('csi'))
    return out


def main():
    spec = dict(CONNECTION_ARGS, device=dict(type='str'),
                gather_subset=dict(type='list', elements='str', default=['all'],
                                   choices=['all'] + SUBSETS),
                features=dict(type='list', elements='int', default=[1, 2, 4, 6, 7, 8, 11]))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    subsets = SUBSETS if 'all' in p['gather_subset'] else p['gather_subset']
    with connect(module) as client:
        topology = call_or_fail(module, client, 'nvme.list')
        names = [c['name'] for s in topology.get('subsystems') or [] for c in s.get('controllers') or []]
        if p['device']:
            if p['device'] not in names:
                module.fail_json(msg='no controller %s (the daemon has: %s)'
                                 % (p['device'], ', '.join(names)))
            names = [p['device']]
        result = dict(changed=False, topology=topology)
        for subset, method in PER_CONTROLLER.items():
            if subset in subsets:
                result[subset] = dict((n, call_or_fail(module, client, method, device=n))
                                      for n in names)
        if 'features' in subsets:
            result['features'] = dict((n, read_features(client, n, p['features'])) for n in names)
        if 'namespaces' in subsets:
            result['namespaces'] = read_namespaces(module, client, topology, names)
        if 'mi_endpoints' in subsets:
            result['mi_endpoints'] = call_or_fail(module, client, 'mi.endpoints').get('endpoints')
        module.exit_json(**result)


if __name__ == '__main__':
    main()
