"""Clients of the existing MT5 ZeroMQ "action" dialect, written the way those clients are
(send_json / recv_json on REQ, a SUB reading recv_json), against the real gateway on the paper
terminal, on loopback. Both variants: enveloped (req_id/status/data) and flat (PING/PONG,
ORDER_SEND with a top-level retcode)."""
import time

import pytest
import zmq

from support.servers import Service, free_port, wait_until


class ActionClient:
    def __init__(self, port):
        self.sock = zmq.Context.instance().socket(zmq.REQ)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, 5000)
        self.sock.connect("tcp://127.0.0.1:%d" % port)
        self.n = 0

    def send(self, name, payload=None):
        self.n += 1
        payload = payload or {}
        self.sock.send_json({"action": name, "req_id": "r%d" % self.n, "timestamp": time.time(), "payload": payload})
        reply = self.sock.recv_json()
        # The clients reject a reply that lacks any of these.
        assert {"req_id", "status", "timestamp"} <= set(reply), reply
        return reply

    def flat(self, msg):
        self.sock.send_json(msg)
        return self.sock.recv_json()

    def close(self):
        self.sock.close(0)


@pytest.fixture
def gateway(tmp_path, request):
    rep, pub, legacy = free_port(), free_port(), free_port()
    trading = ["--trading", "--allow-insecure-trading"] if getattr(request, "param", True) else []
    gw = Service("mt5mesh-gateway", ["--terminal", "paper", "--symbols", "EURUSD,EURUSD.s", "--rate", 500,
                                     "--rep", "tcp://127.0.0.1:%d" % rep, "--pub", "tcp://127.0.0.1:%d" % pub,
                                     "--legacy-pub", "tcp://127.0.0.1:%d" % legacy, "--journal", tmp_path / "j"] + trading,
                 str(tmp_path))
    client = ActionClient(rep)
    wait_until(lambda: client.send("HEARTBEAT")["status"] == "SUCCESS", 15, "gateway answers HEARTBEAT")
    yield client, rep, legacy
    client.close()
    gw.stop()


def test_the_enveloped_dialect_heartbeat_account_order_and_kill_switch(gateway):
    client = gateway[0]
    hb = client.send("HEARTBEAT")
    assert hb["status"] == "SUCCESS" and hb["req_id"] == "r%d" % client.n and hb["error"] is None
    account = client.send("GET_ACCOUNT_INFO")
    assert account["status"] == "SUCCESS" and account["data"]["balance"] == 10000.0 and "equity" in account["data"]
    order = client.send("OPEN_ORDER", dict(symbol="EURUSD.s", action="BUY", volume=0.01, price=None, sl=None, tp=None))
    assert order["status"] == "SUCCESS" and order["data"]["retcode"] == 10009 and order["data"]["deal"]
    assert order["data"]["ticket"] and order["data"]["price"] > 0
    positions = client.send("GET_POSITIONS")
    assert positions["status"] == "SUCCESS" and [p["symbol"] for p in positions["data"]] == ["EURUSD.s"]
    info = client.send("GET_SYMBOL_INFO", {"symbol": "EURUSD"})
    assert info["status"] == "SUCCESS" and info["data"]["volume_step"] == 0.01
    closed = client.send("CLOSE_POSITION", {"ticket": positions["data"][0]["ticket"]})
    assert closed["status"] == "SUCCESS", closed
    client.send("OPEN_ORDER", dict(symbol="EURUSD", action="SELL", volume=0.02, price=1.0, sl=None, tp=None))
    kill = client.send("KILL_SWITCH")
    assert kill["status"] == "SUCCESS" and len(kill["data"]["closed"]) == 1
    assert client.send("GET_POSITIONS")["data"] == []


def test_the_flat_variant_ping_pong_and_order_send_with_a_top_level_retcode(gateway):
    client = gateway[0]
    assert client.flat({"action": "PING"})["status"] == "PONG"
    sent = client.flat({"action": "ORDER_SEND", "request_id": "flat-1", "symbol": "EURUSD", "volume": 0.01, "type": 1,
                        "comment": "bot", "magic": 7})
    assert sent["retcode"] == 10009 and sent["deal"] and sent["order"]
    again = client.flat({"action": "ORDER_SEND", "request_id": "flat-1", "symbol": "EURUSD", "volume": 0.01, "type": 1,
                         "comment": "bot", "magic": 7})
    assert again["deal"] == sent["deal"]  # exactly once by request_id
    assert len(client.send("GET_POSITIONS")["data"]) == 1


def test_a_malformed_action_request_gets_an_action_error_never_a_mesh_reply(gateway):
    client = gateway[0]
    for raw in (b'{"action":"OPEN_ORDER","req_id":"bad","timestamp":1,"payload":{"symbol":"EURUSD","action":"HOLD","volume":0.01}}',
                b'{"action":"OPEN_ORDER","req_id":"bad","timestamp":1,"payload":{"symbol":"EURUSD","action":"BUY","volume":NaN}}',
                b'{"action":"OPEN_ORDER","req_id":"bad","timestamp":1,"payload":' + b"[" * 5000):
        client.sock.send(raw)
        reply = client.sock.recv_json()
        assert reply["status"] == "ERROR" and reply["req_id"] == "bad" and "ok" not in reply and reply["error"], reply
    unknown = client.send("FLY_TO_MOON")
    assert unknown["status"] == "ERROR" and "unknown action 'FLY_TO_MOON'" in unknown["error"]
    no_id = client.flat({"action": "ORDER_SEND", "symbol": "EURUSD", "volume": 0.01, "type": 0})
    assert no_id["status"] == "ERROR" and "'req_id'" in no_id["comment"] and no_id["retcode"] is None


@pytest.mark.parametrize("gateway", [False], indirect=True)
def test_without_trading_open_order_is_an_error_with_the_disabled_message(gateway):
    reply = gateway[0].send("OPEN_ORDER", dict(symbol="EURUSD", action="BUY", volume=0.01, price=None, sl=None, tp=None))
    assert reply["status"] == "ERROR" and reply["error"] == "trading is disabled on this gateway"
    kill = gateway[0].send("KILL_SWITCH")
    assert kill["status"] == "ERROR" and "needs an authenticated CURVE client" in kill["error"]


def test_a_recv_json_subscriber_on_the_legacy_port_gets_tick_dicts(gateway):
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.RCVTIMEO, 5000)
    sub.connect("tcp://127.0.0.1:%d" % gateway[2])
    ticks = [sub.recv_json() for _i in range(20)]
    sub.close(0)
    assert all(t["type"] == "TICK" and t["symbol"] in ("EURUSD", "EURUSD.s") and t["ask"] >= t["bid"] > 0
               and t["time"] > 1e9 for t in ticks)
