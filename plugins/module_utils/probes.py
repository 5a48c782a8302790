# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every probe of the mesh, as plain functions returning {'ok': bool, 'detail': str, ...}.

A probe never raises: a failure is a result that names the target and the cause. The probe
modules and mesh_verify both call these, so a check behaves the same whichever way it runs.
Services are proven by speaking their protocol (PING, SELECT, the gateway's ``ping``), never
by a TCP connect alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import os
import socket
import ssl
import subprocess
import sys
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.errors import first_line
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire import dialect, protocol, sockets
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.lazy_pirate import GatewayUnavailable, LazyPirateClient
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.breaker import CircuitBreaker


def _fail(detail, **extra):
    extra.update(ok=False, detail=detail)
    return extra


def _ok(detail, **extra):
    extra.update(ok=True, detail=detail)
    return extra


def _err(e):
    return first_line(e)


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
        client = redis.Redis(host=host, port=port, db=db, password=password or None,
                             socket_timeout=timeout, socket_connect_timeout=timeout)
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


def _postgres(host, db, user, password=None, port=5432, timeout=3.0, query=None):
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
                cur.execute(query)
                row = cur.fetchone()
                value = row[0] if row else None
    except psycopg2.Error as e:
        return _fail('%s: %s' % (where, _err(e)))
    finally:
        conn.close()
    return _ok('PostgreSQL %s online (%s)' % (version.split()[0], where), version=version, value=value)


def path_exists(path, kind='any'):
    checks = {'file': os.path.isfile, 'dir': os.path.isdir, 'any': os.path.exists,
              'executable': lambda p: os.path.isfile(p) and os.access(p, os.X_OK)}
    if kind not in checks:
        return _fail('unknown path kind %r' % kind)
    if checks[kind](path):
        return _ok('%s exists (%s)' % (path, kind))
    if os.path.exists(path):
        return _fail('%s exists but is not a %s' % (path, kind))
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


DIALECTS = ('mt5mesh', 'action')
ACTION_PINGS = ('HEARTBEAT', 'PING')


def ping_action_dialect(zmq, url, timeout=1.0, retries=2, curve=None, action='HEARTBEAT'):
    """A gateway of the action dialect answers HEARTBEAT (SUCCESS) or PING (PONG); a fresh REQ
    socket per attempt, as the Lazy Pirate client does."""
    start, last, resets = time.time(), 'no reply', 0
    for attempt in range(retries):
        sock = sockets.client_socket(zmq, zmq.Context.instance(), zmq.REQ, url, curve)
        sock.setsockopt(zmq.SNDTIMEO, max(1, int(timeout * 1000)))
        sock.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_REQUEST_BYTES)
        try:
            sock.connect(url)
            sock.send(dialect.request(action, 'probe-%d' % attempt))
            if not sock.poll(int(timeout * 1000), zmq.POLLIN):
                last = 'no reply within %.3fs' % timeout
                resets += 1
                continue
            ok, detail = dialect.reply_ok(sock.recv(), action)
        except zmq.ZMQError as e:
            last = 'could not send: %s' % e
            resets += 1
            continue
        finally:
            sock.close(0)
        rtt = round((time.time() - start) * 1000, 3)
        if not ok:
            return _fail('%s refused %s: %s' % (url, action, detail), is_available=False, error=detail, rtt_ms=rtt)
        return _ok('%s answers %s (action dialect): %s (%.1f ms)' % (url, action, detail, rtt), is_available=True,
                   error=None, rtt_ms=rtt, version=None, epoch=None, seq=None, uptime_s=None, socket_resets=resets)
    error = 'gateway %s: %s after %d attempt(s) (action dialect %s)' % (url, last, retries, action)
    return _fail(error, is_available=False, error=error, rtt_ms=None, attempts=retries, socket_resets=resets)


def zmq_ping(zmq, host, port=protocol.DEFAULT_REP_PORT, timeout=1.0, retries=2, curve=None, gateway_dialect='mt5mesh',
             action_ping='HEARTBEAT'):
    """The gateway answers ``ping`` (Lazy Pirate: each timeout resets the socket); with
    ``gateway_dialect='action'``, an existing client's HEARTBEAT or PING."""
    url = sockets.tcp_url(host, port)
    if gateway_dialect == 'action':
        return ping_action_dialect(zmq, url, timeout, retries, curve, action_ping)
    client = LazyPirateClient(zmq, url, timeout=timeout, retries=retries,
                              breaker=CircuitBreaker(failure_threshold=retries + 1), curve=curve)
    start = time.time()
    try:
        reply = client.call('ping')
    except GatewayUnavailable as e:
        return _fail(_err(e), is_available=False, error=_err(e), rtt_ms=None, attempts=retries, socket_resets=client.resets)
    finally:
        client.close()
    rtt = (time.time() - start) * 1000
    if not reply.get('ok'):
        return _fail('%s refused ping: %s' % (url, reply.get('error')), is_available=False,
                     error=reply.get('error'), rtt_ms=round(rtt, 3))
    return _ok('%s answers ping: epoch %s seq %s (%.1f ms)' % (url, reply.get('epoch'), reply.get('seq'), rtt),
               is_available=True, error=None, rtt_ms=round(rtt, 3), version=reply.get('version'),
               epoch=reply.get('epoch'), seq=reply.get('seq'), uptime_s=reply.get('uptime_s'), socket_resets=client.resets)


