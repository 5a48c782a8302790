# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  gateway_dialect:
    description:
      - The protocol the gateway speaks. C(mt5mesh) is this collection's gateway.
      - C(action) is the JSON dialect of existing MT5 ZeroMQ gateways (for example an Expert Advisor that binds the ports itself),
        see docs/protocol.md. Ping is C(HEARTBEAT) or C(PING), and the stream check counts one-frame JSON ticks.
    type: str
    choices: [mt5mesh, action]
    default: mt5mesh
  action_ping:
    description:
      - With I(gateway_dialect=action), the request that pings, C(HEARTBEAT) (expects C(SUCCESS)) or C(PING) (expects C(PONG)).
    type: str
    choices: [HEARTBEAT, PING]
    default: HEARTBEAT
'''
