"""The action dialect mapped onto mesh commands and back (module_utils/_wire/dialect.py), on
plain data."""
import json

import pytest

from mt5mesh.wire import dialect as d
from mt5mesh.wire import protocol


def env(action, payload=None, req_id="r1"):
    return {"action": action, "req_id": req_id, "timestamp": 1.0, "payload": payload or {}}


@pytest.mark.parametrize("obj,command", [
    (env("HEARTBEAT"), {"cmd": "ping", "id": "r1"}),
    ({"action": "PING"}, {"cmd": "ping"}),
    (env("GET_ACCOUNT_INFO"), {"cmd": "account", "id": "r1"}),
    (env("GET_POSITIONS"), {"cmd": "positions", "id": "r1"}),
    (env("GET_SYMBOL_INFO", {"symbol": "EURUSD"}), {"cmd": "symbol_info", "id": "r1", "symbol": "EURUSD"}),
    (env("OPEN_ORDER", {"symbol": "EURUSD", "action": "BUY", "volume": 0.01, "price": 1.1, "sl": None, "tp": 1.2}),
     {"cmd": "order_send", "id": "r1", "symbol": "EURUSD", "side": "buy", "volume": 0.01, "tp": 1.2}),
    (env("OPEN_ORDER", {"symbol": "EURUSD", "action": "SELL", "volume": 0.01, "sl": 0, "tp": 0}),
     {"cmd": "order_send", "id": "r1", "symbol": "EURUSD", "side": "sell", "volume": 0.01}),
    (env("OPEN_ORDER", {"symbol": "EURUSD.s", "volume": 0.01, "side": "BUY"}),
     {"cmd": "order_send", "id": "r1", "symbol": "EURUSD.s", "side": "buy", "volume": 0.01}),
    (env("OPEN_ORDER", {"symbol": "EURUSD", "volume": 0.01, "side": "sell", "type": "MARKET"}),
     {"cmd": "order_send", "id": "r1", "symbol": "EURUSD", "side": "sell", "volume": 0.01}),
    (env("OPEN_ORDER", {"symbol": "EURUSD", "volume": 0.01, "type": "SELL"}),
     {"cmd": "order_send", "id": "r1", "symbol": "EURUSD", "side": "sell", "volume": 0.01}),
    ({"action": "ORDER_SEND", "request_id": "q", "symbol": "EURUSD", "volume": 0.02, "type": 1, "comment": "c", "magic": 3},
     {"cmd": "order_send", "id": "q", "symbol": "EURUSD", "side": "sell", "volume": 0.02, "comment": "c", "magic": 3}),
    (env("CLOSE_POSITION", {"ticket": 42}), {"cmd": "order_close", "id": "r1", "position": 42}),
    (env("KILL_SWITCH"), {"cmd": "close_all", "id": "r1"}),
])
def test_each_action_maps_to_its_mesh_command(obj, command):
    assert d.is_action(obj)
    assert d.to_command(obj) == command


@pytest.mark.parametrize("obj,message", [
    (env("FLY"), "unknown action 'FLY'; known: "),
    ({"action": 5}, "unknown action '5'"),
    (env("OPEN_ORDER", {"symbol": "EURUSD", "action": "HOLD", "volume": 1}), "OPEN_ORDER: 'action' must be BUY or SELL"),
    (env("OPEN_ORDER", {"symbol": "EURUSD", "side": "BUY", "type": "LIMIT", "price": 0.5, "volume": 0.01}),
     "OPEN_ORDER: 'type' LIMIT is a pending order; this gateway sends market orders only"),
    ({"action": "ORDER_SEND", "request_id": "q", "symbol": "EURUSD", "volume": 1, "type": True},
     "ORDER_SEND: 'type' must be 0 (buy) or 1 (sell)"),
    ({"action": "ORDER_SEND", "symbol": "EURUSD", "volume": 1, "type": 0}, "ORDER_SEND: a trading command needs an 'req_id'"),
    (env("OPEN_ORDER", {"symbol": "EURUSD", "action": "BUY", "volume": -1}), "OPEN_ORDER: 'volume' must be a number > 0"),
    (env("CLOSE_POSITION", {"ticket": "x"}), "CLOSE_POSITION: 'position' must be a ticket"),
    (env("GET_SYMBOL_INFO", {}), "GET_SYMBOL_INFO: 'symbol' is required"),
    ({"action": "GET_POSITIONS", "payload": [1]}, "GET_POSITIONS: 'payload' must be an object"),
])
def test_a_bad_action_request_is_refused_naming_the_action_and_field(obj, message):
    with pytest.raises(protocol.ProtocolError) as e:
        d.to_command(obj)
    assert str(e.value).startswith(message), str(e.value)


