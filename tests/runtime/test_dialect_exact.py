"""dialect.py, exactly: every reply shape an existing MT5 client parses (ORDER_SEND flat replies,
enveloped SUCCESS/ERROR with data, PONG), the ERROR for an unmappable request, the probe side's
requests and verdicts. Timestamps are checked for type and closeness only."""
import json
import time

import pytest

from mt5mesh.wire import dialect, protocol

FILL = {"ok": True, "retcode": 10009, "retcode_name": "TRADE_RETCODE_DONE", "order": 11, "deal": 12, "position": 11,
        "price": 1.1, "volume": 0.1}


def close_to_now(ts):
    return isinstance(ts, float) and abs(ts - time.time()) < 5


def test_order_send_reply_is_flat_with_every_mt5_field_and_an_empty_comment_on_success():
    out = dialect.to_reply({"action": "ORDER_SEND", "request_id": "r1"}, FILL)
    ts = out.pop("timestamp")
    assert close_to_now(ts)
    assert out == {"request_id": "r1", "status": "SUCCESS", "retcode": 10009, "deal": 12, "order": 11, "price": 1.1,
                   "volume": 0.1, "position": 11, "comment": ""}


def test_order_send_error_reply_carries_the_error_as_comment_and_missing_fields_as_none():
    out = dialect.to_reply({"action": "ORDER_SEND"}, {"ok": False, "error": "no money"})
    out.pop("timestamp")
    assert out == {"request_id": None, "status": "ERROR", "retcode": None, "deal": None, "order": None, "price": None,
                   "volume": None, "position": None, "comment": "no money"}
    assert dialect.to_reply({"action": "ORDER_SEND"}, {"ok": False})["comment"] == ""


def test_ping_reply_is_pong_or_error_with_a_timestamp():
    pong = dialect.to_reply({"action": "PING"}, {"ok": True})
    assert pong["status"] == "PONG" and set(pong) == {"status", "timestamp"} and close_to_now(pong["timestamp"])
    assert dialect.to_reply({"action": "PING"}, {"ok": False})["status"] == "ERROR"


def test_enveloped_success_holds_the_data_without_ok_error_or_id_and_a_ticket_to_close():
    out = dialect.to_reply({"action": "OPEN_ORDER", "req_id": "q"}, dict(FILL, id="q"))
    assert close_to_now(out.pop("timestamp"))
    assert out == {"req_id": "q", "status": "SUCCESS", "error": None,
                   "data": {"retcode": 10009, "retcode_name": "TRADE_RETCODE_DONE", "order": 11, "deal": 12,
                            "position": 11, "price": 1.1, "volume": 0.1, "ticket": 11}}
    only_order = dialect.to_reply({"action": "CLOSE_POSITION", "req_id": "5"}, {"ok": True, "order": 9})
    assert only_order["data"] == {"order": 9, "ticket": 9} and only_order["req_id"] == "5"
    account = dialect.to_reply({"action": "GET_ACCOUNT_INFO", "req_id": "a"}, {"ok": True, "balance": 1.0, "order": 3})
    assert account["data"] == {"balance": 1.0, "order": 3}  # no ticket outside orders and closes


def test_get_positions_data_is_the_list_itself():
    out = dialect.to_reply({"action": "GET_POSITIONS", "req_id": "p"}, {"ok": True, "positions": [{"ticket": 1}]})
    assert out["data"] == [{"ticket": 1}]
    assert dialect.to_reply({"action": "GET_POSITIONS"}, {"ok": True})["data"] == []


def test_enveloped_error_keeps_its_data_only_when_there_is_some_and_cuts_the_error_at_500():
    out = dialect.to_reply({"action": "KILL_SWITCH", "req_id": "k"}, {"ok": False, "error": "x" * 600, "failed": [1]})
    assert out["status"] == "ERROR" and out["data"] == {"failed": [1]} and out["error"] == "x" * 500
    bare = dialect.to_reply({"action": "GET_ACCOUNT_INFO"}, {"ok": False})
    assert bare["data"] is None and bare["error"] == "error" and bare["req_id"] is None


