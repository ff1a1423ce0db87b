#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: nvme_firmware
short_description: Run a firmware revision, idempotent by revision
version_added: 1.0.0
description:
  - Nothing is done when the controller runs I(revision) (Identify Controller C(fr)) or the next
    reset activates it (Firmware Slot log). Otherwise the image is downloaded and committed to
    I(slot) with I(action), by the daemon's C(nvme.plan) and C(nvme.apply); check mode and diff
    show exactly what the run does.
  - A commit is destructive for the daemon and needs I(confirm). A commit that activates the
    image (every I(action) but C(replace)) resets or switches the running firmware and also needs
    I(force).
author: nvmerpcd contributors (@nvmerpc)
extends_documentation_fragment:
  - nvmerpc.nvme.connection
  - nvmerpc.nvme.destructive
options:
  device:
    description: The controller (C(nvme0), C(sim0)).
    type: str
    required: true
  revision:
    description: The firmware revision wanted (up to 8 characters).
    type: str
    required: true
  src:
    description: The image, a file on the managed host. One of I(src), I(image), I(path) is
      needed when the revision differs.
    type: path
  image:
    description: The image, base64.
    type: str
  path:
    description: The image, a file name in the daemon's firmware directory (its config's
      C(firmware.dir)).
    type: str
  slot:
    description: The slot to commit to; 0 lets the controller choose.
    type: int
    default: 0
  action:
    description: The commit action.
    type: str
    choices: [replace, replace_activate, activate, replace_activate_immediate]
    default: replace_activate
'''

EXAMPLES = r'''
- name: Firmware 2.1.0 in slot 2, active from the next reset
  nvmerpc.nvme.nvme_firmware:
    device: nvme0
    revision: 2.1.0
    src: /srv/firmware/acme-2.1.0.bin
    slot: 2
    confirm: "{{ nvme_serial }}"
    force: true
'''

RETURN = r'''
operations:
  description: The operations planned (check mode) or run (download, then commit).
  returned: always
  type: list
  elements: dict
plan_digest:
  description: The digest of the state the plan read.
  returned: always
  type: str
'''

import base64

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nvmerpc.nvme.plugins.module_utils.nvmerpc import (
    CONNECTION_ARGS, connect, desired_state)


def main():
    spec = dict(CONNECTION_ARGS, device=dict(type='str', required=True),
                revision=dict(type='str', required=True), src=dict(type='path'),
                image=dict(type='str'), path=dict(type='str'),
                slot=dict(type='int', default=0),
                action=dict(type='str', default='replace_activate',
                            choices=['replace', 'replace_activate', 'activate',
                                     'replace_activate_immediate']),
                confirm=dict(type='str'), force=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[('src', 'image', 'path')])
    p = module.params
    firmware = dict(revision=p['revision'], slot=p['slot'], action=p['action'])
    if p['src']:
        try:
            with open(p['src'], 'rb') as f:
                firmware['image'] = base64.b64encode(f.read()).decode('ascii')
        except (IOError, OSError) as e:
            module.fail_json(msg='cannot read %s: %s' % (p['src'], e))
    elif p['image']:
        firmware['image'] = p['image']
    elif p['path']:
        firmware['path'] = p['path']
    with connect(module) as client:
        desired_state(module, client, p['device'], dict(firmware=firmware), p['confirm'],
                      p['force'])


if __name__ == '__main__':
    main()
