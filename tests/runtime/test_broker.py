"""The gateway broker (gateway/broker.py): every command's reply, publishing, pushes, the
journal hand-offs and the loop's cadence. Publishing goes to a recording stand-in where the
bytes are the point; the loop runs on real ZeroMQ sockets on loopback."""
import json
import logging
import threading
import time

import pytest
import zmq

from mt5mesh import __version__
from mt5mesh.gateway import broker as broker_mod
from mt5mesh.gateway.broker import INTERNAL_ERROR, MAX_SYMBOLS, Broker, _splice
from mt5mesh.gateway.journal import Loaded
from mt5mesh.gateway.schema import SCHEMA
from mt5mesh.wire import protocol
from support.servers import free_port


class Pub:
    def __init__(self, incoming=()):
        self.sent, self.incoming = [], list(incoming)

    def send_multipart(self, frames, copy=True):
        self.sent.append(list(frames))

    def send(self, data, flags=0):
        self.sent.append(data)

    def recv(self, flags=0):
        if not self.incoming:
            raise zmq.Again()
        return self.incoming.pop(0)


class Journal:
    def __init__(self, error=None, new_segment=True):
        self.events, self.starts, self.dropped = [], [], []
        self.path, self.segments, self.syncs, self.budget_bytes, self.error = "/j", [1, 2], 5, 100, error
        self.new_segment = new_segment

    def event(self, seq, payload):
        self.events.append((seq, payload))

    def start(self, first_seq, checkpoint):
        self.starts.append((first_seq, checkpoint))
        return self.new_segment

    def drop_older_than(self, seq):
        self.dropped.append(seq)

    def total_bytes(self):
        return 42

    def close(self):
        pass


def cfg(**kw):
    out = {o.name: o.default for o in SCHEMA}
    out.update(kw)
    return out


def broker(journal=None, **kw):
    b = Broker(cfg(**kw), journal=journal)
    b.pub = Pub()
    return b


def reply(b, req, client=None):
    return json.loads(b.handle([json.dumps(req).encode()], client))


# --- commands -----------------------------------------------------------------------------------

def test_ping_names_version_protocol_epoch_seq_and_uptime():
    b = broker()
    b.seq = 7
    r = reply(b, {"cmd": "ping", "id": "p1"})
    assert r == {"ok": True, "id": "p1", "version": __version__, "protocol": protocol.PROTOCOL_VERSION,
                 "epoch": b.epoch, "seq": 7, "uptime_s": r["uptime_s"]}
    assert 0 <= r["uptime_s"] < 5 and b.counters["requests"] == 1


def test_status_reports_the_journal_counters_health_and_terminal():
    b = broker(journal=Journal())
    r = reply(b, {"cmd": "status"})
    assert r["journal"] == {"path": "/j", "segments": 2, "syncs": 5, "bytes": 42, "budget_bytes": 100, "ok": True, "error": None}
    assert r["healthy"] is True and r["trading"] is None and r["source"] == "synthetic"
    assert r["terminal"] == {"name": "synthetic", "connected": None} and r["ring_size"] == b.ring.size
    assert r["published"] == 0 and r["requests"] == 1


def test_a_journal_that_cannot_write_makes_status_unhealthy_and_names_why():
    b = broker(journal=Journal(error="journal: cannot write seg-1: No space left on device"))
    r = reply(b, {"cmd": "status"})
    assert r["healthy"] is False and r["journal"]["ok"] is False
    assert b.problems() == ["journal: cannot write seg-1: No space left on device"]


def test_without_a_journal_status_says_so():
    assert reply(broker(), {"cmd": "status"})["journal"] is None


def test_a_snapshot_holds_each_symbols_latest_tick_verbatim():
    b = broker()
    b.publish("EURUSD", 1.1, 1.2, ts=5.0)
    b.publish("EURUSD", 1.3, 1.4, ts=6.0)
    b.publish("GBPUSD", 2.1, 2.2, ts=7.0)
    r = reply(b, {"cmd": "snapshot", "id": "s"})
    assert r["ok"] and r["seq"] == 3 and r["id"] == "s"
    assert [(t["symbol"], t["seq"], t["bid"]) for t in r["ticks"]] == [("EURUSD", 2, 1.3), ("GBPUSD", 3, 2.1)]


