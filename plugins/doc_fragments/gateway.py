# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  host:
    description:
      - Address or name of the gateway (GTW) host.
    type: str
    required: true
  port:
    description:
      - TCP port of the gateway socket.
    type: int
    default: 5555
  timeout:
    description:
      - Seconds to wait for one answer before the attempt counts as failed.
    type: float
    default: 1.0
  curve_server_public_key:
    description:
      - Gateway public key file (zmq.auth certificate format). Enables CURVE with I(curve_client_secret_key).
    type: path
  curve_client_secret_key:
    description:
      - This client's secret key file (zmq.auth certificate format).
      - Only the path is an option; the key itself is never read into the module's result.
    type: path
requirements:
  - pyzmq
'''
