"""The wire side of trading (protocol.py): request field checks and trade events, exact
messages and exact bounds, on plain data."""
import pytest

from mt5mesh.wire import protocol as p

BUY = {"cmd": "order_send", "id": 1, "symbol": "EURUSD", "side": "buy", "volume": 0.1}
TRADE = {"epoch": 7, "seq": 9, "ts": 1.5, "symbol": "EURUSD", "trade": "fill"}


def problem(**changes):
    req = dict(BUY)
    for k, v in changes.items():
        if v is None:
            req.pop(k, None)
        else:
            req[k] = v
    return p.trade_request_problem(req)


def test_a_well_formed_order_has_no_problem_at_every_edge_of_every_range():
    assert problem() is None
    assert problem(magic=0) is None and problem(magic=2 ** 63 - 1) is None
    assert problem(volume=p.MAX_VOLUME) is None and problem(volume=1e-9) is None
    assert problem(sl=0) is None and problem(tp=p.MAX_PRICE) is None
    assert problem(deviation=0) is None and problem(deviation=100000) is None
    assert problem(comment="x" * 31) is None and problem(comment="") is None


@pytest.mark.parametrize("changes,message", [
    (dict(id=None), "a trading command needs an 'id' (without one it could never be retried safely)"),
    (dict(symbol=None), "'symbol' is required"),
    (dict(symbol="EUR USD"), "'symbol' must be 1-32 characters from A-Z a-z 0-9 . _ # -"),
    (dict(magic=-1), "'magic' must be an integer >= 0"),
    (dict(magic=2 ** 63), "'magic' must be an integer >= 0"),
    (dict(magic=1.0), "'magic' must be an integer >= 0"),
    (dict(side="long"), "'side' must be buy or sell"),
    (dict(side=None), "'side' must be buy or sell"),
    (dict(volume=0), "'volume' must be a number > 0 and <= 1e+06"),
    (dict(volume=p.MAX_VOLUME * 1.000001), "'volume' must be a number > 0 and <= 1e+06"),
    (dict(volume="1"), "'volume' must be a number > 0 and <= 1e+06"),
    (dict(sl=-0.1), "'sl' must be a finite price between 0 and 1e+09"),
    (dict(tp=p.MAX_PRICE * 2), "'tp' must be a finite price between 0 and 1e+09"),
    (dict(deviation=-1), "'deviation' must be an integer of points from 0 to 100000"),
    (dict(deviation=100001), "'deviation' must be an integer of points from 0 to 100000"),
    (dict(comment="x" * 32), "'comment' must be printable text of at most 31 characters"),
    (dict(comment="a\tb"), "'comment' must be printable text of at most 31 characters"),
    (dict(comment=5), "'comment' must be printable text of at most 31 characters"),
])
def test_each_bad_order_field_gets_its_exact_message(changes, message):
    assert problem(**changes) == message


def test_order_close_and_history_deals_fields_have_exact_bounds_and_messages():
    close = {"cmd": "order_close", "id": "c"}
    assert p.trade_request_problem(dict(close, position=1)) is None
    assert p.trade_request_problem(dict(close, position=p.MAX_SEQ)) is None
    assert p.trade_request_problem(dict(close, position=0)) == "'position' must be a ticket (an integer >= 1)"
    assert p.trade_request_problem(dict(close, position=p.MAX_SEQ + 1)) == "'position' must be a ticket (an integer >= 1)"
    assert p.trade_request_problem(dict(close, position=3, volume=0.01)) is None
    assert p.trade_request_problem(dict(close, position=3, volume=0)) == "'volume' must be a number > 0 and <= 1e+06"
    assert p.trade_request_problem(dict(close, position=3, volume=2e6)) == "'volume' must be a number > 0 and <= 1e+06"
    deals = {"cmd": "history_deals"}
    assert p.trade_request_problem(dict(deals, **{"from": 0, "to": p.MAX_TS})) is None
    assert p.trade_request_problem(dict(deals, **{"from": 5, "to": 5})) is None
    assert p.trade_request_problem(dict(deals, **{"from": 6, "to": 5})) == "'from' must not be after 'to'"
    assert p.trade_request_problem(dict(deals, **{"to": 5})) == "'from' must be seconds since 1970 before 2100"
    assert p.trade_request_problem(dict(deals, **{"from": 0, "to": p.MAX_TS + 1})) == \
        "'to' must be seconds since 1970 before 2100"


def test_read_commands_need_no_id_and_close_all_needs_one():
    for cmd in p.READ_COMMANDS:
        if cmd not in ("symbol_info", "history_deals"):
            assert p.trade_request_problem({"cmd": cmd}) is None
    assert p.trade_request_problem({"cmd": "symbol_info"}) == "'symbol' is required"
    assert p.trade_request_problem({"cmd": "close_all"}).startswith("a trading command needs an 'id'")
    assert p.trade_request_problem({"cmd": "close_all", "id": 1, "symbol": "X", "magic": 3}) is None