def test_an_empty_snapshot_is_valid_json():
    assert reply(broker(), {"cmd": "snapshot"})["ticks"] == []


def test_replay_returns_the_asked_range_with_the_ring_bounds():
    b = broker()
    for i in range(5):
        b.publish("EURUSD", 1.0 + i, 2.0 + i, ts=float(i + 1))
    r = reply(b, {"cmd": "replay", "from_seq": 2, "limit": 2})
    assert [e["seq"] for e in r["events"]] == [2, 3] and (r["oldest"], r["last"], r["epoch"]) == (1, 5, b.epoch)


def test_replay_of_what_the_ring_lost_names_the_oldest_and_last_it_holds():
    b = broker(ring_size=2)
    for i in range(5):
        b.publish("EURUSD", 1.0, 2.0, ts=1.0)
    r = reply(b, {"cmd": "replay", "from_seq": 1, "limit": 10})
    assert r["ok"] is False and (r["oldest"], r["last"], r["epoch"]) == (4, 5, b.epoch)
    assert r["error"] == "events before seq 4 are gone from the ring"


@pytest.mark.parametrize("frames", [[b"{not json"], [b"[]"], [b'{"cmd": "nope"}'], [b"a", b"b"]])
def test_a_malformed_request_is_answered_with_an_error_and_counted_rejected(frames):
    b = broker()
    r = json.loads(b.handle(frames))
    assert r["ok"] is False and r["error"] and b.counters["rejected"] == 1 and b.counters["errors"] == 0


def test_a_refused_request_with_a_valid_id_gets_its_id_back():
    r = reply(broker(), {"cmd": "replay", "id": "r9", "from_seq": "x"})
    assert r["ok"] is False and r["id"] == "r9"


def test_an_account_command_without_a_terminal_names_the_backend_it_runs():
    r = reply(broker(terminal="ea"), {"cmd": "account", "id": "a"})
    assert r["ok"] is False and r["id"] == "a"
    assert r["error"] == ("account: this gateway has no terminal (it runs --terminal ea); account and trading "
                          "commands need paper, metatrader5 or mt5linux")


class Trader:
    def __init__(self, answer, healthy=True):
        self.answer, self.calls = answer, []
        self.orders = type("O", (), {"healthy": lambda s: healthy, "status": lambda s: {"error": "order log damaged"},
                                     "maintain": lambda s: None, "close": lambda s: None})()

    def handle(self, req, client):
        self.calls.append((req["cmd"], client))
        return self.answer

    def state(self):
        return {"enabled": True}


def test_account_replies_pass_the_traders_fields_and_client_through():
    b = broker()
    b.trader = Trader({"ok": True, "balance": 10.0})
    r = reply(b, {"cmd": "account", "id": "a"}, client="KEY")
    assert r == {"ok": True, "id": "a", "balance": 10.0} and b.trader.calls == [("account", "KEY")]
    b.trader = Trader({"ok": False, "error": "refused", "retcode": 10019})
    r = reply(b, {"cmd": "account", "id": "b"})
    assert r == {"ok": False, "id": "b", "error": "refused", "retcode": 10019}


def test_a_damaged_order_log_makes_the_gateway_unhealthy():
    b = broker()
    b.trader = Trader({"ok": True}, healthy=False)
    assert b.problems() == ["order log damaged"] and b.healthy() is False
    assert reply(b, {"cmd": "status"})["trading"] == {"enabled": True}


def test_an_exception_while_handling_is_an_internal_error_reply_never_a_raise(caplog):
    b = broker()
    b.trader = Trader(None)
    b.trader.handle = lambda req, client: 1 / 0
    with caplog.at_level(logging.ERROR, logger="mt5mesh-gateway"):
        out = b.handle([b'{"cmd": "account", "id": "x"}'])
    assert out == INTERNAL_ERROR and b.counters["errors"] == 1 and b.counters["rejected"] == 1
    assert "REP: internal error (1 so far): ZeroDivisionError: division by zero" in caplog.text