def test_a_reply_to_a_non_object_has_no_req_id():
    out = dialect.to_reply(["not", "an", "object"], {"ok": False, "error": "bad"})
    assert out["req_id"] is None and out["status"] == "ERROR" and out["error"] == "bad"


def test_error_reply_is_an_action_error_naming_the_cause():
    out = dialect.error_reply({"action": "GET_POSITIONS", "req_id": "z"}, ValueError("unknown action"))
    assert close_to_now(out.pop("timestamp"))
    assert out == {"req_id": "z", "status": "ERROR", "data": None, "error": "unknown action"}
    out = dialect.error_reply({"action": "OPEN_ORDER", "req_id": "z"}, "bad side")
    out.pop("timestamp")
    assert out == {"req_id": "z", "status": "ERROR", "data": None, "error": "bad side"}


@pytest.mark.parametrize("payload,side", [({"action": "buy"}, "buy"), ({"side": "Sell", "type": "MARKET"}, "sell"),
                                          ({"type": "BUY"}, "buy"), ({"type": "market", "side": "BUY"}, "buy")])
def test_open_order_side_is_read_from_action_side_or_type(payload, side):
    body = dict(payload, symbol="EURUSD", volume=0.1)
    req = dialect.to_command({"action": "OPEN_ORDER", "req_id": "o", "payload": body})
    assert req == {"cmd": "order_send", "id": "o", "side": side, "volume": 0.1, "symbol": "EURUSD"}


def test_open_order_without_a_side_names_the_key_and_what_it_takes():
    with pytest.raises(protocol.ProtocolError) as e:
        dialect.to_command({"action": "OPEN_ORDER", "req_id": "o", "payload": {"symbol": "EURUSD", "volume": 0.1}})
    assert str(e.value) == "OPEN_ORDER: 'action' must be BUY or SELL"
    with pytest.raises(protocol.ProtocolError) as e:
        dialect.to_command({"action": "OPEN_ORDER", "req_id": "o", "payload": {"type": "BUY_LIMIT_X" * 3}})
    assert str(e.value) == "OPEN_ORDER: 'type' BUY_LIMIT_XBUY_L is a pending order; this gateway sends market orders only"
    with pytest.raises(protocol.ProtocolError) as e:
        dialect.to_command({"action": "ORDER_SEND", "request_id": "o", "symbol": "EURUSD", "volume": 0.1, "type": True})
    assert str(e.value) == "ORDER_SEND: 'type' must be 0 (buy) or 1 (sell)"


def test_flat_order_send_maps_type_numbers_and_keeps_only_set_optional_fields():
    req = dialect.to_command({"action": "ORDER_SEND", "request_id": "f", "symbol": "EURUSD", "volume": 0.2, "type": 1,
                              "price": 1.2, "sl": 0, "tp": 1.0, "comment": "c", "magic": 4, "deviation": None})
    assert req == {"cmd": "order_send", "id": "f", "side": "sell", "volume": 0.2, "tp": 1.0, "comment": "c", "magic": 4,
                   "symbol": "EURUSD"}


def test_other_actions_map_exactly():
    assert dialect.to_command({"action": "CLOSE_POSITION", "req_id": "c", "payload": {"ticket": 7}}) == {
        "cmd": "order_close", "id": "c", "position": 7}
    assert dialect.to_command({"action": "GET_SYMBOL_INFO", "req_id": "3", "payload": {"symbol": "EURUSD"}}) == {
        "cmd": "symbol_info", "id": "3", "symbol": "EURUSD"}
    assert dialect.to_command({"action": "HEARTBEAT"}) == {"cmd": "ping"}
    with pytest.raises(protocol.ProtocolError):
        dialect.to_command({"action": "HEARTBEAT", "req_id": True})
    assert dialect.to_command({"action": "PING"}) == {"cmd": "ping"}
    assert dialect.to_command({"action": "KILL_SWITCH", "req_id": "k", "payload": None}) == {"cmd": "close_all", "id": "k"}


