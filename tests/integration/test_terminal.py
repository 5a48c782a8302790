"""Terminal backends for real: the paper terminal in the gateway, and the mt5linux backend against
rpyc's own classic server on loopback (as `python -m mt5linux` runs it under Wine) whose
`MetaTrader5` is the paper terminal. Bounded in time; loopback only."""
import json
import os
import subprocess
import time

import pytest
import zmq

from support.servers import Service, free_port, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, ".venv", "bin")


def call(rep, cmd, timeout=2.0):
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect("tcp://127.0.0.1:%d" % rep)
    sock.send(json.dumps({"cmd": cmd}).encode())
    try:
        return json.loads(sock.recv()) if sock.poll(int(timeout * 1000)) else None
    finally:
        sock.close(0)


def ticks(pub, seconds):
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect("tcp://127.0.0.1:%d" % pub)
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        if sub.poll(100):
            out.append(json.loads(sub.recv_multipart()[1]))
    sub.close(0)
    return out


@pytest.fixture
def rpyc_server(tmp_path):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests", "support", "paper_mt5"), PAPER_RATE="2000")
    proc = subprocess.Popen([os.path.join(BIN, "rpyc_classic"), "--host", "127.0.0.1", "--port", str(port), "-q"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import rpyc
    wait_until(lambda: rpyc.classic.connect("127.0.0.1", port).close() is None, 10, "rpyc classic server")
    yield port
    proc.terminate()
    proc.wait(10)


def gateway(tmp_path, *extra):
    rep, pub = free_port(), free_port()
    gw = Service("mt5mesh-gateway", ["--rep", "tcp://127.0.0.1:%d" % rep, "--pub", "tcp://127.0.0.1:%d" % pub,
                                     "--heartbeat", 0.2, "--journal", tmp_path / "journal"] + list(extra), str(tmp_path))
    wait_until(lambda: call(rep, "ping", 0.5) is not None, 15, "gateway answers ping")
    return gw, rep, pub


def test_paper_terminal_ticks_carry_the_terminal_fields(tmp_path):
    gw, rep, pub = gateway(tmp_path, "--terminal", "paper", "--symbols", "EURUSD,GBPUSD", "--rate", 2000)
    try:
        got = ticks(pub, 1.5)
        assert len(got) > 500
        for key in ("time_msc", "bid", "ask", "last", "volume", "flags"):
            assert key in got[-1], got[-1]
        seqs = [t["seq"] for t in got]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        status = call(rep, "status")
        assert status["source"] == "paper" and status["terminal"]["connected"] and status["terminal"]["account_known"]
    finally:
        gw.stop()


def test_mt5linux_backend_reads_ticks_through_a_real_rpyc_classic_server(tmp_path, rpyc_server):
    gw, rep, pub = gateway(tmp_path, "--terminal", "mt5linux", "--terminal-port", rpyc_server,
                           "--symbols", "EURUSD,GBPUSD")
    try:
        got = ticks(pub, 1.5)
        assert len(got) > 200 and "time_msc" in got[-1]
        status = call(rep, "status")
        assert status["terminal"] == {"name": "mt5linux", "connected": True, "account_known": True, "login": 5000001,
                                      "symbols": ["EURUSD", "GBPUSD"], "errors": 0, "autotrading": True,
                                      "utc_offset_s": 0, "utc_offset_source": "learned"}
    finally:
        gw.stop()


def test_mt5linux_backend_refuses_a_non_loopback_rpyc_server_naming_why(tmp_path):
    rep, pub = free_port(), free_port()
    gw = Service("mt5mesh-gateway", ["--rep", "tcp://127.0.0.1:%d" % rep, "--pub", "tcp://127.0.0.1:%d" % pub,
                                     "--terminal", "mt5linux", "--terminal-host", "10.255.255.1"], str(tmp_path))
    assert gw.proc.wait(20) == 2
    assert "is not loopback: an rpyc classic server runs any code it is sent" in gw.output()


def test_unreachable_terminal_is_a_clear_startup_error(tmp_path):
    rep, pub = free_port(), free_port()
    gw = Service("mt5mesh-gateway", ["--rep", "tcp://127.0.0.1:%d" % rep, "--pub", "tcp://127.0.0.1:%d" % pub,
                                     "--terminal", "mt5linux", "--terminal-port", free_port()], str(tmp_path))
    assert gw.proc.wait(20) == 2
    assert "terminal mt5linux at 127.0.0.1:" in gw.output()