def test_internal_errors_are_logged_ten_times_then_every_ten_thousandth(caplog):
    b = broker()
    with caplog.at_level(logging.ERROR, logger="mt5mesh-gateway"):
        for _i in range(20000):
            b._internal_error("X", ValueError("v"))
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 12 and "(10 so far)" in logged[9] and "(10000 so far)" in logged[10] and "(20000 so far)" in logged[11]


def test_an_action_ping_and_heartbeat_say_whether_the_terminal_is_connected():
    b = broker()
    b.source = type("S", (), {"status": lambda s: {"name": "mt5linux", "connected": False}})()
    assert reply(b, {"action": "PING", "req_id": "q1"})["status"] == "ERROR"
    r = reply(b, {"action": "HEARTBEAT", "req_id": "q2"})
    assert r["req_id"] == "q2" and r["status"] == "ERROR" and r["error"] == "terminal mt5linux is not connected"
    b.source = type("S", (), {"status": lambda s: {"name": "mt5linux", "connected": True}})()
    assert reply(b, {"action": "PING"})["status"] == "PONG"
    r = reply(b, {"action": "HEARTBEAT", "req_id": "q3"})
    assert r["status"] == "SUCCESS" and r["data"] == {"epoch": b.epoch, "seq": 0, "terminal": "mt5linux"}


def test_an_action_request_that_cannot_map_is_answered_in_its_dialect():
    b = broker()
    r = reply(b, {"action": "OPEN_ORDER", "req_id": "q1"})
    assert r["req_id"] == "q1" and r["status"] == "ERROR" and b.counters["rejected"] == 1


# --- publishing --------------------------------------------------------------------------------

def test_a_tick_goes_to_the_journal_before_the_wire_and_into_the_ring():
    order = []
    j = Journal()
    j.event = lambda seq, payload: order.append(("journal", seq))
    b = broker(journal=j)
    b.pub.send_multipart = lambda frames, copy=True: order.append(("wire", json.loads(bytes(frames[1]))["seq"]))
    b.publish("EURUSD", 1.1, 1.2, ts=5.0)
    assert order == [("journal", 1), ("wire", 1)] and b.ring.slice(1, 1) == [b.latest["EURUSD"]]
    assert b.counters["published"] == 1 and b.seq == 1


def test_a_tick_without_a_time_is_stamped_now_and_extra_fields_are_kept():
    b = broker()
    b.publish("EURUSD", 1.1, 1.2, extra={"time_msc": 5})
    ev = json.loads(b.latest["EURUSD"])
    assert abs(ev["ts"] - time.time()) < 5 and ev["time_msc"] == 5


def test_the_legacy_stream_gets_one_json_frame_per_tick():
    b = broker()
    b.legacy = Pub()
    b.publish("EURUSD", 1.1, 1.2, ts=5.0)
    assert json.loads(b.legacy.sent[0]) == {"type": "TICK", "symbol": "EURUSD", "bid": 1.1, "ask": 1.2, "time": 5.0}


def test_a_new_symbol_past_the_limit_is_refused_and_a_known_one_still_published():
    b = broker()
    b.latest = {"S%d" % i: b"{}" for i in range(MAX_SYMBOLS)}
    with pytest.raises(protocol.ProtocolError, match="more than 1000 distinct symbols"):
        b.publish("NEW", 1.0, 2.0)
    assert b.seq == 0
    b.publish("S1", 1.0, 2.0, ts=1.0)
    assert b.seq == 1


def test_a_trade_event_shares_the_seq_stream():
    b = broker()
    b.publish("EURUSD", 1.1, 1.2, ts=5.0)
    b.publish_trade("EURUSD", {"trade": "fill", "retcode": 10009})
    topic, payload = b.pub.sent[-1]
    ev = json.loads(bytes(payload))
    assert topic == b"trade.EURUSD" and ev["seq"] == 2 and ev["trade"] == "fill" and b.ring.slice(2, 1)[0] == payload