def test_replies_have_the_fields_the_clients_require():
    ok = d.to_reply(env("GET_ACCOUNT_INFO"), {"ok": True, "id": "r1", "balance": 5.0})
    assert ok["req_id"] == "r1" and ok["status"] == "SUCCESS" and ok["data"] == {"balance": 5.0} and ok["error"] is None
    assert isinstance(ok["timestamp"], float)
    bad = d.to_reply(env("OPEN_ORDER"), {"ok": False, "error": "trading is disabled on this gateway"})
    assert bad["status"] == "ERROR" and bad["error"] == "trading is disabled on this gateway" and bad["data"] is None
    refused = d.to_reply(env("OPEN_ORDER"), {"ok": False, "error": "no money", "retcode": 10019})
    assert refused["data"] == {"retcode": 10019}
    filled = d.to_reply(env("OPEN_ORDER"), {"ok": True, "retcode": 10009, "order": 5, "deal": 6, "position": 5})
    assert filled["data"]["ticket"] == 5 and filled["data"]["deal"] == 6
    assert d.to_reply(env("GET_POSITIONS"), {"ok": True, "positions": [1]})["data"] == [1]
    assert d.to_reply({"action": "PING"}, {"ok": True})["status"] == "PONG"
    assert d.to_reply({"action": "PING"}, {"ok": False})["status"] == "ERROR"
    flat = d.to_reply({"action": "ORDER_SEND", "request_id": "q"}, {"ok": True, "retcode": 10009, "deal": 2, "order": 1})
    assert (flat["retcode"], flat["deal"], flat["order"], flat["comment"], flat["request_id"]) == (10009, 2, 1, "", "q")
    failed = d.to_reply({"action": "ORDER_SEND", "request_id": "q"}, {"ok": False, "error": "nope"})
    assert failed["comment"] == "nope" and failed["status"] == "ERROR" and failed["retcode"] is None


def test_mesh_requests_are_not_the_action_dialect():
    assert not d.is_action({"cmd": "ping"})
    assert not d.is_action({"cmd": "ping", "action": "PING"})
    assert not d.is_action([1])


def test_sniff_finds_the_action_and_req_id_of_a_frame_that_does_not_decode():
    assert d.sniff([b'{"action":"OPEN_ORDER","req_id":"a-1","payload":{"volume":NaN}}']) == \
        {"action": "OPEN_ORDER", "req_id": "a-1"}
    assert d.sniff([b'{"action": "PING"']) == {"action": "PING", "req_id": None}
    assert d.sniff([b'{"cmd":"ping","action":"PING"']) is None
    assert d.sniff([b"garbage"]) is None
    assert d.sniff([b'{"action":"PING"}', b"x"]) is None


def test_the_client_side_builds_both_variants_and_reads_replies():
    assert json.loads(d.request("PING")) == {"action": "PING"}
    enveloped = json.loads(d.request("HEARTBEAT", "probe-1"))
    assert enveloped["action"] == "HEARTBEAT" and enveloped["req_id"] == "probe-1" and enveloped["payload"] == {}
    assert d.reply_ok(b'{"status":"PONG"}', "PING") == (True, "status 'PONG'")
    assert d.reply_ok(b'{"req_id":"x","status":"SUCCESS","timestamp":1}') == (True, "status SUCCESS")
    assert d.reply_ok(b'{"status":"SUCCESS"}') == (False, "reply lacks req_id, timestamp")
    assert d.reply_ok(b'{"req_id":"x","status":"ERROR","timestamp":1,"error":"down"}') == (False, "status 'ERROR': down")
    assert d.reply_ok(b"[")[0] is False
