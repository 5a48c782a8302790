"""The protocol's edges and error texts as a contract: peers and operators read these messages,
and each boundary below is one a mutant of protocol.py would move."""
import json

import pytest

from mt5mesh.wire import protocol

TICK = {"epoch": 0, "seq": 1, "ts": 0, "symbol": "EURUSD", "bid": 0, "ask": 0}


def event(**fields):
    ev = dict(TICK, **fields)
    return [b"tick.EURUSD", json.dumps(ev).encode()]


def test_lowest_valid_values_are_accepted():
    assert protocol.decode_event(event())[0] == "tick"
    assert protocol.decode_event([b"hb", b'{"epoch":0,"seq":0,"ts":0}'])[0] == "hb"
    assert protocol.decode_push([b'{"symbol":"A","bid":0,"ask":0,"ts":0}'])["ts"] == 0


@pytest.mark.parametrize("frames,message", [
    ([b"x"], "event must have 2 frames, got 1"),
    ([b"tick.X", b"[1]"], "event payload must be a JSON object"),
    ([b"other", b"{}"], "unknown topic b'other'"),
    ([b"other" + b"x" * 100, b"{}"], "unknown topic %r" % (b"other" + b"x" * 59)),
    ([b"tick.X", b'{"epoch":1}'], "tick event lacks seq, ts, symbol, bid, ask"),
    (event(epoch=-1), "tick 'epoch' must be an integer"),
    (event(seq=0), "tick 'seq' must be an integer >= 1"),
    (event(ts=-0.5), "tick 'ts' must be seconds since 1970 before 2100"),
    (event(symbol="A B"), "tick 'symbol' must be 1-32 characters from A-Z a-z 0-9 . _ # -"),
    (event(bid=-1), "tick 'bid' must be a finite price between 0 and 1e+09"),
    (event(time_msc=-1), "tick 'time_msc' must be a finite number >= 0"),
    (event(flags="6"), "tick 'flags' must be a finite number >= 0"),
    ([b"hb", b'{"epoch":"1","seq":0,"ts":0}'], "heartbeat needs integer epoch and seq and a plausible ts"),
    ([b"hb", b'{"epoch":1,"seq":-1,"ts":0}'], "heartbeat needs integer epoch and seq and a plausible ts"),
    ([b"hb", b'{"epoch":1,"seq":1.5,"ts":0}'], "heartbeat needs integer epoch and seq and a plausible ts"),
    ([b"hb", b'{"epoch":-1,"seq":1,"ts":0}'], "heartbeat needs integer epoch and seq and a plausible ts"),
    ([b"hb", b'{"epoch":1,"seq":1,"ts":-1}'], "heartbeat needs integer epoch and seq and a plausible ts"),
    ([b"tick.X", b"\xff"], "event payload is not UTF-8 JSON"),
])
def test_event_errors_say_exactly_what_is_wrong(frames, message):
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.decode_event(frames)
    assert str(e.value).startswith(message), str(e.value)


@pytest.mark.parametrize("frame,message", [
    (b"x" * 4097, "push must be one frame of at most 4096 bytes"),
    (b"[1]", "push must be a JSON object"),
    (b'{"symbol":"A B","bid":1,"ask":1}', "push needs a 'symbol' of 1-32 characters from A-Z a-z 0-9 . _ # -"),
    (b'{"symbol":"A","bid":-1,"ask":1}', "push needs a finite price 'bid' between 0 and 1e+09"),
    (b'{"symbol":"A","bid":1,"ask":1,"ts":-1}', "push 'ts' must be seconds since 1970 before 2100"),
    (b"\xff", "push is not UTF-8 JSON"),
])
def test_push_errors_say_exactly_what_is_wrong(frame, message):
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.decode_push([frame])
    assert str(e.value).startswith(message), str(e.value)


def test_push_of_two_frames_is_refused():
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.decode_push([b"{}", b"{}"])
    assert str(e.value) == "push must be one frame of at most 4096 bytes"


def test_terminal_fields_ride_along_in_the_tick_in_order():
    frames = protocol.tick(1, 2, 3.0, "EURUSD", 1.0, 1.1, {"time_msc": 3000, "last": 0.0, "volume": 0, "flags": 6})
    assert frames == [b"tick.EURUSD", b'{"epoch":1,"seq":2,"ts":3.0,"symbol":"EURUSD","bid":1.0,"ask":1.1,'
                                      b'"time_msc":3000,"last":0.0,"volume":0,"flags":6}']
    assert protocol.decode_event(frames)[1]["time_msc"] == 3000


def test_an_id_of_exactly_128_characters_is_echoed_129_is_not():
    exact = "x" * 128
    assert json.loads(protocol.reply_ok({"id": exact}))["id"] == exact
    assert "id" not in json.loads(protocol.reply_ok({"id": exact + "x"}))
    assert "id" not in json.loads(protocol.reply_ok({"id": 7}))
    assert "id" not in json.loads(protocol.reply_ok({"cmd": "ping"}))
    assert json.loads(protocol.reply_error("not a dict", "e")) == {"ok": False, "error": "e"}


def test_nesting_counts_objects_and_arrays_alike():
    assert protocol.nesting_too_deep(b'{"a":' * 33 + b"1" + b"}" * 33) is True
    assert protocol.nesting_too_deep(b"[" * 20 + b"{}" * 20 + b"]" * 20) is False
    mixed = b"[" * 17 + b'{"a":' * 16 + b"1" + b"}" * 16 + b"]" * 17
    assert protocol.nesting_too_deep(mixed) is True


def test_escaped_quotes_and_backslashes_do_not_open_or_close_strings():
    tricky = json.dumps({"a": "\\" * 3 + '"[[[[', "b": ["\\"]}).encode() * 1
    deep_outside = b"[" * 40 + json.dumps("\\\"]]]]").encode() + b"]" * 40
    assert protocol.nesting_too_deep(b"[" + tricky * 40 + b"]") is False
    assert protocol.nesting_too_deep(deep_outside) is True
