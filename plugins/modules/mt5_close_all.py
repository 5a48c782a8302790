#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mt5_close_all
short_description: Close every open position on a mesh gateway (the kill switch)
description:
  - Sends the mesh protocol C(close_all) command to the gateway, which closes each matching position at market.
  - Works with trading off on the gateway, closing only reduces risk.
  - Retries carry the same request id, so the gateway answers a retry with its first reply and never closes twice.
  - Fails when any matching position is still open afterwards, naming the host and the positions.
  - In check mode it lists what would be closed and closes nothing.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.gateway
  - mt5crs.mesh.position_filter
attributes:
  check_mode:
    support: full
    description: Lists the positions that would be closed.
  diff_mode:
    support: none
    description: Nothing to diff.
options:
  client_id:
    description:
      - The request id. Give the same one when re-running after an unknown outcome, so the gateway recognises it.
      - A new unique id by default.
      - "1-128 characters from C(A-Z a-z 0-9 . _ : -), as the gateway requires of every id."
    type: str
seealso:
  - module: mt5crs.mesh.mt5_positions_info
'''

EXAMPLES = r'''
- name: Flatten every position on the gateway
  mt5crs.mesh.mt5_close_all:
    host: "{{ mesh_gtw_address }}"
  register: flattened
'''

RETURN = r'''
closed:
  description: Positions closed, with the closing price, deal ticket and MT5 retcode.
  returned: always
  type: list
  elements: dict
  sample: [{"position": 100001, "symbol": "EURUSD", "volume": 0.1, "price": 1.0831, "retcode": 10009, "deal": 100004}]
close_failed:
  description:
    - Positions the terminal refused to close, with the retcode and error.
    - The gateway's C(close_all) reply calls this C(failed); Ansible keeps that name for the task's own status.
  returned: always
  type: list
  elements: dict
would_close:
  description: In check mode, the positions that would be closed.
  returned: check mode
  type: list
  elements: dict
remaining:
  description: Matching positions still open afterwards.
  returned: always
  type: list
  elements: dict
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 0.02
'''

from ansible_collections.mt5crs.mesh.plugins.module_utils import mesh_common
from ansible_collections.mt5crs.mesh.plugins.module_utils.account import AccountError, open_account


class KillSwitch:
    """Close every matching position, then look again: what is still open is the answer."""

    def __init__(self, module, account):
        self.module, self.account = module, account
        p = module.params
        self.symbol, self.magic, self.client_id = p['symbol'], p['magic'], p['client_id']

    def run(self):
        before = self.account.positions(self.symbol, self.magic)
        if self.module.check_mode:
            return dict(changed=bool(before), closed=[], close_failed=[], would_close=before, remaining=before)
        if not before:
            return dict(changed=False, closed=[], close_failed=[], remaining=[])
        reply = self.account.close_all(self.symbol, self.magic, self.client_id)
        if 'closed' not in reply:
            raise AccountError('gateway %s refused close_all: %s' % (self.account.url, reply.get('error')))
        remaining = self.account.positions(self.symbol, self.magic)
        return dict(changed=bool(reply['closed']), closed=reply['closed'], close_failed=reply['failed'], remaining=remaining)


def main():
    module = mesh_common.gateway_module(dict(symbol=dict(type='str'), magic=dict(type='int'), client_id=dict(type='str')))
    p = module.params
    account = open_account(module, mesh_common)
    try:
        result = KillSwitch(module, account).run()
    except AccountError as e:
        module.fail_json(msg='%s: %s' % (p['host'], e), elapsed=account.elapsed())
    finally:
        account.close()
    result['elapsed'] = account.elapsed()
    if result['remaining'] and not module.check_mode:
        module.fail_json(msg='%s: %d position(s) still open after close_all: %s' % (
            p['host'], len(result['remaining']), ', '.join('%s %s' % (r['ticket'], r['symbol']) for r in result['remaining'])),
            **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