def action_ticks(zmq, url, min_messages=1, within=3.0, curve=None):
    """An action-dialect gateway's stream: any one-frame JSON object (a tick) on a subscription to
    everything counts; it has no heartbeat of its own."""
    sock = sockets.client_socket(zmq, zmq.Context.instance(), zmq.SUB, url, curve)
    sock.setsockopt(zmq.SUBSCRIBE, b'')
    sock.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_REQUEST_BYTES)
    sock.connect(url)
    count, malformed, deadline = 0, 0, time.time() + within
    try:
        while count < min_messages:
            left = deadline - time.time()
            if left <= 0 or not sock.poll(int(left * 1000) + 1):
                break
            frames = sock.recv_multipart()
            try:
                if len(frames) != 1:
                    raise protocol.ProtocolError('a tick is one frame')
                protocol.decode_reply_object(frames[0])
                count += 1
            except protocol.ProtocolError:
                malformed += 1
    finally:
        sock.close(0)
    result = dict(count=count, seq_first=None, seq_last=None, gaps=0, epoch=None, malformed=malformed,
                  heartbeat_age_s=None, heartbeat_ts=None)
    if count >= min_messages:
        return _ok('%s delivered %d tick frame(s) (action dialect)' % (url, count), **result)
    return _fail('%s delivered %d of %d tick frame(s) within %.1fs (action dialect)%s' % (
        url, count, min_messages, within, ' (%d malformed)' % malformed if malformed else ''), **result)


def zmq_heartbeat(zmq, host, port=protocol.DEFAULT_PUB_PORT, min_messages=1, within=3.0, curve=None,
                  topics=(protocol.TOPIC_HEARTBEAT,), gateway_dialect='mt5mesh'):
    """At least ``min_messages`` protocol events on the gateway PUB within ``within`` seconds
    (with ``gateway_dialect='action'``, tick frames: see action_ticks)."""
    url = sockets.tcp_url(host, port)
    if gateway_dialect == 'action':
        return action_ticks(zmq, url, min_messages, within, curve)
    sock = sockets.client_socket(zmq, zmq.Context.instance(), zmq.SUB, url, curve)
    for topic in topics:
        sock.setsockopt(zmq.SUBSCRIBE, topic)
    sock.connect(url)
    count, seqs, epochs, last_hb_ts, malformed = 0, [], set(), None, 0
    deadline = time.time() + within
    try:
        while count < min_messages:
            left = deadline - time.time()
            if left <= 0 or not sock.poll(int(left * 1000) + 1):
                break
            try:
                kind, event = protocol.decode_event(sock.recv_multipart())
            except protocol.ProtocolError:
                malformed += 1
                continue
            count += 1
            seqs.append(event['seq'])
            epochs.add(event['epoch'])
            if kind == 'hb':
                last_hb_ts = event['ts']
    finally:
        sock.close(0)
    gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if b > a + 1 and len(topics) > 1)
    result = dict(count=count, seq_first=seqs[0] if seqs else None, seq_last=seqs[-1] if seqs else None,
                  gaps=gaps, epoch=sorted(epochs)[-1] if epochs else None, malformed=malformed,
                  heartbeat_age_s=None if last_hb_ts is None else round(time.time() - last_hb_ts, 3),
                  heartbeat_ts=last_hb_ts)
    if count >= min_messages:
        return _ok('%s delivered %d event(s) (seq %s, epoch %s)' % (url, count, result['seq_last'], result['epoch']), **result)
    return _fail('%s delivered %d of %d event(s) within %.1fs%s' % (
        url, count, min_messages, within, ' (%d malformed)' % malformed if malformed else ''), **result)


def nexus_health(url, max_lag=1.0, timeout=2.0):
    try:
        resp = open_url(url, timeout=timeout)
        body = json.loads(resp.read().decode('utf-8'))
    except HTTPError as e:
        try:
            body = json.loads(e.read().decode('utf-8'))
        except ValueError:
            return _fail('%s: HTTP %d' % (url, e.code))
    except (URLError, OSError, ValueError) as e:
        return _fail('%s: %s' % (url, _err(getattr(e, 'reason', e))))
    lag = body.get('lag_s')
    if body.get('state') != 'healthy':
        return _fail('nexus %s: %s' % (body.get('state'), '; '.join(body.get('problems') or [])), health=body)
    if lag is None or lag > max_lag:
        return _fail('nexus lag %s s over %s s' % (lag, max_lag), health=body)
    return _ok('nexus healthy, lag %.3f s, seq %s, gaps filled %s' % (lag, body.get('last_seq'), body.get('gaps_filled')),
               health=body)


