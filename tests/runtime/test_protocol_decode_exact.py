"""decode_object / check_request / decode_reply_object: exact messages and exact bounds (the
mesh and action dialects share the first step)."""
import json

import pytest

from mt5mesh.wire import protocol as p


def error_of(fn, *args):
    with pytest.raises(p.ProtocolError) as e:
        fn(*args)
    return e.value


@pytest.mark.parametrize("frames,message", [
    ([b"{}", b"{}"], "expected 1 frame, got 2"),
    ([], "expected 1 frame, got 0"),
    ([b"[1]"], "request must be a JSON object, got list"),
    ([b'"x"'], "request must be a JSON object, got str"),
    ([b"{"], None),
])
def test_decode_object_messages_are_exact(frames, message):
    err = error_of(p.decode_object, frames)
    if message is None:
        assert str(err).startswith("request is not UTF-8 JSON: ")
    else:
        assert str(err) == message


def test_the_request_size_limit_is_inclusive():
    exact = b'{"cmd":"ping","pad":"' + b"x" * (p.MAX_REQUEST_BYTES - 23) + b'"}'
    assert len(exact) == p.MAX_REQUEST_BYTES
    assert p.decode_object([exact])["cmd"] == "ping"
    over = exact[:-2] + b'x"}'
    assert str(error_of(p.decode_object, [over])) == \
        "request of %d bytes exceeds the %d byte limit" % (p.MAX_REQUEST_BYTES + 1, p.MAX_REQUEST_BYTES)


def test_check_request_messages_are_exact_and_keep_the_request():
    err = error_of(p.check_request, {"id": "3"})
    assert str(err) == "request needs a string 'cmd'" and err.request == {"id": "3"}
    err = error_of(p.check_request, {"cmd": "fly", "id": "4"})
    assert str(err) == "unknown cmd 'fly'; known: " + ", ".join(p.COMMANDS) and err.request["id"] == "4"
    err = error_of(p.check_request, {"cmd": "replay", "id": "5"})
    assert str(err) == "replay needs integer from_seq >= 1" and err.request["id"] == "5"
    err = error_of(p.check_request, {"cmd": "replay", "from_seq": 1, "limit": 0})
    assert str(err) == "replay needs integer limit >= 1"
    err = error_of(p.check_request, {"cmd": "replay", "from_seq": True})
    assert str(err) == "replay needs integer from_seq >= 1"
    err = error_of(p.check_request, {"cmd": "order_send", "id": "6"})
    assert str(err) == "order_send: 'symbol' is required" and err.request["id"] == "6"


@pytest.mark.parametrize("bad", [777, 777.0, True, None, "", "x" * 129, "a b", "a\n", "é", ["a"], {"a": 1}])
def test_an_id_that_is_not_a_short_safe_string_is_refused_naming_the_field_and_never_echoed(bad):
    for cmd in ("ping", "order_send", "close_all"):
        err = error_of(p.check_request, {"cmd": cmd, "id": bad})
        assert str(err) == "'id' must be a string of 1-128 characters from A-Z a-z 0-9 . _ : -"
        assert "id" not in json.loads(p.reply_error(err.request, err))


def test_an_id_of_128_safe_characters_is_taken():
    assert p.check_request({"cmd": "ping", "id": "Az09._:-" * 16})["id"] == "Az09._:-" * 16


def test_replay_limit_defaults_to_1000_and_is_capped():
    assert p.check_request({"cmd": "replay", "from_seq": 1})["limit"] == 1000
    assert p.check_request({"cmd": "replay", "from_seq": 1, "limit": 1})["limit"] == 1
    assert p.check_request({"cmd": "replay", "from_seq": 1, "limit": 10 ** 9})["limit"] == p.MAX_REPLAY_LIMIT


def test_decode_reply_object_takes_any_object_and_names_the_reply():
    assert p.decode_reply_object(b'{"status":"PONG"}') == {"status": "PONG"}
    assert str(error_of(p.decode_reply_object, b"[1]")) == "reply must be a JSON object"
    assert str(error_of(p.decode_reply_object, b"{")).startswith("reply is not UTF-8 JSON: ")
    assert str(error_of(p.decode_reply, b'{"status":"PONG"}')) == "reply must be a JSON object with boolean 'ok'"


@pytest.mark.parametrize("value", [-1, True, 1.5, "7", 2 ** 62 + 1])
def test_history_deals_from_ticket_must_be_a_ticket_named_exactly(value):
    req = {"cmd": "history_deals", "from": 1, "to": 2, "from_ticket": value}
    assert p.trade_request_problem(req) == "'from_ticket' must be a deal ticket (an integer >= 0)"


def test_history_deals_from_ticket_zero_and_absent_are_taken():
    assert p.trade_request_problem({"cmd": "history_deals", "from": 1, "to": 2, "from_ticket": 0}) is None
    assert p.trade_request_problem({"cmd": "history_deals", "from": 1, "to": 2}) is None


def test_only_account_and_trading_commands_get_their_fields_checked():
    assert p.check_request({"cmd": "ping", "symbol": "EUR USD"}) == {"cmd": "ping", "symbol": "EUR USD"}
    with pytest.raises(p.ProtocolError):
        p.check_request({"cmd": "positions", "symbol": "EUR USD"})


def test_loads_takes_text_as_well_as_bytes_and_names_what_it_read():
    assert p.decode_reply_object('{"a":1}') == {"a": 1}
    assert str(error_of(p.decode_reply_object, b'{"a":NaN}')) == "reply is not UTF-8 JSON: NaN is not a finite number"
    assert str(error_of(p.decode_reply_object, b'{"a":-Infinity}')) == \
        "reply is not UTF-8 JSON: -Infinity is not a finite number"
    assert str(error_of(p.decode_reply_object, b"[" * 40)) == "reply nests deeper than 32 levels or is unbalanced"