def test_a_heartbeat_carries_epoch_and_seq_and_feeds_the_metrics():
    b = broker()
    seen = []
    b.metrics = type("M", (), {"publish": lambda s, snap: seen.append(snap)})()
    b.seq = 4
    b.heartbeat()
    topic, payload = b.pub.sent[-1]
    assert topic == b"hb" and json.loads(payload)["seq"] == 4 and b.counters["heartbeats"] == 1 and len(seen) == 1


def test_a_valid_push_is_published_and_a_bad_one_dropped_and_counted(caplog):
    b = broker(terminal="ea")
    b.push([json.dumps({"symbol": "EURUSD", "bid": 1.1, "ask": 1.2, "ts": 3.0}).encode()])
    assert b.counters["pushed"] == 1 and b.seq == 1 and json.loads(b.latest["EURUSD"])["ts"] == 3.0
    with caplog.at_level(logging.WARNING, logger="mt5mesh-gateway"):
        b.push([b"{}"])
    assert b.counters["dropped"] == 1 and b.counters["pushed"] == 1 and "PULL: rejected push (1 so far)" in caplog.text


def test_a_push_that_breaks_the_broker_is_dropped_never_raised():
    b = broker(terminal="ea")
    b.pub.send_multipart = lambda frames, copy=True: 1 / 0
    b.push([json.dumps({"symbol": "EURUSD", "bid": 1.1, "ask": 1.2}).encode()])
    assert b.counters["dropped"] == 1 and b.counters["errors"] == 1 and b.counters["pushed"] == 0


def test_rejected_pushes_are_logged_ten_times_then_every_ten_thousandth(caplog):
    b = broker(terminal="ea")
    with caplog.at_level(logging.WARNING, logger="mt5mesh-gateway"):
        for _i in range(10000):
            b.push([b"x"])
    assert len(caplog.records) == 11 and "(10000 so far)" in caplog.records[-1].getMessage()


# --- journal hand-offs ------------------------------------------------------------------------

def test_a_new_segment_opens_with_the_whole_restart_state_and_drops_what_the_ring_no_longer_needs():
    j = Journal()
    b = broker(journal=j, ring_size=3)
    b.source = type("S", (), {"cursors": lambda s: {"EURUSD": [5, 1]}})()
    for _i in range(5):
        b.publish("EURUSD", 1.0, 2.0, ts=1.0)
    b.start_journal()
    assert j.starts[-1] == (6, {"epoch": b.epoch, "seq": 5, "cursors": {"EURUSD": [5, 1]}})
    b._roll_journal()
    assert j.dropped == [3]
    j.new_segment = False
    b._roll_journal()
    assert j.dropped == [3]


def test_without_a_journal_or_cursors_nothing_is_started_and_cursors_are_empty():
    b = broker()
    b.start_journal()
    assert b.checkpoint() == {"epoch": b.epoch, "seq": 0, "cursors": {}}


def test_a_restored_journal_continues_its_epoch_seq_ring_and_latest():
    events = [(1, protocol.tick(9, 1, 1.0, "EURUSD", 1.0, 2.0)[1]), (2, protocol.tick(9, 2, 2.0, "GBPUSD", 1.5, 2.5)[1])]
    loaded = Loaded(9, events, {}, {}, [])
    b = Broker(cfg(symbols="EURUSD,GBPUSD"), restored=loaded)
    assert (b.epoch, b.seq) == (9, 2) and b.ring.slice(1, 2) == [events[0][1], events[1][1]]
    assert set(b.latest) == {"EURUSD", "GBPUSD"}


# --- reading subscribers and requests ------------------------------------------------------------

@pytest.mark.parametrize("messages, wanted", [
    ([b"\x01hb"], True), ([b"\x01"], True), ([b"\x01h"], True), ([b"\x01tick.EURUSD"], False),
    ([b"\x00hb"], False), ([b"\x01hbx"], False), ([], False), ([b"\x01tick.X", b"\x01hb"], True)])
