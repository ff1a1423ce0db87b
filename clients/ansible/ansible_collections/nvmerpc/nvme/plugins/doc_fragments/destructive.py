# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # confirm and force, for modules whose operations may be destructive or lose data.
    DOCUMENTATION = r'''
options:
  confirm:
    description:
      - The controller's serial number (Identify Controller C(sn), returned by
        M(nvmerpc.nvme.nvme_info)). Required when an operation is destructive; checked by the
        daemon (ConfirmationRequired otherwise).
    type: str
  force:
    description:
      - Allow the operations that lose data or reset the controller, as each module lists them.
      - What I(force) allows is fixed for each module; a new kind of loss gets its own option,
        never a wider I(force).
    type: bool
    default: false
'''
