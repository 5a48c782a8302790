# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway's probes: ZeroMQ REQ/REP and PUB, in either dialect, and its ``status``.

Same contract as probes.py: plain functions returning {'ok': bool, 'detail': str, ...}, never
raising. Split from probes.py so that each file holds one kind of target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.mt5crs.mesh.plugins.module_utils._wire import dialect, protocol, sockets
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.lazy_pirate import GatewayUnavailable, LazyPirateClient
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.breaker import CircuitBreaker
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.errors import first_line as _err
from ansible_collections.mt5crs.mesh.plugins.module_utils.probe_result import fail as _fail, ok as _ok


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


def _refused(url, host, port, timeout, suffix=''):
    """The error for a refused TCP connect, or None. A stopped broker then answers at once instead
    of after the whole timeout (remediation, mesh_wait_for_gateway and a verify during an incident ask
    exactly when it is down)."""
    if sockets.tcp_refused(host, port, timeout):
        return 'gateway %s: connection refused (nothing listens there, or a firewall rejects it)%s' % (url, suffix)
    return None


def zmq_ping(zmq, host, port=protocol.DEFAULT_REP_PORT, timeout=1.0, retries=2, curve=None, gateway_dialect='mt5mesh',
             action_ping='HEARTBEAT'):
    """The gateway answers ``ping`` (Lazy Pirate: each timeout resets the socket); with
    ``gateway_dialect='action'``, an existing client's HEARTBEAT or PING."""
    url = sockets.tcp_url(host, port)
    refused = _refused(url, host, port, timeout, ' (action dialect %s)' % action_ping if gateway_dialect == 'action' else '')
    if refused:
        return _fail(refused, is_available=False, error=refused, rtt_ms=None, attempts=0, socket_resets=0)
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
    refused = _refused(url, host, port, within, ' (action dialect)' if gateway_dialect == 'action' else '')
    if refused:
        return _fail(refused, count=0, seq_first=None, seq_last=None, gaps=0, epoch=None, malformed=0,
                     heartbeat_age_s=None, heartbeat_ts=None)
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
                event_type, event = protocol.decode_event(sock.recv_multipart())
            except protocol.ProtocolError:
                malformed += 1
                continue
            count += 1
            seqs.append(event['seq'])
            epochs.add(event['epoch'])
            if event_type == 'hb':
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
    detail = 'terminal %s connected, account %s, symbols %s' % (name, term.get('login'), ', '.join(term['symbols']))
    return _ok(detail + _terminal_details(term), terminal=term)


def _terminal_details(term):
    """The terminal's clock against UTC and its AutoTrading button, when the gateway reports them."""
    out = ''
    if isinstance(term.get('utc_offset_s'), int):
        out += '; clock UTC%+.2f h (%s)' % (term['utc_offset_s'] / 3600.0, term.get('utc_offset_source'))
    if term.get('autotrading') is not None:
        out += '; AutoTrading %s' % ('on' if term['autotrading'] else 'OFF')
    return out


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
    term = status.get('terminal') if isinstance(status.get('terminal'), dict) else {}
    if enabled and term.get('autotrading') is False:
        return _fail('%s: trading is on but the terminal\'s AutoTrading is off: every order gets 10027 '
                     '(TRADE_RETCODE_CLIENT_DISABLES_AT); turn it on in the terminal' % url, trading=trading)
    return _ok('trading %s as configured; limits %s' % (words[enabled], trading.get('limits')), trading=trading)
