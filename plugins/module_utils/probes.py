# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host and service probes of the mesh, as plain functions returning {'ok': bool, ...}.
The gateway's own probes (ZeroMQ, its status) are in gateway_probes.py.

A probe never raises: a failure is a result that names the target and the cause. The probe
modules and mesh_verify both call these, so a check behaves the same whichever way it runs.
Services are proven by speaking their protocol (PING, SELECT, the gateway's ``ping``), never
by a TCP connect alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import socket
import ssl
import subprocess
import sys
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.errors import first_line as _err
from ansible_collections.mt5crs.mesh.plugins.module_utils.http_json import get_json
from ansible_collections.mt5crs.mesh.plugins.module_utils.probe_result import fail as _fail, ok as _ok


def python_version(minimum='3.9'):
    want = tuple(int(x) for x in str(minimum).split('.'))
    have = sys.version_info[:len(want)]
    version = '%d.%d.%d' % sys.version_info[:3]
    if have >= want:
        return _ok('Python %s running (>= %s)' % (version, minimum), version=version)
    return _fail('Python %s is older than the required %s' % (version, minimum), version=version)


def imports(modules):
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            missing.append('%s (%s)' % (name, _err(e)))
    if missing:
        return _fail('cannot import: %s' % ', '.join(missing))
    return _ok('importable: %s' % ', '.join(modules))


def redis_ping(host, port=6379, password=None, db=0, timeout=2.0):
    try:
        import redis
    except ImportError:
        return _fail('python library redis is missing on this host')
    where = 'redis %s:%s/%s' % (host, port, db)
    try:
        # retry=None: redis-py 6+ retries a failed connect three times with backoff by default,
        # so a refused port took 3-4 s against a 0.5 s timeout. The probe's timeout is its bound.
        client = redis.Redis(host=host, port=port, db=db, password=password or None,
                             socket_timeout=timeout, socket_connect_timeout=timeout, retry=None)
        client.ping()
        version = client.info('server').get('redis_version', '?')
    except redis.AuthenticationError as e:
        return _fail('%s: authentication failed (%s)' % (where, _err(e)))
    except redis.RedisError as e:
        return _fail('%s: %s' % (where, _err(e)))
    return _ok('Redis %s online at %s:%s' % (version, host, port), version=version)


def postgres_login(host, db, user, password=None, port=5432, timeout=3.0):
    """The catalog's postgres check: a login and SHOW server_version, no SQL from the catalog."""
    return _postgres(host, db, user, password, port, timeout)


def _postgres(host, db, user, password=None, port=5432, timeout=3.0, query=None, params=None):
    """A login, then (for the probes below, never from the catalog) one fixed query."""
    try:
        import psycopg2
    except ImportError:
        return _fail('python library psycopg2 is missing on this host')
    where = 'postgresql %s@%s:%s/%s' % (user, host, port, db)
    try:
        conn = psycopg2.connect(host=host, port=port, dbname=db, user=user, password=password or None,
                                connect_timeout=max(1, int(round(timeout))))
    except psycopg2.Error as e:
        return _fail('%s: %s' % (where, _err(e)))
    try:
        with conn.cursor() as cur:
            cur.execute('SHOW server_version')
            version = cur.fetchone()[0]
            value = None
            if query:
                cur.execute(query, params)
                row = cur.fetchone()
                value = row[0] if row else None
    except psycopg2.Error as e:
        return _fail('%s: %s' % (where, _err(e)))
    finally:
        conn.close()
    return _ok('PostgreSQL %s online (%s)' % (version.split()[0], where), version=version, value=value)


def path_exists(path, path_type='any'):
    checks = {'file': os.path.isfile, 'dir': os.path.isdir, 'any': os.path.exists,
              'executable': lambda p: os.path.isfile(p) and os.access(p, os.X_OK)}
    if path_type not in checks:
        return _fail('unknown path type %r' % path_type)
    if checks[path_type](path):
        return _ok('%s exists (%s)' % (path, path_type))
    if os.path.exists(path):
        return _fail('%s exists but is not a %s' % (path, path_type))
    return _fail('%s does not exist' % path)


def icmp(host, timeout=1.0, count=1):
    wait = max(1, int(round(timeout)))
    try:
        out = subprocess.run(['ping', '-n', '-c', str(count), '-W', str(wait), host],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=wait * count + 2, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return _fail('ping %s: %s' % (host, _err(e)))
    text = out.stdout.decode('utf-8', 'replace')
    if out.returncode == 0:
        rtt = [line for line in text.splitlines() if 'time=' in line]
        return _ok('%s reachable%s' % (host, ' (%s)' % rtt[0].split('time=')[1] if rtt else ''))
    return _fail('%s unreachable by ICMP: %s' % (host, (text.strip().splitlines() or ['no reply'])[-1]))


def tcp(host, port, timeout=1.0):
    start = time.time()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.close()
    except (OSError, socket.error) as e:
        return _fail('tcp %s:%s: %s' % (host, port, _err(e)))
    return _ok('tcp %s:%s accepts (%.1f ms); this proves the port, not the service'
               % (host, port, (time.time() - start) * 1000))


def http(url, expect_status=200, timeout=3.0, ca_path=None, validate_certs=True):
    try:
        resp = open_url(url, method='GET', timeout=timeout, validate_certs=validate_certs, ca_path=ca_path,
                        follow_redirects='none')
        status = resp.getcode()
        resp.close()
    except HTTPError as e:
        status = e.code
    except (URLError, OSError, socket.error, ssl.SSLError) as e:
        return _fail('%s: %s' % (url, _err(getattr(e, 'reason', e))))
    if status == expect_status:
        return _ok('%s [HTTP %d]' % (url, status), status=status)
    return _fail('%s answered HTTP %d, expected %d' % (url, status, expect_status), status=status)


def dns(name, timeout=2.0):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        addresses = sorted(set(a[4][0] for a in socket.getaddrinfo(name, None)))
    except (socket.gaierror, socket.error, UnicodeError) as e:
        return _fail('cannot resolve %s: %s' % (name, _err(e)))
    finally:
        socket.setdefaulttimeout(previous)
    return _ok('%s -> %s' % (name, ', '.join(addresses)), addresses=addresses)


def nexus_health(url, max_lag=1.0, timeout=2.0):
    try:
        body = get_json(url, timeout)
    except HTTPError as e:
        return _fail('%s: HTTP %d' % (url, e.code))
    except (URLError, OSError, ValueError) as e:
        return _fail('%s: %s' % (url, _err(getattr(e, 'reason', e))))
    if not isinstance(body, dict):
        return _fail('%s: the answer is not a JSON object' % url)
    lag = body.get('lag_s')
    if body.get('state') != 'healthy':
        problems = body.get('problems')
        problems = [str(p) for p in problems] if isinstance(problems, list) else []
        return _fail('nexus %s: %s' % (str(body.get('state'))[:40], '; '.join(problems)), health=body)
    if isinstance(lag, bool) or not isinstance(lag, (int, float)) or lag > max_lag:
        return _fail('nexus lag %s s over %s s' % (str(lag)[:40], max_lag), health=body)
    return _ok('nexus healthy, lag %.3f s, seq %s, gaps filled %s' % (lag, body.get('last_seq'), body.get('gaps_filled')),
               health=body)


def ticks_fresh(zmq, gateway_host, gateway_port, pg, budget=3.0, curve=None, gateway=None):
    """End to end: the seq the gateway reports now is in INF ``ticks`` within ``budget`` seconds
    (among the rows of ``gateway``, the name nexus gives its rows, when several share INF)."""
    ping = gateway_probes.zmq_ping(zmq, gateway_host, gateway_port, timeout=1.0, retries=1, curve=curve)
    if not ping['ok']:
        return _fail('gateway: %s' % ping['detail'])
    target, epoch = ping['seq'], ping['epoch']
    query = 'SELECT coalesce(max(seq), 0) FROM ticks WHERE epoch = %s'
    params = (int(epoch),)
    if gateway is not None:
        query, params = query + ' AND gateway = %s', (int(epoch), gateway)
    deadline = time.time() + budget
    while True:
        res = _postgres(query=query, params=params, **pg)
        if not res['ok']:
            return res
        if res['value'] is not None and res['value'] >= target:
            return _ok('gateway seq %d of epoch %d is in INF ticks (%.2f s after the ping)'
                       % (target, epoch, budget - (deadline - time.time())), seq=target)
        if time.time() >= deadline:
            return _fail('INF ticks reached seq %s of epoch %d, gateway was at %d %.1f s ago'
                         % (res['value'], epoch, target, budget), seq=target, committed=res['value'])
        time.sleep(0.1)


def hub_bar_fresh(pg, max_age=3.0, gateway=None):
    """The current 1-second bar (of ``gateway`` when given) is in the HUB feature store."""
    query = 'SELECT extract(epoch from now()) - coalesce(max(bucket), 0) FROM bars_1s'
    if gateway is not None:
        res = _postgres(query=query + ' WHERE gateway = %s', params=(gateway,), **pg)
    else:
        res = _postgres(query=query, **pg)
    if not res['ok']:
        return res
    age = float(res['value'])
    if age <= max_age:
        return _ok('newest HUB bar is %.1f s old' % age, age_s=round(age, 3))
    return _fail('newest HUB bar is %.1f s old (max %.1f s)' % (age, max_age), age_s=round(age, 3))


def clock_skew(zmq, gateway_host, gateway_pub_port, pg, max_skew=0.5, curve=None):
    """GTW's clock from its heartbeat timestamps, HUB's from PostgreSQL now(), against ours."""
    offsets = {}
    hb = gateway_probes.zmq_heartbeat(zmq, gateway_host, gateway_pub_port, min_messages=1, within=3.0, curve=curve)
    if hb['ok'] and hb['heartbeat_age_s'] is not None:
        offsets['gtw'] = hb['heartbeat_age_s']
    else:
        return _fail('GTW heartbeat: %s' % hb['detail'])
    t0 = time.time()
    res = _postgres(query='SELECT extract(epoch from clock_timestamp())', **pg)
    if not res['ok']:
        return _fail('HUB clock: %s' % res['detail'])
    offsets['hub'] = round((t0 + time.time()) / 2 - float(res['value']), 3)
    worst = max(abs(v) for v in offsets.values())
    text = ', '.join('%s %+.3f s' % kv for kv in sorted(offsets.items()))
    if worst <= max_skew:
        return _ok('clock skew %s (max %.3f s)' % (text, max_skew), offsets=offsets)
    return _fail('clock skew %s exceeds %.3f s' % (text, max_skew), offsets=offsets)
