import json

import pytest

from mt5mesh.wire import protocol


def test_request_roundtrip_and_id_echo():
    req = protocol.decode_request([protocol.request("ping", "7")])
    assert req == {"cmd": "ping", "id": "7"}
    assert json.loads(protocol.reply_ok(req, seq=3)) == {"ok": True, "id": "7", "seq": 3}
    assert json.loads(protocol.reply_error(req, "boom")) == {"ok": False, "error": "boom", "id": "7"}


@pytest.mark.parametrize("frames,needle", [
    ([b"\xff\xfe"], "not UTF-8 JSON"),
    ([b"not json"], "not UTF-8 JSON"),
    ([b"[1, 2]"], "JSON object"),
    ([b'{"cmd": 5}'], "string 'cmd'"),
    ([b'{"cmd": "rm -rf"}'], "unknown cmd"),
    ([b'{"cmd": "ping"}', b"x"], "expected 1 frame"),
    ([b"x" * (protocol.MAX_REQUEST_BYTES + 1)], "exceeds"),
    ([b'{"cmd": "replay", "from_seq": 0}'], "from_seq >= 1"),
    ([b'{"cmd": "replay", "from_seq": true}'], "from_seq >= 1"),
    ([b'{"cmd": "replay", "from_seq": 1, "limit": "9"}'], "limit >= 1"),
])
def test_malformed_requests_are_protocol_errors(frames, needle):
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.decode_request(frames)
    assert needle in str(e.value)


def test_unknown_cmd_keeps_request_for_id_echo():
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.decode_request([b'{"cmd": "nope", "id": "a"}'])
    assert json.loads(protocol.reply_error(e.value.request, e.value))["id"] == "a"


def test_replay_limit_is_capped():
    req = protocol.decode_request([b'{"cmd": "replay", "from_seq": 5, "limit": 999999999}'])
    assert req["limit"] == protocol.MAX_REPLAY_LIMIT


def test_tick_event_frames_roundtrip_bytes_exactly():
    # Bytes as another implementation would send them (not produced by our own encode()).
    wire = [b"tick.EURUSD", b'{"epoch":1,"seq":2,"ts":1700000000.123456,"symbol":"EURUSD","bid":1.1,"ask":1.1002}']
    assert protocol.tick(1, 2, 1700000000.123456, "EURUSD", 1.1, 1.1002) == wire
    kind, ev = protocol.decode_event(wire)
    assert kind == "tick" and ev["seq"] == 2
    assert protocol.event_frames(ev) == wire  # the proxy re-publishes unchanged bytes


def test_heartbeat_and_bad_events():
    kind, ev = protocol.decode_event(protocol.heartbeat(1, 9, 5.0))
    assert kind == "hb" and ev == {"epoch": 1, "seq": 9, "ts": 5.0}
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_event([b"tick.X", b'{"epoch": 1}'])
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_event([b"other", b"{}"])
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_event([b"hb"])


@pytest.mark.parametrize("payload", [
    b'{"symbol": "EUR\\tUSD", "bid": 1, "ask": 2}',
    b'{"symbol": "EURUSD", "bid": "1", "ask": 2}',
    b'{"symbol": "EURUSD", "bid": true, "ask": 2}',
    b'{"symbol": "EURUSD", "bid": 1, "ask": 2, "ts": "now"}',
    b'{"bid": 1, "ask": 2}',
    b"[]",
])
def test_bad_pushes_are_rejected(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_push([payload])


def test_good_push():
    assert protocol.decode_push([b'{"symbol": "XAUUSD", "bid": 2000.1, "ask": 2000.5}'])["symbol"] == "XAUUSD"
