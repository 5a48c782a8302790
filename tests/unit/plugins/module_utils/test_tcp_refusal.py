"""The TCP refusal probe before a gateway ping: a stopped broker answers at once, not after the
ping's whole timeout. Loopback only (the network rule)."""
import socket

import pytest
import zmq

from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes
from ansible_collections.mt5crs.mesh.plugins.module_utils._wire import sockets

pytestmark = pytest.mark.real_tcp_probe


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_port_nobody_listens_on_is_refused():
    assert sockets.tcp_refused("127.0.0.1", closed_port(), 1.0) is True


def test_a_listening_port_is_not_refused():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert sockets.tcp_refused("127.0.0.1", server.getsockname()[1], 1.0) is False


def test_a_bad_port_gives_no_verdict_instead_of_raising():
    assert sockets.tcp_refused("127.0.0.1", 70000, 1.0) is False


def test_a_refused_ping_fails_without_a_single_zeromq_attempt_naming_the_url():
    port = closed_port()
    got = gateway_probes.zmq_ping(zmq, "127.0.0.1", port, timeout=30.0, retries=5)
    error = "gateway tcp://127.0.0.1:%d: connection refused (nothing listens there, or a firewall rejects it)" % port
    assert (got["ok"], got["is_available"], got["error"], got["detail"]) == (False, False, error, error)
    assert (got["attempts"], got["socket_resets"]) == (0, 0)


def test_a_refused_action_dialect_ping_names_its_dialect():
    port = closed_port()
    got = gateway_probes.zmq_ping(zmq, "127.0.0.1", port, timeout=30.0, retries=5, gateway_dialect="action", action_ping="PING")
    assert got["error"] == ("gateway tcp://127.0.0.1:%d: connection refused (nothing listens there, or a firewall "
                            "rejects it) (action dialect PING)" % port)
    assert got["attempts"] == 0


def test_a_listening_broker_is_still_asked_over_zeromq():
    # A REP socket that answers nothing: the verdict is the ZeroMQ timeout, not a refusal.
    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    try:
        got = gateway_probes.zmq_ping(zmq, "127.0.0.1", port, timeout=0.2, retries=1)
    finally:
        rep.close(0)
    assert got["error"] == "gateway tcp://127.0.0.1:%d: no reply within 0.200s after 1 attempt(s)" % port


@pytest.mark.parametrize("dialect,suffix", [("mt5mesh", ""), ("action", " (action dialect)")])
def test_a_refused_heartbeat_probe_fails_at_once_with_no_event_naming_the_url(dialect, suffix):
    port = closed_port()
    got = gateway_probes.zmq_heartbeat(zmq, "127.0.0.1", port, 1, 30.0, gateway_dialect=dialect)
    assert got["ok"] is False and got["count"] == 0 and got["heartbeat_age_s"] is None
    assert got["detail"] == ("gateway tcp://127.0.0.1:%d: connection refused (nothing listens there, or a firewall "
                             "rejects it)%s" % (port, suffix))


def test_the_kill_switch_account_client_fails_at_once_on_a_stopped_gateway():
    import time  # pylint: disable=import-outside-toplevel
    from ansible_collections.mt5crs.mesh.plugins.module_utils.account import AccountError, GatewayAccount
    port = closed_port()
    account = GatewayAccount(zmq, "127.0.0.1", port, timeout=2.0, retries=3)
    start = time.monotonic()
    with pytest.raises(AccountError, match=r"gateway tcp://127.0.0.1:%d: connection refused \(nothing listens there" % port):
        account.close_all()
    assert time.monotonic() - start < 0.5  # not 3 retries x 2 s
    account.close()


def test_a_redis_probe_on_a_refused_port_answers_within_its_timeout():
    import time  # pylint: disable=import-outside-toplevel
    from ansible_collections.mt5crs.mesh.plugins.module_utils import probes
    port = closed_port()
    start = time.monotonic()
    got = probes.redis_ping("127.0.0.1", port, timeout=0.5)
    assert time.monotonic() - start < 0.75 and not got["ok"] and ("redis 127.0.0.1:%d/0" % port) in got["detail"]