def test_a_heartbeat_subscription_is_any_prefix_of_the_hb_topic(messages, wanted):
    b = broker()
    b.pub = Pub(incoming=messages)
    assert b._heartbeat_subscribed() is wanted and b.pub.incoming == []


def test_reading_subscriptions_is_bounded():
    b = broker()
    b.pub = Pub(incoming=[b"\x01x"] * 5)
    b._heartbeat_subscribed(budget=3)
    assert len(b.pub.incoming) == 2


class Sock:
    def __init__(self, n):
        self.left = n

    def recv_multipart(self, flags=0, copy=True):
        if not self.left:
            raise zmq.Again()
        self.left -= 1
        return [b"m"]


def test_a_drain_stops_at_its_budget():
    got = []
    Broker._drain(Sock(10), got.append, 4, 1)
    assert len(got) == 4


def test_a_drain_stops_at_the_turn_deadline_checking_the_clock_every_nth_message(monkeypatch):
    got, clock = [], [100.0]
    monkeypatch.setattr(broker_mod.time, "monotonic", lambda: clock[0])

    def handle(frames):
        got.append(frames)
        clock[0] += 0.01  # each message costs 10 ms: past the 20 ms turn after the 2nd
    Broker._drain(Sock(100), handle, 1000, 1)
    assert len(got) == 2
    got.clear()
    clock[0] = 100.0
    Broker._drain(Sock(100), handle, 1000, 5)
    assert len(got) == 5


def test_pushes_past_the_turn_deadline_stop_at_the_100th_the_clock_is_read_every_100(monkeypatch):
    b = broker(terminal="ea")
    b.pull = Sock(250)
    clock = [100.0]
    monkeypatch.setattr(broker_mod.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(b, "push", lambda frames: clock.__setitem__(0, clock[0] + 1.0))  # each far past the turn
    b._drain_pull()
    assert clock[0] == 200.0  # 100 pushes, then the first clock check ended the turn


class Frame:
    def __init__(self, data, user=None, fail=False):
        self.bytes, self.user, self.fail = data, user, fail

    def get(self, key):
        if self.fail:
            raise zmq.ZMQError()
        return self.user


def test_with_curve_the_client_is_the_zap_user_id_and_without_it_none():
    b = broker()
    b.trader = Trader({"ok": True})
    b.rep = Pub()
    b.curve = ("pub", "sec", "dir")
    b._serve_one([Frame(b'{"cmd": "account", "id": "a"}', user="CLIENTKEY")])
    b._serve_one([Frame(b'{"cmd": "account", "id": "b"}', user="")])
    b._serve_one([Frame(b'{"cmd": "account", "id": "c"}', fail=True)])
    b.curve = None
    b._serve_one([Frame(b'{"cmd": "account", "id": "d"}', user="IGNORED")])
    assert b.trader.calls == [("account", "CLIENTKEY"), ("account", None), ("account", None), ("account", None)]
    assert len(b.rep.sent) == 4


def test_splice_inserts_raw_json_as_the_last_key():
    assert _splice(b'{"ok":true}', b"ticks", b"[1,2]") == b'{"ok":true,"ticks":[1,2]}'


# --- the loop, on real sockets -----------------------------------------------------------------

class Loop:
    """A broker serving on loopback in a thread, on its own context."""

    def __init__(self, heartbeat):
        self.rep, self.pub = free_port(), free_port()
        self.ctx = zmq.Context()
        self.broker = Broker(cfg(rep="tcp://127.0.0.1:%d" % self.rep, pub="tcp://127.0.0.1:%d" % self.pub,
                                 heartbeat=heartbeat), ctx=self.ctx)
        from mt5mesh.gateway.sources import SyntheticSource
        self.broker.source = SyntheticSource(["EURUSD"], 50.0, 1)
        self.broker.open()
        # Three missed heartbeats (and at least a second, for a loaded machine) is a stalled loop.
        self.stall_s = max(1.0, 3 * heartbeat)
        self._beats, self._beat_seen = 0, time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.broker.serve, args=(self.stop,), daemon=True)
        self.thread.start()

    def turning(self):
        """False once the loop has ended or stopped turning: a serving loop never ends by itself,
        and it sends a heartbeat every interval. A broken loop fails its test at once, not at the
        test's deadline (mutation runs every such mutant)."""
        beats = self.broker.counters["heartbeats"]
        if beats != self._beats:
            self._beats, self._beat_seen = beats, time.monotonic()
        stalled = time.monotonic() - self._beat_seen > self.stall_s
        return self.thread.is_alive() and not stalled

    def ready(self, sock, timeout_s):
        """True when `sock` has a message within `timeout_s` while the loop is turning."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.turning():
            if sock.poll(20):
                return True
        return False

    def until(self, cond, timeout_s):
        """Waits for `cond()` the same way: at most `timeout_s`, while the loop is turning."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not cond() and self.turning():
            time.sleep(0.02)
        return cond()

    def close(self):
        self.stop.set()
        self.thread.join(2)  # a turning loop ends within one 0.1 s poll
        self.broker.close()
        if not self.thread.is_alive():
            self.ctx.destroy(0)


