# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of an INF pair (docs/ha.md): Patroni's view of the cluster and etcd's quorum.

The verdicts are pure functions of what the REST APIs answered, so they are tested on plain
data; the probes only fetch."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.six.moves.urllib.error import URLError

from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.errors import first_line as _err
from ansible_collections.mt5crs.mesh.plugins.module_utils.http_json import get_json as _get_json
from ansible_collections.mt5crs.mesh.plugins.module_utils.probe_result import fail as _fail, ok as _ok

# What a Patroni member's `state` is while its PostgreSQL serves (3.0 says running for a replica
# too; later releases say streaming).
SERVING = ('running', 'streaming')
# The roles a member that leads has (a standby cluster's leader follows another cluster).
LEADER_ROLES = ('leader', 'standby_leader')


def patroni_verdict(cluster, members, max_lag_bytes):
    """(ok, detail) for Patroni's /cluster answer: exactly one leader, every expected member
    there and serving, and each replica's lag known and within ``max_lag_bytes``. A member
    missing from the answer is named: its Patroni is gone (a dead host)."""
    listed = cluster.get('members') if isinstance(cluster, dict) else None
    if not isinstance(listed, list):
        return False, 'Patroni answered no member list'
    listed = [m for m in listed if isinstance(m, dict)]
    problems = []
    leaders = [str(m.get('name')) for m in listed if m.get('role') in LEADER_ROLES]
    if len(leaders) != 1:
        problems.append('%d leaders (%s), want exactly one' % (len(leaders), ', '.join(leaders) or 'none'))
    by_name = dict((str(m.get('name')), m) for m in listed)
    for name in members:
        m = by_name.get(name)
        if m is None:
            problems.append('%s is not in the cluster (its Patroni does not answer: host down?)' % name)
            continue
        if m.get('state') not in SERVING:
            problems.append('%s is %s' % (name, str(m.get('state'))[:40]))
            continue
        if m.get('role') in LEADER_ROLES:
            continue
        lag = m.get('lag')
        if isinstance(lag, bool) or not isinstance(lag, int):
            problems.append('%s does not replicate (lag %s)' % (name, str(lag)[:40]))
        elif lag > max_lag_bytes:
            problems.append('%s lags %d bytes (max %d)' % (name, lag, max_lag_bytes))
    if problems:
        return False, '; '.join(problems)
    replicas = [n for n in members if n not in leaders]
    return True, 'leader %s; %s' % (leaders[0], ', '.join(
        '%s %s, lag %s' % (n, by_name[n].get('role'), by_name[n].get('lag')) for n in replicas) or 'no replica expected')


def etcd_verdict(health):
    """(ok, detail) for each member's /health answer (url -> True, or the reason it is not
    healthy): quorum needs a majority of the members healthy; the others are named."""
    healthy = [u for u, v in health.items() if v is True]
    sick = ['%s (%s)' % (u, v) for u, v in health.items() if v is not True]
    need = len(health) // 2 + 1
    if len(healthy) < need:
        return False, 'no quorum: %d of %d members healthy, %d needed; %s' % (len(healthy), len(health), need, '; '.join(sick))
    if sick:
        return True, 'quorum (%d of %d); unhealthy: %s' % (len(healthy), len(health), '; '.join(sick))
    return True, 'quorum, all %d members healthy' % len(health)


def patroni_cluster(urls, members, max_lag_bytes=1048576, timeout=2.0):
    """Asks the first of ``urls`` (each member's /cluster) that answers."""
    errors = []
    for url in urls:
        try:
            cluster = _get_json(url, timeout)
        except (URLError, OSError, ValueError) as e:
            errors.append('%s: %s' % (url, _err(getattr(e, 'reason', e))))
            continue
        good, detail = patroni_verdict(cluster, members, max_lag_bytes)
        return (_ok if good else _fail)(detail, cluster=cluster)
    return _fail('no Patroni REST API answered: %s' % '; '.join(errors))


def etcd_quorum(urls, timeout=2.0):
    """Asks every member's /health."""
    health = {}
    for url in urls:
        try:
            body = _get_json(url, timeout)
            health[url] = True if isinstance(body, dict) and body.get('health') == 'true' else 'health %s' % (
                str(body.get('health'))[:20] if isinstance(body, dict) else 'unreadable')
        except (URLError, OSError, ValueError) as e:
            health[url] = _err(getattr(e, 'reason', e))
    good, detail = etcd_verdict(health)
    return (_ok if good else _fail)(detail, members=health)
