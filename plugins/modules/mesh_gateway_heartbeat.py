#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_gateway_heartbeat
short_description: Check that the mesh gateway publishes heartbeats (and ticks) on its PUB socket
description:
  - Subscribes to the gateway PUB socket and waits for at least I(min_messages) protocol events within I(within) seconds.
  - Reports the count, the seq range, gaps seen, the epoch and the age of the last heartbeat.
  - Reports availability instead of failing; use I(fail_on_missing) to fail.
  - A TCP connect is tried first, for at most 0.25 seconds. When it is refused (nothing listens on the port, or a firewall rejects it),
    it reports no events at once instead of after I(within).
  - The gateway publishes a heartbeat as soon as a new subscriber subscribes to heartbeats, so a live gateway answers in milliseconds.
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.read_only
  - mt5crs.mesh.gateway
  - mt5crs.mesh.dialect
options:
  port:
    description:
      - Gateway PUB port.
    type: int
    default: 5556
  min_messages:
    description:
      - Events needed for success.
    type: int
    default: 1
  within:
    description:
      - Seconds to wait for I(min_messages) events.
    type: float
    default: 3.0
  include_ticks:
    description:
      - Also subscribe to C(tick.*) events, so that seq gaps between ticks are counted.
    type: bool
    default: false
  fail_on_missing:
    description:
      - Fail the task when fewer than I(min_messages) arrive.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Expect three heartbeats within five seconds
  mt5crs.mesh.mesh_gateway_heartbeat:
    host: "{{ mesh_gtw_address }}"
    min_messages: 3
    within: 5
    fail_on_missing: true
'''

RETURN = r'''
is_available:
  description: Whether I(min_messages) events arrived in time.
  returned: always
  type: bool
count:
  description: Events received.
  returned: always
  type: int
  sample: 3
seq_first:
  description: Seq of the first event received.
  returned: always
  type: int
seq_last:
  description: Seq of the last event received.
  returned: always
  type: int
gaps:
  description: Seq gaps between consecutive ticks (with I(include_ticks)).
  returned: always
  type: int
epoch:
  description: Broker epoch seen.
  returned: always
  type: int
heartbeat_age_s:
  description: Age of the last heartbeat when it arrived (its C(ts) against this host's clock).
  returned: always
  type: float
detail:
  description: A one-line summary naming the URL.
  returned: always
  type: str
'''

from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes, inputs, mesh_common
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire import protocol


def main():
    module = mesh_common.gateway_module(dict(
        port=dict(type='int', default=5556),
        min_messages=dict(type='int', default=1),
        within=dict(type='float', default=3.0),
        include_ticks=dict(type='bool', default=False),
        fail_on_missing=dict(type='bool', default=False),
    ), dialect=True)
    mesh_common.ensure_zmq(module)
    mesh_common.validate_gateway(module)
    p = module.params
    error = inputs.first_error(inputs.bad_int('min_messages', p['min_messages'], 1, 1000000),
                               inputs.bad_seconds('within', p['within'], maximum=3600))
    if error:
        module.fail_json(msg=error)
    topics = (protocol.TOPIC_HEARTBEAT, protocol.TOPIC_TICK_PREFIX) if p['include_ticks'] else (protocol.TOPIC_HEARTBEAT,)
    result = gateway_probes.zmq_heartbeat(mesh_common.zmq, p['host'], p['port'], p['min_messages'], p['within'],
                                          mesh_common.curve_keys(module), topics, p['gateway_dialect'])
    ok = result.pop('ok')
    result.pop('heartbeat_ts', None)
    if not ok and p['fail_on_missing']:
        module.fail_json(msg=result['detail'], is_available=False, **result)
    module.exit_json(changed=False, is_available=ok, **result)


if __name__ == '__main__':
    main()