@pytest.fixture
def serving():
    """Starts a Loop (heartbeat seconds); stopped and closed after the test."""
    made = []

    def start(heartbeat):
        made.append(Loop(heartbeat))
        return made[-1]
    yield start
    for loop in made:
        loop.close()


def sockets(kind, url, n=1):
    ctx = zmq.Context.instance()
    out = []
    for _i in range(n):
        s = ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(url)
        out.append(s)
    return out


def test_the_loop_answers_requests_and_keeps_the_heartbeat_cadence(serving):
    loop = serving(0.1)
    req, = sockets(zmq.REQ, "tcp://127.0.0.1:%d" % loop.rep)
    sub, = sockets(zmq.SUB, "tcp://127.0.0.1:%d" % loop.pub)
    try:
        req.send(b'{"cmd": "ping"}')
        assert loop.ready(req, 2) and json.loads(req.recv())["ok"] is True
        sub.setsockopt(zmq.SUBSCRIBE, b"hb")
        assert loop.ready(sub, 2)
        sub.recv_multipart()
        beats = []
        deadline = time.monotonic() + 0.55
        while time.monotonic() < deadline:
            if sub.poll(50):
                sub.recv_multipart()
                beats.append(time.monotonic())
        assert 3 <= len(beats) <= 8, beats  # one each 0.1 s, with room for a loaded machine
        assert loop.broker.counters["published"] > 10 and loop.broker.counters["clients"] >= 1
    finally:
        req.close(0)
        sub.close(0)


def test_a_new_heartbeat_subscriber_is_greeted_at_once_not_at_the_next_interval(serving):
    loop = serving(1.0)
    first, second = sockets(zmq.SUB, "tcp://127.0.0.1:%d" % loop.pub, 2)
    try:
        first.setsockopt(zmq.SUBSCRIBE, b"hb")
        assert loop.ready(first, 3)
        first.recv_multipart()
        # A regular heartbeat is now a second away; a new subscriber's greeting is not.
        t0 = time.monotonic()
        second.setsockopt(zmq.SUBSCRIBE, b"hb")
        assert loop.ready(second, 0.9), "no heartbeat within 0.9 s of subscribing"
        waited = time.monotonic() - t0
        assert waited < 0.5, "a new heartbeat subscriber waited %.3fs" % waited
    finally:
        first.close(0)
        second.close(0)