def test_decode_request_prefixes_the_command_and_keeps_the_id_for_the_reply():
    with pytest.raises(p.ProtocolError) as e:
        p.decode_request([b'{"cmd":"order_send","id":"x9","symbol":"EURUSD","side":"up","volume":1}'])
    assert str(e.value) == "order_send: 'side' must be buy or sell" and e.value.request["id"] == "x9"
    req = p.decode_request([b'{"cmd":"positions","symbol":"EURUSD"}'])
    assert req == {"cmd": "positions", "symbol": "EURUSD"}
    assert set(p.COMMANDS) == {"ping", "status", "snapshot", "replay", "account", "positions", "orders", "symbol_info",
                               "history_deals", "order_send", "order_close", "close_all"}


def test_trade_event_frames_are_exact_and_decode_back():
    frames = p.trade(7, 9, 1.5, "EURUSD", {"trade": "fill", "deal": 3})
    assert frames == [b"trade.EURUSD", b'{"epoch":7,"seq":9,"ts":1.5,"symbol":"EURUSD","trade":"fill","deal":3}']
    kind, data = p.decode_event(frames)
    assert kind == "trade" and data["deal"] == 3
    assert p.event_frames(data) == frames
    assert p.event_frames({"epoch": 7, "seq": 9, "ts": 1.5, "symbol": "X", "bid": 1, "ask": 1})[0] == b"tick.X"


def test_check_trade_accepts_every_field_at_its_bounds():
    full = dict(TRADE, side="sell", entry="out", retcode=-p.MAX_SEQ, order=p.MAX_SEQ, deal=0, position=1, magic=2,
                time_msc=3, volume=-p.MAX_PRICE * p.MAX_VOLUME, price=p.MAX_PRICE * p.MAX_VOLUME, profit=0.0, sl=1, tp=2,
                cmd="order_send", client_id="x" * 600, retcode_name="", comment="c", error="e")
    assert p.check_trade(full) is full
    for kind in p.TRADE_KINDS:
        assert p.check_trade(dict(TRADE, trade=kind))["trade"] == kind


@pytest.mark.parametrize("changes,message", [
    (dict(trade="filled"), "trade 'trade' must be one of fill, placed, reject, unknown"),
    (dict(side="long"), "trade 'side' must be buy or sell and 'entry' one of in, out, inout, out_by"),
    (dict(entry="sideways"), "trade 'side' must be buy or sell and 'entry' one of in, out, inout, out_by"),
    (dict(deal=1.0), "trade 'deal' must be an integer"),
    (dict(retcode=p.MAX_SEQ + 1), "trade 'retcode' must be an integer"),
    (dict(order=-p.MAX_SEQ - 1), "trade 'order' must be an integer"),
    (dict(time_msc=True), "trade 'time_msc' must be an integer"),
    (dict(price=float("nan")), "trade 'price' must be a finite number"),
    (dict(volume=p.MAX_PRICE * p.MAX_VOLUME * 2), "trade 'volume' must be a finite number"),
    (dict(profit=-p.MAX_PRICE * p.MAX_VOLUME * 2), "trade 'profit' must be a finite number"),
    (dict(client_id="x" * 601), "trade 'client_id' must be text of at most 600 characters"),
    (dict(error=5), "trade 'error' must be text of at most 600 characters"),
    (dict(symbol="EUR\nUSD"), "tick 'symbol' must be 1-32 characters from A-Z a-z 0-9 . _ # -"),
    (dict(seq=0), "tick 'seq' must be an integer >= 1"),
])
def test_each_bad_trade_event_field_gets_its_exact_message(changes, message):
    with pytest.raises(p.ProtocolError) as e:
        p.check_trade(dict(TRADE, **changes))
    assert str(e.value) == message


def test_check_event_dispatches_on_trade_and_refuses_a_non_object():
    assert p.check_event(dict(TRADE)) == TRADE
    tick = {"epoch": 7, "seq": 9, "ts": 1.5, "symbol": "X", "bid": 1.0, "ask": 1.1}
    assert p.check_event(tick) == tick
    with pytest.raises(p.ProtocolError, match="^tick 'bid' must be a finite price"):
        p.check_event(dict(tick, bid=None))
    with pytest.raises(p.ProtocolError, match="^event is not a JSON object$"):
        p.check_event([1])


def test_a_trade_event_on_the_wire_lacking_a_field_is_refused_naming_it():
    with pytest.raises(p.ProtocolError, match="^trade event lacks trade$"):
        p.decode_event([b"trade.X", b'{"epoch":1,"seq":1,"ts":1,"symbol":"X"}'])