def _gateway_status(zmq, url, timeout, curve):
    """(the gateway's ``status`` reply, None) or (None, why not)."""
    client = LazyPirateClient(zmq, url, timeout=timeout, retries=2, breaker=CircuitBreaker(failure_threshold=3),
                              curve=curve)
    try:
        return client.call('status'), None
    except GatewayUnavailable as e:
        return None, _err(e)
    finally:
        client.close()


def gateway_terminal(zmq, host, port=protocol.DEFAULT_REP_PORT, timeout=1.0, curve=None):
    """The MetaTrader 5 terminal behind the gateway answers: connected, account known, symbols
    selected (from the gateway's ``status``). A gateway without a terminal (synthetic, ea) passes
    and says so."""
    url = sockets.tcp_url(host, port)
    status, error = _gateway_status(zmq, url, timeout, curve)
    if error:
        return _fail(error)
    term = status.get('terminal') if isinstance(status.get('terminal'), dict) else {}
    name = term.get('name') or status.get('source')
    if term.get('connected') is None:
        return _ok('%s: no terminal behind the gateway (%s)' % (url, name), terminal=term)
    if not term.get('connected'):
        return _fail('%s: terminal %s is not connected%s' % (url, name, ': %s' % term['error'] if term.get('error') else ''),
                     terminal=term)
    if not term.get('account_known'):
        return _fail('%s: terminal %s knows no account' % (url, name), terminal=term)
    if not term.get('symbols'):
        return _fail('%s: terminal %s has no symbol selected' % (url, name), terminal=term)
    return _ok('terminal %s connected, account %s, symbols %s' % (name, term.get('login'), ', '.join(term['symbols'])),
               terminal=term)


def gateway_trading(zmq, host, port=protocol.DEFAULT_REP_PORT, expect_trading=False, timeout=1.0, curve=None):
    """Trading on the gateway is on or off as the inventory says (``gateway_broker_trading``):
    a gateway that trades when it should not is as wrong as one that cannot."""
    url = sockets.tcp_url(host, port)
    status, error = _gateway_status(zmq, url, timeout, curve)
    if error:
        return _fail(error)
    expect = str(expect_trading).lower() in ('true', '1', 'yes', 'on')
    trading = status.get('trading') if isinstance(status.get('trading'), dict) else None
    enabled = bool(trading and trading.get('enabled') is True)
    words = {True: 'on', False: 'off'}
    if enabled != expect:
        return _fail('%s: trading is %s, the inventory says %s (gateway_broker_trading)' % (url, words[enabled], words[expect]),
                     trading=trading)
    if trading is None:
        return _ok('%s: no terminal, so no trading (as configured)' % url, trading=None)
    return _ok('trading %s as configured; limits %s' % (words[enabled], trading.get('limits')), trading=trading)


def ticks_fresh(zmq, gateway_host, gateway_port, pg, budget=3.0, curve=None):
    """End to end: the seq the gateway reports now is in INF ``ticks`` within ``budget`` seconds."""
    ping = zmq_ping(zmq, gateway_host, gateway_port, timeout=1.0, retries=1, curve=curve)
    if not ping['ok']:
        return _fail('gateway: %s' % ping['detail'])
    target, epoch = ping['seq'], ping['epoch']
    query = 'SELECT coalesce(max(seq), 0) FROM ticks WHERE epoch = %d' % int(epoch)
    deadline = time.time() + budget
    while True:
        res = _postgres(query=query, **pg)
        if not res['ok']:
            return res
        if res['value'] is not None and res['value'] >= target:
            return _ok('gateway seq %d of epoch %d is in INF ticks (%.2f s after the ping)'
                       % (target, epoch, budget - (deadline - time.time())), seq=target)
        if time.time() >= deadline:
            return _fail('INF ticks reached seq %s of epoch %d, gateway was at %d %.1f s ago'
                         % (res['value'], epoch, target, budget), seq=target, committed=res['value'])
        time.sleep(0.1)


def hub_bar_fresh(pg, max_age=3.0):
    """The current 1-second bar is in the HUB feature store."""
    res = _postgres(query='SELECT extract(epoch from now()) - coalesce(max(bucket), 0) FROM bars_1s', **pg)
    if not res['ok']:
        return res
    age = float(res['value'])
    if age <= max_age:
        return _ok('newest HUB bar is %.1f s old' % age, age_s=round(age, 3))
    return _fail('newest HUB bar is %.1f s old (max %.1f s)' % (age, max_age), age_s=round(age, 3))


def clock_skew(zmq, gateway_host, gateway_pub_port, pg, max_skew=0.5, curve=None):
    """GTW's clock from its heartbeat timestamps, HUB's from PostgreSQL now(), against ours."""
    offsets = {}
    hb = zmq_heartbeat(zmq, gateway_host, gateway_pub_port, min_messages=1, within=3.0, curve=curve)
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
