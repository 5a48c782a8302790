#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_gateway_ping
short_description: Check that the mesh gateway broker answers C(ping) at the protocol level
description:
  - Sends the mesh protocol C(ping) command to the gateway REQ/REP socket and reports whether a valid reply came back.
  - A TCP port that accepts connections while the broker is hung (for example stopped with SIGSTOP) counts as B(not) available.
  - Follows the zguide Lazy Pirate pattern, on a timeout the REQ socket is closed and a fresh one retries, up to I(retries) attempts.
  - A TCP connect is tried first, for at most 0.25 seconds. When it is refused (nothing listens on the port, or a firewall rejects it),
    the broker is reported unavailable at once, with no ZeroMQ attempt, instead of after the whole I(timeout).
  - Reports availability instead of failing, like C(community.postgresql.postgresql_ping).
version_added: 1.0.0
author:
  - mt5crs maintainers (@mt5crs)
extends_documentation_fragment:
  - mt5crs.mesh.read_only
  - mt5crs.mesh.gateway
  - mt5crs.mesh.dialect
options:
  retries:
    description:
      - Attempts, each with a fresh socket, before giving up.
    type: int
    default: 2
seealso:
  - module: mt5crs.mesh.mesh_wait_for_gateway
  - module: mt5crs.mesh.mesh_gateway_heartbeat
'''

EXAMPLES = r'''
- name: Ask the gateway for ping
  mt5crs.mesh.mesh_gateway_ping:
    host: "{{ mesh_gtw_address }}"
  register: gw

- name: Fail when the broker does not answer
  ansible.builtin.assert:
    that: gw.is_available
    fail_msg: "gateway broker: {{ gw.error }}"
'''

RETURN = r'''
is_available:
  description: Whether a valid C(ping) reply came back.
  returned: always
  type: bool
  sample: true
rtt_ms:
  description: Round trip of the successful request in milliseconds, including retries.
  returned: always
  type: float
  sample: 0.41
socket_resets:
  description: REQ sockets closed and reopened after a timeout (Lazy Pirate); more than 0 means the broker was slow or gone.
  returned: when the request ran
  type: int
  sample: 0
version:
  description: Broker software version.
  returned: success
  type: str
  sample: 0.1.0
epoch:
  description: Broker epoch, new on every broker start.
  returned: success
  type: int
  sample: 1795673259172
seq:
  description: The last tick seq the broker published in this epoch.
  returned: success
  type: int
  sample: 4242
error:
  description: Why the broker is not available, naming the URL.
  returned: always
  type: str
  sample: "gateway tcp://10.231.47.12:5555: no reply within 1.000s after 2 attempt(s)"
'''

from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes, inputs, mesh_common


def main():
    module = mesh_common.gateway_module(dict(retries=dict(type='int', default=2)), dialect=True)
    mesh_common.ensure_zmq(module)
    mesh_common.validate_gateway(module)
    error = inputs.bad_int('retries', module.params['retries'], 1, 100)
    if error:
        module.fail_json(msg=error)
    p = module.params
    result = gateway_probes.zmq_ping(mesh_common.zmq, p['host'], p['port'], p['timeout'], p['retries'],
                                     mesh_common.curve_keys(module), p['gateway_dialect'], p['action_ping'])
    result.pop('ok')
    result.pop('detail')
    result.setdefault('error', None)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
