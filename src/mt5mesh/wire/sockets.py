# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where client sockets are addressed and keyed: the one place that builds a gateway URL (an
IPv6 host gets brackets, and its socket ZMQ_IPV6) and sets up a CURVE client. Used by the
probes, the Lazy Pirate client and nexus alike."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def is_ipv6(host):
    return ':' in host.strip('[]')


def tcp_url(host, port):
    """tcp://host:port, with [brackets] around an IPv6 address."""
    if is_ipv6(host) and not host.startswith('['):
        host = '[%s]' % host
    return 'tcp://%s:%d' % (host, int(port))


def client_socket(zmq, ctx, socket_type, url, curve=None):
    """A client socket for ``url``, not yet connected: no linger, IPv6 on for an IPv6 URL, and
    with ``curve`` = (public, secret, server public) a CURVE client."""
    sock = ctx.socket(socket_type)
    sock.setsockopt(zmq.LINGER, 0)
    if is_ipv6(url.split('://', 1)[-1].rsplit(':', 1)[0]):
        sock.setsockopt(zmq.IPV6, 1)
    if curve:
        sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = curve
    return sock


# A refusal comes back in one round trip; on a host that drops the connect instead, the probe
# gives up after this long and leaves the verdict to the ZeroMQ request.
REFUSAL_BUDGET_S = 0.25


def tcp_refused(host, port, timeout):
    """True when a TCP connect to host:port is refused (nothing listens there, or a firewall
    rejects it). A ZeroMQ client learns nothing from a refusal: it reconnects quietly and waits
    out its whole timeout. Accepted, dropped, unresolved, anything else: False (no verdict)."""
    import socket
    if not 0 < int(port) < 65536:  # the socket module would quietly wrap 70000 to 4464
        return False
    try:
        sock = socket.create_connection((host.strip('[]'), int(port)), max(0.001, min(timeout, REFUSAL_BUDGET_S)))
    except ConnectionRefusedError:
        return True
    except (OSError, ValueError, OverflowError):
        return False
    sock.close()
    return False
