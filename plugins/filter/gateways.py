# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh's gateways from inventory: every host of group gtw, in inventory order, with the
name nexus gives its rows and the INF ports of the nexus instance that follows it. The one
place that numbers them (nexus_daemon renders the instances, mesh_verify checks them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Instance i (0-based, inventory order) of nexus on INF: /healthz on 9110+i, XPUB on 5558+i.
# A host var mesh_nexus_health_port / mesh_nexus_xpub_port pins a gateway's own.
HEALTH_BASE = 9110
XPUB_BASE = 5558


def gateways(hosts, hostvars):
    """hosts: groups['gtw']; hostvars: Ansible's hostvars. Returns a list of mappings."""
    out = []
    for i, host in enumerate(hosts or []):
        hv = hostvars[host]
        health = int(hv.get('mesh_nexus_health_port', HEALTH_BASE + i))
        out.append({
            'host': host,
            'name': hv.get('mesh_gateway_name') or str(host).split('.', 1)[0],
            'address': hv.get('gateway_broker_bind_address') or hv.get('ansible_host') or host,
            'nexus_health_port': health,
            'nexus_health_url': 'http://127.0.0.1:%d/healthz' % health,
            'nexus_xpub_port': int(hv.get('mesh_nexus_xpub_port', XPUB_BASE + i)),
            'trading': bool(hv.get('gateway_broker_trading', False)),
            # Its protocol: mt5mesh (ours) or action (an existing MT5 ZeroMQ gateway, docs/protocol.md).
            'dialect': hv.get('gateway_dialect') or 'mt5mesh',
            'action_ping': hv.get('gateway_action_ping') or 'HEARTBEAT',
            # Its own CURVE public key (Z85; not secret), for the clients that talk to it.
            'curve_public_key': hv.get('mesh_curve_server_public_key') or '',
        })
    return out


class FilterModule(object):
    def filters(self):
        return {'gateways': gateways}