def test_open_binds_each_socket_with_its_limits_and_names_them_in_the_log(caplog):
    rep, pub, pull, legacy = free_port(), free_port(), free_port(), free_port()
    b = Broker(cfg(rep="tcp://127.0.0.1:%d" % rep, pub="tcp://127.0.0.1:%d" % pub, pull="tcp://127.0.0.1:%d" % pull,
                   legacy_pub="tcp://127.0.0.1:%d" % legacy, terminal="ea", pub_hwm=777, ring_size=99))
    with caplog.at_level(logging.INFO, logger="mt5mesh-gateway"):
        b.open()
    try:
        assert (b.rep.getsockopt(zmq.SNDHWM), b.rep.getsockopt(zmq.MAXMSGSIZE), b.rep.getsockopt(zmq.LINGER)) == (
            broker_mod.REP_SNDHWM, protocol.MAX_REQUEST_BYTES, 0)
        assert (b.pub.getsockopt(zmq.SNDHWM), b.pub.getsockopt(zmq.MAXMSGSIZE)) == (777, broker_mod.PUB_MAX_IN_BYTES)
        assert b.pub.type == zmq.XPUB and b.pull.type == zmq.PULL and b.legacy.type == zmq.PUB
        assert (b.legacy.getsockopt(zmq.SNDHWM), b.legacy.getsockopt(zmq.MAXMSGSIZE)) == (777, broker_mod.PUB_MAX_IN_BYTES)
        assert b.pull.getsockopt(zmq.MAXMSGSIZE) == protocol.MAX_REQUEST_BYTES
        assert ("gateway %s epoch %d: REP tcp://127.0.0.1:%d, PUB tcp://127.0.0.1:%d, PULL tcp://127.0.0.1:%d, ring 99"
                % (__version__, b.epoch, rep, pub, pull)) in caplog.text
    finally:
        b.close()


def test_a_terminal_gateway_opens_no_pull_and_no_legacy_stream_unless_asked():
    b = Broker(cfg(rep="tcp://127.0.0.1:%d" % free_port(), pub="tcp://127.0.0.1:%d" % free_port(), terminal="paper"))
    b.open()
    try:
        assert b.pull is None and b.legacy is None
    finally:
        b.close()


def test_a_busy_port_is_a_clear_error_naming_the_socket():
    from mt5mesh.service import ServiceError
    port = free_port()
    first = Broker(cfg(rep="tcp://127.0.0.1:%d" % port, pub="tcp://127.0.0.1:%d" % free_port()))
    first.open()
    try:
        second = Broker(cfg(rep="tcp://127.0.0.1:%d" % free_port(), pub="tcp://127.0.0.1:%d" % port))
        with pytest.raises(ServiceError, match="PUB: port already in use: tcp://127.0.0.1:%d" % port):
            second.open()
        second.close()
    finally:
        first.close()


def test_connected_subscribers_are_counted_and_uncounted(serving):
    loop = serving(0.1)
    subs = sockets(zmq.SUB, "tcp://127.0.0.1:%d" % loop.pub, 2)
    assert loop.until(lambda: loop.broker.counters["clients"] == 2, 3)
    for s in subs:
        s.close(0)
    assert loop.until(lambda: loop.broker.counters["clients"] == 0, 3)


class LeavingPub:
    """The broker's PUB, whose close first lets a subscriber leave: its DISCONNECTED event is
    raised after the monitor's reader is closed, the order a loaded machine can produce."""

    def __init__(self, pub, sub):
        self._pub, self._sub = pub, sub

    def __getattr__(self, name):
        return getattr(self._pub, name)

    def close(self, linger=None):
        self._sub.close(0)
        time.sleep(0.3)  # the I/O thread sees the peer leave while the PUB is still open
        self._pub.close(linger)


def test_a_subscriber_leaving_while_the_broker_closes_leaves_the_contexts_io_thread_working():
    ctx = zmq.Context()  # its own: a blocked I/O thread must not take the other tests' context down
    b = Broker(cfg(rep="tcp://127.0.0.1:%d" % free_port(), pub="tcp://127.0.0.1:%d" % free_port()), ctx=ctx)
    b.open()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(b.cfg["pub"])
    assert b.pub.poll(3000)  # its subscription arrived: the handshake is over, a leave is an event
    time.sleep(0.3)  # and the monitor's own pipe is settled (sooner, libzmq drops the event instead)
    b.pub = LeavingPub(b.pub, sub)
    b.close()
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push.connect("tcp://127.0.0.1:%d" % port)
    push.send(b"after")
    delivered = pull.poll(3000)
    for s in (pull, push):
        s.close(0)
    assert delivered, "the context's I/O thread is blocked: no new connection completes"
    ctx.term()  # only once it is known to work: a blocked I/O thread would hang term()


# --- between two terminal calls of one long command; the EA's PULL socket; status exactly -----

