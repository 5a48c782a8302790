# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway REQ client, zguide "Lazy Pirate": on a timeout the REQ socket is stuck in its
send/recv state machine, so it is closed and replaced before retrying; retries are bounded.

Shared by the nexus daemon and by the probe modules (mesh_gateway_ping, mesh_wait_for_gateway).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import time
import uuid

from .breaker import CircuitBreaker, CircuitOpen
from . import protocol, sockets


class GatewayUnavailable(Exception):
    """No valid reply after every retry."""


class LazyPirateClient:
    def __init__(self, zmq, url, timeout=1.0, retries=3, breaker=None, curve=None, context=None):
        """``zmq`` is the pyzmq module (passed in so module_utils imports stay optional);
        ``curve`` is (client_public, client_secret, server_public) or None."""
        if timeout <= 0 or retries < 1:
            raise ValueError("timeout must be > 0 and retries >= 1")
        self.zmq = zmq
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.breaker = breaker or CircuitBreaker()
        self.curve = curve
        self.ctx = context or zmq.Context.instance()
        self.sock = None
        self.resets = 0
        # Ids unique across clients and restarts: the gateway answers a repeated trading id
        # with the first reply (exactly-once orders), so a counter from 1 per client would make
        # a new client's first order look like an old client's retry.
        self._prefix = uuid.uuid4().hex[:16]
        self._ids = itertools.count(1)

    def _connect(self):
        zmq = self.zmq
        sock = sockets.client_socket(zmq, self.ctx, zmq.REQ, self.url, self.curve)
        sock.setsockopt(zmq.MAXMSGSIZE, protocol.SOCKET_MAX_BYTES * 4)
        sock.connect(self.url)
        self.sock = sock
        return sock

    def reset(self):
        if self.sock is not None:
            self.sock.close(0)
            self.resets += 1
        self.sock = None

    def close(self):
        """Done with the client: not a reset (``resets`` counts only sockets a timeout or a bad
        reply threw away, so a healthy gateway's ping says 0)."""
        if self.sock is not None:
            self.sock.close(0)
        self.sock = None

    def call(self, cmd, timeout=None, retries=None, req_id=None, **fields):
        """Send one command; returns the decoded reply dict (ok may be false). Every retry
        carries the same id (``req_id``, or a new unique one), so a gateway can tell a retry.

        Raises CircuitOpen while the breaker is open, GatewayUnavailable after the retries.
        """
        if not self.breaker.allow():
            raise CircuitOpen("gateway %s: circuit open after %d failures" % (self.url, self.breaker.failures))
        timeout = self.timeout if timeout is None else timeout
        retries = self.retries if retries is None else retries
        req_id = req_id if req_id is not None else "%s-%d" % (self._prefix, next(self._ids))
        payload = protocol.request(cmd, req_id, **fields)
        last_error = "no reply"
        for _attempt in range(retries):
            sock = self.sock if self.sock is not None else self._connect()
            deadline = time.monotonic() + timeout
            # A REQ send blocks while no peer has completed the connection, for ever without a
            # send timeout: a CURVE client meeting a server that does not speak CURVE (or the
            # other way round) never completes one, and hung a whole verify run.
            sock.setsockopt(self.zmq.SNDTIMEO, max(1, int(timeout * 1000)))
            try:
                sock.send(payload)
            except self.zmq.Again:
                last_error = "could not send within %.3fs: no connection completed (a CURVE mismatch looks like this)" % timeout
                self.reset()
                continue
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sock.poll(int(left * 1000) + 1, self.zmq.POLLIN):
                    last_error = "no reply within %.3fs" % timeout
                    self.reset()
                    break
                try:
                    reply = protocol.decode_reply(sock.recv())
                except protocol.ProtocolError as e:
                    last_error = str(e)
                    self.reset()
                    break
                if reply.get("id") != req_id:
                    # Cannot happen on a fresh socket per retry; refuse rather than mis-pair.
                    last_error = "reply id %r does not match request id %r" % (reply.get("id"), req_id)
                    self.reset()
                    break
                self.breaker.success()
                return reply
        self.breaker.failure()
        raise GatewayUnavailable("gateway %s: %s after %d attempt(s)" % (self.url, last_error, retries))