def test_mapping_errors_are_exact():
    with pytest.raises(protocol.ProtocolError) as e:
        dialect.to_command({"action": "NOPE" * 20})
    assert str(e.value) == "unknown action %r; known: %s" % (("NOPE" * 20)[:64], ", ".join(sorted(dialect.ACTIONS)))
    with pytest.raises(protocol.ProtocolError) as e:
        dialect.to_command({"action": "GET_POSITIONS", "payload": [1]})
    assert str(e.value) == "GET_POSITIONS: 'payload' must be an object"
    with pytest.raises(protocol.ProtocolError) as e:
        dialect.to_command({"action": "KILL_SWITCH", "payload": {}})
    assert str(e.value) == ("KILL_SWITCH: a trading command needs an 'req_id' (without one it could never be retried "
                            "safely)")


def test_sniff_reads_action_and_req_id_from_a_broken_frame_only_in_its_first_4096_bytes():
    assert dialect.sniff([b'{"action": "OPEN_ORDER", "req_id": "r-1", oops']) == {"action": "OPEN_ORDER", "req_id": "r-1"}
    assert dialect.sniff([b'{"action":"PING",']) == {"action": "PING", "req_id": None}
    assert dialect.sniff([b'{"action":"PING","request_id":"x"']) == {"action": "PING", "req_id": "x"}
    assert dialect.sniff([b'{"cmd":"ping","action":"PING"']) is None
    assert dialect.sniff([b'{"x":1']) is None
    assert dialect.sniff([b'{"action":"PING"', b'']) is None
    assert dialect.sniff([b" " * 4096 + b'{"action":"PING"']) is None


def test_request_id_takes_req_id_then_request_id_and_only_well_formed_strings():
    assert dialect.request_id({"req_id": "a", "request_id": "b"}) == "a"
    assert dialect.request_id({"request_id": "5"}) == "5"
    assert dialect.request_id({"request_id": 5}) is None
    assert dialect.request_id({"req_id": 1.5}) is None and dialect.request_id({"req_id": False}) is None
    assert dialect.request_id({"req_id": "x" * 128}) == "x" * 128 and dialect.request_id({"req_id": "x" * 129}) is None
    assert dialect.request_id({"req_id": "a b"}) is None


@pytest.mark.parametrize("rid", [777, 7.5, True, "x" * 129, "a b", "", "a\nb", ["a"]])
def test_a_malformed_req_id_is_refused_naming_req_id_before_it_is_echoed(rid):
    with pytest.raises(protocol.ProtocolError) as e:
        dialect.to_command({"action": "KILL_SWITCH", "req_id": rid})
    assert str(e.value) == "KILL_SWITCH: 'req_id' must be a string of 1-128 characters from A-Z a-z 0-9 . _ : -"
    reply = dialect.error_reply({"action": "KILL_SWITCH", "req_id": rid}, e.value)
    assert reply["req_id"] is None


def test_probe_requests_are_exact():
    assert json.loads(dialect.request("PING", "p1")) == {"action": "PING", "request_id": "p1"}
    assert json.loads(dialect.request("PING")) == {"action": "PING"}
    assert json.loads(dialect.request("ORDER_SEND", None, symbol="X")) == {"action": "ORDER_SEND", "symbol": "X"}
    msg = json.loads(dialect.request("HEARTBEAT", None, x=1))
    assert close_to_now(msg.pop("timestamp")) and msg == {"action": "HEARTBEAT", "req_id": "probe", "payload": {"x": 1}}
    assert json.loads(dialect.request("HEARTBEAT", "h"))["req_id"] == "h"


def test_probe_verdicts_are_exact():
    good = protocol.encode({"req_id": "h", "status": "SUCCESS", "timestamp": 1.0})
    assert dialect.reply_ok(good) == (True, "status SUCCESS")
    assert dialect.reply_ok(protocol.encode({"status": "PONG"}), "PING") == (True, "status 'PONG'")
    assert dialect.reply_ok(protocol.encode({"status": "ERROR"}), "PING") == (False, "status 'ERROR'")
    assert dialect.reply_ok(protocol.encode({"status": "SUCCESS"})) == (False, "reply lacks req_id, timestamp")
    bad = protocol.encode({"req_id": "h", "status": "ERROR", "timestamp": 1.0, "error": "down"})
    assert dialect.reply_ok(bad) == (False, "status 'ERROR': down")
    ok, detail = dialect.reply_ok(b"[1]")
    assert ok is False and detail == "not an action-dialect reply: reply must be a JSON object"