class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_idle_sends_only_a_due_heartbeat_and_sets_the_next_one_a_heartbeat_later(monkeypatch):
    b = broker(heartbeat=0.5)
    clock = Clock(100.0)
    monkeypatch.setattr(broker_mod.time, "monotonic", clock)
    b.next_hb = 100.25
    b.idle()
    assert b.pub.sent == [] and b.next_hb == 100.25  # not due yet
    clock.now = 100.25
    b.idle()  # due at exactly its time
    assert len(b.pub.sent) == 1 and b.pub.sent[0][0] == protocol.TOPIC_HEARTBEAT and b.next_hb == 100.75
    assert b.counters["heartbeats"] == 1
    clock.now = 100.5
    b.idle()
    assert len(b.pub.sent) == 1 and b.next_hb == 100.75


def test_idle_before_the_sockets_are_open_sends_nothing_and_raises_nothing(monkeypatch):
    b = Broker(cfg())
    monkeypatch.setattr(broker_mod.time, "monotonic", Clock(1e9))
    b.idle()
    assert b.pub is None and b.counters["heartbeats"] == 0


def test_pushes_waiting_on_the_pull_socket_are_all_published_in_order_and_counted():
    b = broker(terminal="ea")
    ctx = zmq.Context.instance()
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    try:
        # inproc: each push is in the PULL socket's pipe once send returns, so one drain must
        # take all five, with no wait that a broken drain would sit out.
        url = "inproc://pushes-%d" % id(b)
        pull.bind(url)
        push.connect(url)
        for i in range(5):
            push.send(json.dumps({"symbol": "EURUSD", "bid": 1.0 + i, "ask": 2.0 + i, "ts": 10.0 + i}).encode())
        pull.setsockopt(zmq.RCVTIMEO, 500)  # a drain that waited would block the loop: bounded here
        b.pull = pull
        t0 = time.monotonic()
        b._drain_pull()
        assert time.monotonic() - t0 < 0.4, "a drain waited for more instead of returning"
        assert b.counters["pushed"] == 5 and b.seq == 5
        ticks = [json.loads(frames[1]) for frames in b.pub.sent]
        assert [(t["bid"], t["ask"], t["ts"]) for t in ticks] == [(1.0 + i, 2.0 + i, 10.0 + i) for i in range(5)]
        b._drain_pull()  # nothing left: returns at once
        assert b.counters["pushed"] == 5
    finally:
        pull.close(0)
        push.close(0)


def test_a_push_publishes_its_own_bid_and_ask():
    b = broker(terminal="ea")
    b.push([json.dumps({"symbol": "EURUSD", "bid": 1.25, "ask": 1.5, "ts": 3.0}).encode()])
    t = json.loads(b.pub.sent[-1][1])
    assert (t["symbol"], t["bid"], t["ask"], t["ts"], t["epoch"], t["seq"]) == ("EURUSD", 1.25, 1.5, 3.0, b.epoch, 1)


def test_uptime_is_seconds_since_start_to_the_millisecond(monkeypatch):
    b = broker()
    monkeypatch.setattr(broker_mod.time, "monotonic", Clock(b.started + 12.34567))
    assert b.uptime() == 12.346


def test_status_carries_epoch_seq_uptime_and_the_rings_bounds_exactly():
    b = broker()
    for i in range(3):
        b.publish("EURUSD", 1.0, 1.1, ts=float(i))
    r = reply(b, {"cmd": "status", "id": "s"})
    assert (r["id"], r["epoch"], r["seq"], r["ring_oldest"], r["ring_size"]) == ("s", b.epoch, 3, b.ring.oldest, b.ring.size)
    assert r["ring_oldest"] == 1 and isinstance(r["uptime_s"], float) and r["published"] == 3


def test_the_rep_command_table_answers_exactly_the_protocols_commands():
    b = Broker(cfg())
    assert sorted(b.commands) == sorted(protocol.COMMANDS)
    assert all(b.commands[c] == b._account_command for c in protocol.READ_COMMANDS + protocol.TRADE_COMMANDS)
