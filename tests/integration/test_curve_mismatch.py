"""A CURVE client meeting a gateway that does not speak CURVE (the state a lab is in right after
CURVE was turned off, with the client keys still installed) must fail within its timeout: a
blocking REQ send once hung a whole mesh_verify run. Real ZeroMQ on loopback."""
import time

import zmq

from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes


def test_curve_client_against_plain_server_fails_within_the_timeout():
    ctx = zmq.Context.instance()
    server = ctx.socket(zmq.REP)
    server.setsockopt(zmq.LINGER, 0)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    try:
        server_public, dummy = zmq.curve_keypair()
        client_public, client_secret = zmq.curve_keypair()
        for dummy_round in range(5):  # the blocking case depends on handshake timing; try it a few times
            start = time.monotonic()
            result = gateway_probes.zmq_ping(zmq, "127.0.0.1", port, timeout=0.3, retries=2,
                                             curve=(client_public, client_secret, server_public))
            elapsed = time.monotonic() - start
            assert not result["ok"] and not result["is_available"]
            assert elapsed < 2.0, "took %.1f s" % elapsed
            assert result["socket_resets"] == 2
    finally:
        server.close(0)
