# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several gateways in one mesh: the catalog's GTW checks expanded once per gateway (pure).

A catalog check with ``per_gateway`` (a mapping: probe argument -> gateway field) stands for one
check per gateway, its argument taken from that gateway. A gateway is a mapping with ``name``
(as nexus names its rows) and the fields the catalog asks for (``address``, ``nexus_health_url``,
``trading`` ...). With one gateway the seed's ids and names stay; with several, the id gains
``.<name>`` and the name `` <name>``, for example ``GTW ZMQ REQ (5555) gtw2``. A name may
show a gateway field: ``ICMP to GTW ({address})``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mt5crs.mesh.plugins.module_utils import inputs


def gateway_errors(gateways):
    """Errors in the list of gateways, each naming the gateway (or its position) and the cause."""
    errors, seen = [], set()
    for i, gw in enumerate(gateways):
        if not isinstance(gw, dict):
            errors.append('gateway %d is not a mapping' % i)
            continue
        error = inputs.bad_gateway_name('gateways[%d].name' % i, gw.get('name'))
        if error:
            errors.append(error)
        elif gw['name'] in seen:
            errors.append('gateway %s is listed twice' % gw['name'])
        seen.add(gw.get('name'))
    return errors


def expand(checks, gateways):
    """The catalog with each ``per_gateway`` check replaced by one check per gateway, in
    gateway order, each marked with ``gateway: <name>``. Returns (checks, errors); with errors
    the checks are not to be run."""
    errors = gateway_errors(gateways)
    if errors:
        return [], errors
    several = len(gateways) > 1
    out = []
    for check in checks:
        fields = check.get('per_gateway') if isinstance(check, dict) else None
        if fields is None:
            out.append(check)
            continue
        cid = check.get('id', '?')
        if not isinstance(fields, dict):
            errors.append('check %s: per_gateway must map probe arguments to gateway fields' % cid)
            continue
        if not gateways:
            errors.append('check %s: per_gateway, but the inventory has no gateway (group gtw is empty)' % cid)
            continue
        for gw in gateways:
            missing = sorted(str(f) for f in fields.values() if f not in gw)
            if missing:
                errors.append('check %s: gateway %s has no %s' % (cid, gw['name'], ', '.join(missing)))
                continue
            one = dict((k, v) for k, v in check.items() if k != 'per_gateway')
            args = dict(check.get('args') or {})
            args.update((arg, gw[field]) for arg, field in fields.items())
            name = str(check.get('name'))
            for field, value in gw.items():
                name = name.replace('{%s}' % field, str(value))
            one.update(args=args, gateway=gw['name'], name=name)
            if several:
                one.update(id='%s.%s' % (cid, gw['name']), name='%s %s' % (name, gw['name']))
            out.append(one)
    return out, errors


def by_gateway(results):
    """Score of each gateway's checks (core and extended together): name, total, passed, ok."""
    order, rows = [], {}
    for r in results:
        name = r.get('gateway')
        if name is None:
            continue
        if name not in rows:
            order.append(name)
            rows[name] = {'name': name, 'total': 0, 'passed': 0, 'failing': []}
        rows[name]['total'] += 1
        if r['ok']:
            rows[name]['passed'] += 1
        else:
            rows[name]['failing'].append(r['name'])
    for name in order:
        rows[name]['ok'] = not rows[name]['failing']
    return [rows[n] for n in order]
