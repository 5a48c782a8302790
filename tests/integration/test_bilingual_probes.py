"""The probes speak the action dialect to a gateway we did not deploy (the stand-in EA gateway,
a real REP+PUB process on loopback), and still tell a dead one from a live one."""
import os
import subprocess
import sys

import pytest
import zmq

from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes
from support.servers import free_port, wait_until

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def standin():
    rep, pub = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "support", "ea_standin.py"), "tcp://127.0.0.1:%d" % rep,
                             "tcp://127.0.0.1:%d" % pub, "60"])
    wait_until(lambda: gateway_probes.zmq_ping(zmq, "127.0.0.1", rep, 0.5, 1, gateway_dialect="action")["ok"], 10, "stand-in")
    yield rep, pub
    proc.terminate()
    proc.wait(10)


def test_action_ping_heartbeat_and_ping_pong_pass_against_an_ea_gateway(standin):
    rep, pub = standin
    hb = gateway_probes.zmq_ping(zmq, "127.0.0.1", rep, 1.0, 2, gateway_dialect="action")
    assert hb["ok"] and "answers HEARTBEAT (action dialect): status SUCCESS" in hb["detail"]
    pong = gateway_probes.zmq_ping(zmq, "127.0.0.1", rep, 1.0, 2, gateway_dialect="action", action_ping="PING")
    assert pong["ok"] and "status 'PONG'" in pong["detail"]
    ticks = gateway_probes.zmq_heartbeat(zmq, "127.0.0.1", pub, 3, 3.0, gateway_dialect="action")
    assert ticks["ok"] and ticks["count"] == 3


def test_the_mesh_dialect_calls_an_ea_gateway_broken_so_the_dialect_matters(standin):
    rep, pub = standin
    mesh = gateway_probes.zmq_ping(zmq, "127.0.0.1", rep, 1.0, 1)
    assert not mesh["ok"]
    assert not gateway_probes.zmq_heartbeat(zmq, "127.0.0.1", pub, 1, 1.0)["ok"]


def test_a_dead_ea_gateway_fails_the_action_probes_naming_the_url():
    rep, pub = free_port(), free_port()
    got = gateway_probes.zmq_ping(zmq, "127.0.0.1", rep, 0.3, 2, gateway_dialect="action")
    assert not got["ok"] and got["error"] == (
        "gateway tcp://127.0.0.1:%d: connection refused (nothing listens there, or a firewall rejects it) "
        "(action dialect HEARTBEAT)" % rep)
    ticks = gateway_probes.zmq_heartbeat(zmq, "127.0.0.1", pub, 1, 0.5, gateway_dialect="action")
    assert not ticks["ok"] and ticks["detail"] == ("gateway tcp://127.0.0.1:%d: connection refused (nothing listens "
                                                   "there, or a firewall rejects it) (action dialect)" % pub)


def test_our_gateway_answers_the_action_probes_too(tmp_path):
    from support.servers import Service
    rep, pub, legacy = free_port(), free_port(), free_port()
    gw = Service("mt5mesh-gateway", ["--terminal", "paper", "--symbols", "EURUSD", "--rep", "tcp://127.0.0.1:%d" % rep,
                                     "--pub", "tcp://127.0.0.1:%d" % pub, "--legacy-pub", "tcp://127.0.0.1:%d" % legacy,
                                     "--journal", tmp_path / "j"], str(tmp_path))
    try:
        wait_until(lambda: gateway_probes.zmq_ping(zmq, "127.0.0.1", rep, 0.5, 1, gateway_dialect="action")["ok"], 15, "gateway")
        assert gateway_probes.zmq_ping(zmq, "127.0.0.1", rep, 1.0, 1, gateway_dialect="action", action_ping="PING")["ok"]
        assert gateway_probes.zmq_heartbeat(zmq, "127.0.0.1", legacy, 2, 3.0, gateway_dialect="action")["ok"]
    finally:
        gw.stop()
