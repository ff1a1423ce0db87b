# -*- coding: utf-8 -*-
# Copyright: nvmerpcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # How every nvmerpc.nvme module reaches the host's nvmerpcd.
    DOCUMENTATION = r'''
options:
  socket:
    description:
      - The daemon's Unix socket on the managed host.
      - Ignored when I(stdio_command) is set.
    type: path
    default: /run/nvmerpcd.sock
  stdio_command:
    description:
      - Instead of a socket, start this command and speak JSON-RPC over its standard input and
        output, for a host where no daemon runs, for example C(['nvmerpcd', '--stdio']).
      - A list of arguments, or a string split as a shell would.
    type: raw
  timeout:
    description:
      - Seconds to wait for each answer of the daemon. Long operations waited for
        (format, sanitize, self-test with I(wait)) must end within it.
    type: int
    default: 300
requirements:
  - nvmerpcd running on the managed host (or installed, with I(stdio_command))
notes:
  - The module talks to the daemon on the managed host; the daemon's policy decides what the
    calling user may do (PermissionDenied otherwise).
'''
