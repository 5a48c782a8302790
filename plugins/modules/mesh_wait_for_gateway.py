#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_wait_for_gateway
short_description: Wait until the mesh gateway broker answers C(ping) at the protocol level
description:
  - Polls the gateway with the mesh protocol C(ping) until it answers or I(timeout) seconds pass.
  - An open TCP port is not enough, the broker must answer.
  - Polls every I(sleep) seconds (at most 0.25), so a broker is seen within half a second of answering.
  - Each attempt's own timeout is clamped to the time left, so the deadline is kept.
  - For a long wait with visible progress, call it in short slices with C(until)/C(retries), see the examples.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.gateway
  - mt5crs.mesh.dialect
options:
  timeout:
    description:
      - Seconds to wait in total (the seed's budget was 10 minutes).
    type: float
    default: 600
  connect_timeout:
    description:
      - Seconds one C(ping) attempt may take before a fresh socket is tried.
    type: float
    default: 1.0
  sleep:
    description:
      - Seconds between attempts; between 0.01 and 0.25.
    type: float
    default: 0.2
  msg:
    description:
      - Message to fail with instead of the default one.
    type: str
attributes:
  check_mode:
    support: full
    description: Read-only; waits the same in check mode.
  diff_mode:
    support: none
    description: Nothing to diff.
seealso:
  - module: ansible.builtin.wait_for
  - module: mt5crs.mesh.mesh_gateway_ping
'''

EXAMPLES = r'''
- name: Wait up to 10 minutes for the gateway, showing a RETRYING line every 10 s
  mt5crs.mesh.mesh_wait_for_gateway:
    host: "{{ mesh_gtw_address }}"
    timeout: 10
  register: gw
  until: gw is succeeded
  retries: 60
  delay: 0
'''

RETURN = r'''
elapsed:
  description: Seconds waited.
  returned: always
  type: float
  sample: 0.43
attempts:
  description: C(ping) attempts made.
  returned: always
  type: int
  sample: 3
epoch:
  description: Broker epoch once it answered.
  returned: success
  type: int
seq:
  description: Last published seq once it answered.
  returned: success
  type: int
version:
  description: Broker version once it answered.
  returned: success
  type: str
last_error:
  description: The last reason an attempt failed.
  returned: always
  type: str
'''

import time

from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes, inputs, mesh_common


def main():
    module = mesh_common.gateway_module(dict(
        timeout=dict(type='float', default=600),
        connect_timeout=dict(type='float', default=1.0),
        sleep=dict(type='float', default=0.2),
        msg=dict(type='str'),
    ), dialect=True)
    mesh_common.ensure_zmq(module)
    mesh_common.validate_gateway(module)
    p = module.params
    error = inputs.first_error(inputs.bad_seconds('connect_timeout', p['connect_timeout'], maximum=60),
                               inputs.bad_seconds('sleep', p['sleep'], minimum=0.01, maximum=0.25))
    if error:
        module.fail_json(msg=error)
    curve = mesh_common.curve_keys(module)

    start = time.time()
    deadline = start + p['timeout']
    attempts, last_error = 0, None
    while True:
        left = deadline - time.time()
        if left <= 0:
            break
        attempts += 1
        result = gateway_probes.zmq_ping(mesh_common.zmq, p['host'], p['port'], timeout=max(0.01, min(p['connect_timeout'], left)),
                                         retries=1, curve=curve, gateway_dialect=p['gateway_dialect'], action_ping=p['action_ping'])
        if result['ok']:
            module.exit_json(changed=False, elapsed=round(time.time() - start, 3), attempts=attempts,
                             epoch=result['epoch'], seq=result['seq'], version=result['version'], last_error=last_error)
        last_error = result['detail']
        time.sleep(max(0.0, min(p['sleep'], deadline - time.time())))
    elapsed = round(time.time() - start, 3)
    module.fail_json(msg=p['msg'] or "gateway %s:%d did not answer ping within %ss: %s" % (
        p['host'], p['port'], p['timeout'], last_error), elapsed=elapsed, attempts=attempts, last_error=last_error)


if __name__ == '__main__':
    main()
