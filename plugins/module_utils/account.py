# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway's account through its REQ/REP commands (docs/trading.md), for the modules
mt5_positions_info and mt5_close_all. One class does the talking; the modules only wire it up."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import uuid

from ansible_collections.mt5crs.mesh.plugins.module_utils._wire import sockets
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.breaker import CircuitBreaker
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire.lazy_pirate import GatewayUnavailable, LazyPirateClient


def open_account(module, mesh_common):
    """The modules' shared start: validate the gateway options and filters (failing the module
    with a message naming the option), then a GatewayAccount for the gateway."""
    mesh_common.ensure_zmq(module)
    mesh_common.validate_gateway(module)
    p = module.params
    error = mesh_common.bad_trade_filter(p)
    if error:
        module.fail_json(msg=error)
    return GatewayAccount(mesh_common.zmq, p['host'], p['port'], p['timeout'], curve=mesh_common.curve_keys(module))


class AccountError(Exception):
    """The gateway did not answer, or refused; the message names the URL and the cause."""


class GatewayAccount:
    def __init__(self, zmq, host, port, timeout=1.0, retries=3, curve=None):
        self.url = sockets.tcp_url(host, port)
        self.host, self.port, self.timeout, self.probed = host, port, timeout, False
        self.client = LazyPirateClient(zmq, self.url, timeout=timeout, retries=retries,
                                       breaker=CircuitBreaker(failure_threshold=retries + 1), curve=curve)
        self.started = time.time()

    def elapsed(self):
        return round(time.time() - self.started, 3)

    def close(self):
        self.client.close()

    def _call(self, cmd, req_id=None, **fields):
        fields = dict((k, v) for k, v in fields.items() if v is not None)
        if not self.probed:
            # A stopped gateway answers at once (ZeroMQ would wait out every retry's timeout; the
            # kill switch took 31.9 s against a dead gateway).
            self.probed = True
            if sockets.tcp_refused(self.host, self.port, self.timeout):
                raise AccountError('gateway %s: connection refused (nothing listens there, or a firewall rejects it)'
                                   % self.url)
        try:
            reply = self.client.call(cmd, req_id=req_id, **fields)
        except GatewayUnavailable as e:
            raise AccountError(str(e))
        return reply

    def positions(self, symbol=None, magic=None):
        reply = self._call('positions', symbol=symbol, magic=magic)
        if not reply.get('ok'):
            raise AccountError('gateway %s refused positions: %s' % (self.url, reply.get('error')))
        return reply.get('positions') or []

    def close_all(self, symbol=None, magic=None, client_id=None):
        """close_all with one id for every retry (the gateway answers a retry with the first
        reply, so a lost answer cannot close twice). Returns the reply dict."""
        return self._call('close_all', req_id=client_id or 'ansible-close-all-%s' % uuid.uuid4().hex,
                          symbol=symbol, magic=magic)
