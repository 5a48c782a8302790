#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mt5_positions_info
short_description: List the open positions of the MetaTrader 5 account behind a mesh gateway
description:
  - Sends the mesh protocol C(positions) command to the gateway REQ/REP socket and returns the open positions.
  - Read-only, works whether trading is on or off on the gateway.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.read_only
  - mt5crs.mesh.gateway
  - mt5crs.mesh.position_filter
seealso:
  - module: mt5crs.mesh.mt5_close_all
'''

EXAMPLES = r'''
- name: Open positions on the gateway
  mt5crs.mesh.mt5_positions_info:
    host: "{{ mesh_gtw_address }}"
  register: open_positions
'''

RETURN = r'''
positions:
  description: Open positions as the gateway reports them.
  returned: success
  type: list
  elements: dict
  sample: [{"ticket": 100001, "symbol": "EURUSD", "type": "buy", "volume": 0.1, "price_open": 1.0832, "profit": -0.7}]
count:
  description: Number of open positions.
  returned: success
  type: int
  sample: 1
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 0.004
'''

from ansible_collections.mt5crs.mesh.plugins.module_utils import mesh_common
from ansible_collections.mt5crs.mesh.plugins.module_utils.account import AccountError, open_account


def main():
    module = mesh_common.gateway_module(dict(symbol=dict(type='str'), magic=dict(type='int')))
    p = module.params
    account = open_account(module, mesh_common)
    try:
        positions = account.positions(p['symbol'], p['magic'])
    except AccountError as e:
        module.fail_json(msg='%s: %s' % (p['host'], e), elapsed=account.elapsed())
    finally:
        account.close()
    module.exit_json(changed=False, positions=positions, count=len(positions), elapsed=account.elapsed())


if __name__ == '__main__':
    main()
