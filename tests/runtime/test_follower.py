"""The nexus follower's decisions (nexus/follower.py) on scripted gateway replies: resync, the
stream, gaps, lost ring segments, probes and what is handed to the writer. The gateway client,
the writer's queue and the proxy socket are fakes (unit level); the real sockets are exercised
by tests/integration/test_runtime.py."""
import logging
import threading
import time

import pytest

from mt5mesh.nexus import rows
from mt5mesh.nexus.follower import Follower, _int
from mt5mesh.nexus.health import Metrics
from mt5mesh.nexus.messages import Batch, Latest, Record
from mt5mesh.nexus.schema_config import SCHEMA
from mt5mesh.wire import protocol
from mt5mesh.wire.breaker import OPEN
from mt5mesh.wire.lazy_pirate import GatewayUnavailable


class Client:
    """Scripted gateway: ``replies[cmd]`` is a reply dict, a list of them (one per call), an
    exception to raise, or a function of the call's fields."""

    def __init__(self, **replies):
        self.replies, self.calls = replies, []

    def call(self, cmd, **fields):
        self.calls.append((cmd, fields))
        r = self.replies[cmd]
        if isinstance(r, list):
            r = r.pop(0)
        if isinstance(r, Exception):
            raise r
        return r(**fields) if callable(r) else r

    def close(self):
        pass


class Stores:
    def __init__(self, why_not=None):
        self.items, self.why_not = [], why_not
        self.lost = []  # what the writer found lost after a commit, taken once

    def take_refills(self):
        out, self.lost = self.lost, []
        return out

    def put(self, item):
        self.items.append(item)
        return self.why_not

    def of(self, kind):
        return [i for i in self.items if isinstance(i, kind)]


class Xpub:
    def __init__(self):
        self.sent = []

    def send(self, frame, flags=0):
        self.sent.append((frame, flags))


def cfg(**kw):
    out = {o.name: o.default for o in SCHEMA}
    out.update(kw)
    return out


def follower(client, stores=None, **kw):
    f = Follower(cfg(**kw), Metrics(), threading.Event(), stores or Stores())
    f.client = client
    f.xpub = Xpub()
    return f


def tick(epoch, seq, symbol="EURUSD", bid=1.1):
    return {"epoch": epoch, "seq": seq, "ts": 1767139200.0 + seq, "symbol": symbol, "bid": bid, "ask": bid + 0.0002}


def frames(ev):
    return protocol.event_frames(ev)


def row(ev):
    return (ev["epoch"], ev["seq"], ev["symbol"], ev["ts"], ev["bid"], ev["ask"])


def snapshot(epoch, seq, ticks=()):
    return {"ok": True, "epoch": epoch, "seq": seq, "ticks": list(ticks)}


def replay_from(epoch, head):
    """A gateway that holds every event 1..head of ``epoch``."""
    def replay(from_seq, limit, **_):
        last = min(head, from_seq + limit - 1)
        return {"ok": True, "epoch": epoch, "events": [tick(epoch, s) for s in range(from_seq, last + 1)]}
    return replay


def batches(stores):
    return [r for item in stores.of(Batch) for r in item.rows]


# --- resync ----------------------------------------------------------------------------------

def test_a_checkpoint_in_the_same_epoch_resumes_right_after_it_and_replays_up_to_the_snapshot_head():
    stores = Stores()
    f = follower(Client(snapshot=snapshot(7, 12, [tick(7, 12, "GBPUSD")]), replay=replay_from(7, 12)), stores)
    assert f._resync((7, 9)) is True
    assert f.client.calls[1] == ("replay", {"from_seq": 10, "limit": 3})
    f._flush()
    assert [r[1] for r in batches(stores)] == [10, 11, 12]
    assert stores.items[0] == Latest({"GBPUSD": protocol.encode(tick(7, 12, "GBPUSD"))})
    assert (f.state, f.seq.epoch, f.seq.next_seq, f.seq.head) == ("running", 7, 13, 12)
    assert f.counts["epoch_changes"] == 0 and f.counts["replayed"] == 3 and f.counts["gaps_filled"] == 1
    assert f.need_resync is False


def test_a_new_epoch_starts_at_seq_1_and_records_the_epoch_change_with_both_ends():
    stores = Stores()
    f = follower(Client(snapshot=snapshot(8, 2), replay=replay_from(8, 2)), stores)
    assert f._resync((7, 40)) is True
    assert f.client.calls[1] == ("replay", {"from_seq": 1, "limit": 2})
    assert stores.of(Record) == [Record("epoch_change", 8, 40, 2,
                                        "gateway restarted: epoch 7 ended at seq 40, epoch 8 at seq 2")]
    assert f.counts["epoch_changes"] == 1
    assert f.metrics.epoch_changes._value.get() == 1


def test_a_fresh_start_begins_at_seq_1_without_an_epoch_change_or_a_gap_filled():
    stores = Stores()
    f = follower(Client(snapshot=snapshot(3, 0), replay=replay_from(3, 0)), stores)
    assert f._resync((None, 0)) is True
    assert f.seq.next_seq == 1 and stores.of(Record) == [] and f.counts["epoch_changes"] == 0
    assert f.counts["gaps_filled"] == 0 and f.metrics.gaps_filled._value.get() == 0
    assert [c[0] for c in f.client.calls] == ["snapshot"]  # nothing to replay: head 0


def test_an_unreachable_gateway_leaves_the_follower_waiting_and_unsynced():
    f = follower(Client(snapshot=GatewayUnavailable("no reply")))
    assert f._resync((None, 0)) is False
    assert f.state == "waiting_gateway" and f.seq is None


def test_a_refused_snapshot_is_not_a_sync():
    f = follower(Client(snapshot={"ok": False, "error": "busy"}))
    assert f._resync((None, 0)) is False and f.seq is None and f.counts["malformed"] == 0


@pytest.mark.parametrize("snap", [
    {"ok": True, "epoch": "7", "seq": 1, "ticks": []},
    {"ok": True, "epoch": 7, "seq": True, "ticks": []},
    {"ok": True, "epoch": 7, "seq": -1, "ticks": []},
    {"ok": True, "epoch": 7, "seq": 1, "ticks": "x"},
    {"ok": True, "epoch": 7, "seq": 1, "ticks": [{"symbol": "EURUSD"}]},
])
def test_a_malformed_snapshot_is_counted_malformed_and_never_synced_to(snap):
    f = follower(Client(snapshot=snap))
    assert f._resync((None, 0)) is False
    assert f.seq is None and f.counts["malformed"] == 1 and f.metrics.malformed._value.get() == 1


def test_non_dict_entries_of_the_snapshot_ticks_are_ignored():
    stores = Stores()
    f = follower(Client(snapshot=snapshot(1, 0, ["junk", 5, tick(1, 1)])), stores)
    assert f._resync((None, 0)) is True
    assert list(stores.items[0].latest) == ["EURUSD"]


# --- the stream ------------------------------------------------------------------------------

def synced(head=0, stores=None, **kw):
    f = follower(Client(snapshot=snapshot(1, head), replay=replay_from(1, head)), stores, **kw)
    assert f._resync((None, 0))
    return f


def test_an_accepted_tick_goes_into_the_batch_with_its_wire_payload_as_the_latest():
    f = synced()
    ev = tick(1, 1)
    fr = frames(ev)
    f._on_event(fr)
    assert f.batch == [row(ev)] and f.batch_latest == {"EURUSD": fr[1]}
    assert f.seq.next_seq == 2 and f.counts["tick"] == 1 and f.batch_since is not None


def test_a_tick_seen_twice_is_counted_a_duplicate_and_kept_once():
    f = synced()
    f._on_event(frames(tick(1, 1)))
    f._on_event(frames(tick(1, 1)))
    assert len(f.batch) == 1 and f.counts["duplicates"] == 1 and f.metrics.duplicates._value.get() == 1


def test_a_malformed_event_is_counted_and_changes_nothing_else():
    f = synced()
    before = f.last_event_at
    f._on_event([b"tick.EURUSD", b"{not json"])
    f._on_event([b"only one frame"])
    assert f.counts["malformed"] == 2 and f.batch == [] and f.last_event_at == before


def test_a_gap_is_replayed_then_the_live_tick_that_revealed_it_is_kept_in_order():
    f = synced()
    f.client.replies["replay"] = replay_from(1, 4)
    f._on_event(frames(tick(1, 1)))
    f._on_event(frames(tick(1, 5)))
    assert [r[1] for r in f.batch] == [1, 2, 3, 4, 5]
    assert f.client.calls[-1] == ("replay", {"from_seq": 2, "limit": 3})


def test_a_heartbeat_ahead_of_the_stream_fills_the_gap_and_adds_nothing_of_its_own():
    f = synced()
    f.client.replies["replay"] = replay_from(1, 3)
    f._on_event(protocol.heartbeat(1, 3, 1767139300.0))
    assert [r[1] for r in f.batch] == [1, 2, 3] and f.counts["hb"] == 1


def test_a_trade_event_shares_the_batch_and_is_not_a_latest_tick():
    f = synced()
    fields = {"trade": "fill", "cmd": "order_send", "retcode": 10009}
    f._on_event(protocol.trade(1, 1, 1767139200.5, "EURUSD", fields))
    assert len(f.batch) == 1 and isinstance(f.batch[0], rows.Trade)
    assert f.batch[0][:4] == (1, 1, "EURUSD", 1767139200.5) and f.batch[0].event["retcode"] == 10009
    assert f.batch_latest == {}


def test_a_full_batch_is_handed_over_at_batch_size_not_before():
    stores = Stores()
    f = synced(stores=stores, batch_size=3)
    for s in (1, 2):
        f._on_event(frames(tick(1, s)))
    assert stores.of(Batch) == []
    f._on_event(frames(tick(1, 3)))
    assert [[r.seq for r in b.rows] for b in stores.of(Batch)] == [[1, 2, 3]] and f.batch == []
    assert stores.of(Batch)[0].latest == {"EURUSD": frames(tick(1, 3))[1]}


def test_ticks_are_re_published_on_the_proxy_only_while_someone_subscribes():
    f = synced()
    f._on_event(frames(tick(1, 1)))
    assert f.xpub.sent == []
    f.proxy_subscriptions = 1
    fr = frames(tick(1, 2))
    f._on_event(fr)
    assert f.xpub.sent == [(fr[0], protocol_sndmore()), (fr[1], 0)]


def protocol_sndmore():
    import zmq
    return int(zmq.SNDMORE)


def test_a_replayed_tick_is_re_encoded_byte_identical_for_the_proxy():
    f = synced()
    f.proxy_subscriptions = 2
    f.client.replies["replay"] = replay_from(1, 2)
    f._on_event(protocol.heartbeat(1, 2, 1767139300.0))
    assert [s[0] for s in f.xpub.sent] == frames(tick(1, 1)) + frames(tick(1, 2))


def test_an_event_of_another_epoch_resyncs_and_keeps_the_event_when_it_is_next():
    stores = Stores()
    f = synced(stores=stores)
    f._on_event(frames(tick(1, 1)))
    f.client.replies["snapshot"] = snapshot(2, 0)
    f._on_event(frames(tick(2, 1)))
    assert f.seq.epoch == 2 and f.batch == [row(tick(2, 1))]
    assert [r[1] for r in batches(stores)] == [1]  # the old epoch's batch was handed over first
    assert stores.of(Record)[0][0:3] == ("epoch_change", 2, 1)


# --- gaps the ring no longer holds -----------------------------------------------------------

def test_a_gap_gone_from_the_ring_skips_past_its_tail_and_is_recorded_once_as_unrecoverable():
    stores = Stores()
    f = synced(stores=stores)
    gone = {"ok": False, "error": "gone", "oldest": 100, "last": 300}
    f.client.replies["replay"] = [gone, {"ok": True, "epoch": 1, "events": [tick(1, s) for s in range(102, 151)]}]
    assert f._fill(1, 150) is True
    # Resumed 1% of the ring past its oldest (100 + 200 // 100): 1..101 lost.
    assert f.client.calls[-1] == ("replay", {"from_seq": 102, "limit": 49})
    recs = stores.of(Record)
    assert recs == [Record("gap_unrecoverable", 1, 1, 101, "seq 1-101 (101 ticks) are gone from the gateway ring")]
    assert f.counts["gaps_unrecoverable"] == 1 and f.counts["ticks_unrecoverable"] == 101
    assert f.unrecoverable[-1]["from_seq"] == 1 and f.unrecoverable[-1]["to_seq"] == 101
    assert f.last_unrecoverable_at is not None and f.metrics.unrecoverable_ticks._value.get() == 101


def test_a_ring_of_one_event_resumes_at_its_oldest_plus_one_never_past_its_last():
    f = synced()
    f.client.replies["replay"] = [{"ok": False, "oldest": 50, "last": 50},
                                  {"ok": True, "epoch": 1, "events": [tick(1, 50)]}]
    assert f._fill(1, 50) is True
    assert f.client.calls[-1] == ("replay", {"from_seq": 50, "limit": 1})


def test_a_refused_replay_without_ring_bounds_fills_nothing():
    f = synced()
    f.client.replies["replay"] = {"ok": False, "error": "busy"}
    assert f._fill(1, 5) is False and f.seq.next_seq == 1 and f.counts["gaps_filled"] == 0


def test_a_replay_from_another_epoch_asks_for_a_resync():
    f = synced()
    f.client.replies["replay"] = {"ok": True, "epoch": 9, "events": [tick(9, 1)]}
    assert f._fill(1, 1) is False and f.need_resync is True and f.batch == []


@pytest.mark.parametrize("events", [[], "x", [tick(1, 2)], [dict(tick(1, 1), bid=-1)]])
def test_an_empty_out_of_order_or_invalid_replay_is_refused(events):
    f = synced()
    f.client.replies["replay"] = {"ok": True, "epoch": 1, "events": events}
    assert f._fill(1, 3) is False and f.batch == []
    assert f.counts["malformed"] == (1 if events and events != "x" else 0)


def test_an_unreachable_gateway_leaves_the_gap_for_later():
    f = synced()
    f.client.replies["replay"] = GatewayUnavailable("no reply")
    assert f._fill(1, 3) is False and f.seq.next_seq == 1


def test_a_fill_stops_when_nexus_is_stopping():
    f = synced()
    f.stop.set()
    f.client.replies["replay"] = replay_from(1, 3)
    assert f._fill(1, 3) is False and f.batch == []


def test_a_long_gap_is_replayed_in_pieces_of_at_most_the_replay_limit(monkeypatch):
    monkeypatch.setattr(protocol, "MAX_REPLAY_LIMIT", 7)  # the real one is pinned in test_limits_pinned
    f = synced(batch_size=1000000)
    f.client.replies["replay"] = replay_from(1, 12)
    assert f._fill(1, 12) is True
    assert [c[1] for c in f.client.calls if c[0] == "replay"] == [{"from_seq": 1, "limit": 7}, {"from_seq": 8, "limit": 5}]


# --- probes ----------------------------------------------------------------------------------

def test_a_probe_finding_the_gateway_ahead_fills_up_to_its_seq():
    f = synced()
    f.client.replies.update(ping={"ok": True, "epoch": 1, "seq": 2}, replay=replay_from(1, 2))
    f._probe_gateway()
    assert [r[1] for r in f.batch] == [1, 2]


def test_a_probe_finding_another_epoch_asks_for_a_resync():
    f = synced()
    f.client.replies["ping"] = {"ok": True, "epoch": 2, "seq": 0}
    f._probe_gateway()
    assert f.need_resync is True


def test_probes_are_at_most_one_a_second_and_an_unreachable_gateway_changes_nothing():
    f = synced()
    f.client.replies["ping"] = [GatewayUnavailable("no"), {"ok": True, "epoch": 2, "seq": 0}]
    f._probe_gateway()
    f._probe_gateway()  # within the second: not sent
    assert [c for c in f.client.calls if c[0] == "ping"] == [("ping", {"retries": 1})]
    assert f.need_resync is False
    f.last_ping_at -= 1.0
    f._probe_gateway()
    assert f.need_resync is True


def test_a_probe_with_the_gateway_not_ahead_replays_nothing(caplog):
    f = synced()
    f.client.replies["ping"] = {"ok": True, "epoch": 1, "seq": 0}
    f.last_event_at -= 10.0
    with caplog.at_level(logging.WARNING, logger="mt5mesh-nexus"):
        f._probe_gateway()
    assert [c[0] for c in f.client.calls].count("replay") == 0
    assert "no gateway event for 1" in caplog.text


# --- handing over and the published snapshot ---------------------------------------------------

def test_a_batch_the_writer_cannot_take_is_logged_with_its_size_and_first_seq(caplog):
    stores = Stores(why_not="stores process gone")
    f = synced(stores=stores)
    f._on_event(frames(tick(1, 1)))
    f._on_event(frames(tick(1, 2)))
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        f._flush()
        f._hand_over(Latest({"A": 1, "B": 2}))
    assert "stores process gone: 2 ticks from seq 1 not written" in caplog.text
    assert "stores process gone: Latest message (1 fields) not written" in caplog.text


def test_an_empty_batch_is_never_handed_over():
    stores = Stores()
    f = synced(stores=stores)
    n = len(stores.items)
    f._flush()
    assert len(stores.items) == n


def test_the_published_status_is_a_whole_new_dict_with_the_stream_position():
    f = synced(head=0)
    f._on_event(frames(tick(1, 1)))
    f._publish()
    s = f.status()
    assert (s["state"], s["epoch"], s["next_seq"], s["head"], s["behind"], s["batch_empty"]) == ("running", 1, 2, 1, 0, False)
    assert s["counts"] == {"tick": 1} and s["circuit"] == f.breaker.state and s["unrecoverable"] == ()
    f.breaker.state = OPEN
    f._publish()
    assert f.status() is not s and f.metrics.breaker_open._value.get() == 1


def test_before_any_sync_the_status_has_no_position():
    f = follower(Client())
    s = f.status()
    assert (s["state"], s["epoch"], s["next_seq"], s["head"], s["behind"]) == ("starting", None, None, 0, 0)


@pytest.mark.parametrize("value, ok", [(0, True), (protocol.MAX_SEQ, True), (protocol.MAX_SEQ + 1, False), (-1, False),
                                       (True, False), (1.0, False), ("1", False), (None, False)])
def test_a_peer_sequence_number_is_an_int_in_range_and_never_a_bool(value, ok):
    assert _int(value) is ok


# --- the loop on real sockets (loopback) ----------------------------------------------------

class Msgs:
    """A fake XPUB receiving (un)subscriptions."""

    def __init__(self, *msgs):
        self.msgs = list(msgs)

    def recv(self, flags=0):
        import zmq
        if not self.msgs:
            raise zmq.Again()
        return self.msgs.pop(0)


def test_proxy_subscribers_are_counted_up_and_down_and_never_below_zero():
    f = follower(Client())
    f.xpub = Msgs(b"\x01tick.", b"\x01hb", b"\x00hb", b"\x00x", b"\x00y", b"junk")
    f._track_proxy_subscribers()
    assert f.proxy_subscriptions == 0 and f.xpub.msgs == []
    f.xpub = Msgs(b"\x01a", b"\x01b", b"\x00a")
    f._track_proxy_subscribers()
    assert f.proxy_subscriptions == 1


def test_the_loop_follows_a_live_stream_flushes_by_time_and_hands_the_last_batch_over_at_stop():
    import zmq
    from support.servers import free_port
    ctx = zmq.Context.instance()
    pub_port = free_port()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind("tcp://127.0.0.1:%d" % pub_port)
    stores = Stores()
    # The fake gateway's ring holds all 20, so a tick lost to the subscription's slow start is
    # replayed, as from a real gateway.
    f = follower(Client(snapshot=snapshot(1, 0), replay=replay_from(1, 20), ping={"ok": True, "epoch": 1, "seq": 0}),
                 stores, gateway_sub="tcp://127.0.0.1:%d" % pub_port, xpub="tcp://127.0.0.1:%d" % free_port(),
                 flush_interval=0.05, batch_size=1000)
    f.open()
    t = threading.Thread(target=f.follow, args=((None, 0),), daemon=True)
    try:
        t.start()
        deadline = time.monotonic() + 5
        # A loop that died fails at once, not at the deadline (a mutant's run costs its wait).
        while time.monotonic() < deadline and not f.counts["tick"] and t.is_alive():  # until subscribed
            pub.send_multipart(frames(tick(1, 1)))
            time.sleep(0.02)
        for seq in range(2, 21):
            pub.send_multipart(frames(tick(1, seq)))
            time.sleep(0.01)
        while time.monotonic() < deadline and len(batches(stores)) < 20 and t.is_alive():
            time.sleep(0.02)
        assert [r[1] for r in batches(stores)] == list(range(1, 21))
        assert len(stores.of(Batch)) > 1  # flushed by time, not only at stop
        assert f.status()["state"] == "running" and f.status()["next_seq"] == 21
    finally:
        f.stop.set()
        t.join(5)
        f.close()
        pub.close(0)
    assert not t.is_alive()


# --- the lost tail of a store (a failover to a node without it), written again -----------------

def test_a_lost_tail_is_replayed_and_handed_over_as_a_batch_not_sequenced_nor_republished():
    stores = Stores()
    f = synced(head=500, stores=stores)
    f.proxy_subscriptions = 1
    next_seq, handed = f.seq.next_seq, len(stores.items)
    stores.lost = [(1, 3, 7)]
    f._refill_lost()
    refill = stores.items[handed:]
    assert refill == [Batch([row(tick(1, s)) for s in range(3, 8)], {})]
    assert f.seq.next_seq == next_seq and f.xpub.sent == [] and f.counts["refilled"] == 5
    assert list(f.refills) == [] and ("replay", {"from_seq": 3, "limit": 5}) in f.client.calls


def test_a_long_lost_tail_is_asked_in_replay_limits(monkeypatch):
    # A small limit proves the same split: the real one (pinned in test_limits_pinned) made this one
    # test 6.6 s of 250 000 events, run again by every follower mutant that reached it.
    monkeypatch.setattr(protocol, "MAX_REPLAY_LIMIT", 7)
    stores = Stores()
    limit = protocol.MAX_REPLAY_LIMIT
    f = synced(head=3 * limit, stores=stores)
    stores.lost = [(1, 1, 2 * limit + 5)]
    f._refill_lost()
    asked = [c[1] for c in f.client.calls if c[0] == "replay"][-3:]
    assert asked == [{"from_seq": 1, "limit": limit}, {"from_seq": limit + 1, "limit": limit},
                     {"from_seq": 2 * limit + 1, "limit": 5}]
    assert f.counts["refilled"] == 2 * limit + 5


def test_a_lost_tail_the_ring_no_longer_holds_is_recorded_unrecoverable_and_the_rest_written():
    stores = Stores()
    f = synced(head=20, stores=stores)
    gone = {"ok": False, "error": "events before seq 6 are gone from the ring", "epoch": 1, "oldest": 6, "last": 20}
    f.client.replies["replay"] = [gone, replay_from(1, 20)]
    stores.lost = [(1, 2, 9)]
    f._refill_lost()
    assert stores.of(Record)[-1][0:4] == ("gap_unrecoverable", 1, 2, 5)
    assert stores.of(Batch)[-1] == Batch([row(tick(1, s)) for s in range(6, 10)], {})
    assert f.counts["refilled"] == 4 and f.counts["ticks_unrecoverable"] == 4


def test_a_lost_tail_of_an_epoch_the_gateway_has_left_is_recorded_unrecoverable_without_asking():
    stores = Stores()
    f = synced(head=5, stores=stores)
    calls = len(f.client.calls)
    stores.lost = [(0, 1, 9)]
    f._refill_lost()
    assert stores.of(Record)[-1][0:4] == ("gap_unrecoverable", 0, 1, 9) and len(f.client.calls) == calls
    assert list(f.refills) == []


def test_a_lost_tail_is_tried_again_on_the_next_turn_when_the_gateway_cannot_be_asked():
    stores = Stores()
    f = synced(head=10, stores=stores)
    fail = [GatewayUnavailable("no reply")]

    def replay(**fields):
        if fail:
            raise fail.pop()
        return replay_from(1, 10)(**fields)
    f.client.replies["replay"] = replay
    stores.lost = [(1, 4, 6), (1, 8, 8)]
    f._refill_lost()
    assert list(f.refills) == [(1, 4, 6), (1, 8, 8)] and f.counts["refilled"] == 0
    f._refill_lost()
    assert list(f.refills) == [] and f.counts["refilled"] == 4


def test_a_refill_whose_gateway_restarted_or_refuses_or_sends_junk_is_recorded_unrecoverable():
    for reply in ({"ok": True, "epoch": 2, "events": [tick(2, 4)]}, {"ok": False, "error": "busy"},
                  {"ok": True, "epoch": 1, "events": [tick(1, 5)]}, {"ok": True, "epoch": 1, "events": "x"}):
        stores = Stores()
        f = synced(head=10, stores=stores)
        f.client.replies["replay"] = reply
        stores.lost = [(1, 4, 6)]
        f._refill_lost()
        assert stores.of(Record)[-1][0:4] == ("gap_unrecoverable", 1, 4, 6), reply
        assert f.counts["refilled"] == 0 and list(f.refills) == []


def test_a_refused_replayed_event_is_logged_naming_the_replay_it_came_in(caplog):
    stores = Stores()
    f = synced(head=10, stores=stores)
    f.client.replies["replay"] = {"ok": True, "epoch": 1, "events": [tick(1, 5)]}
    stores.lost = [(1, 4, 6)]
    filling = synced(head=10)
    filling.client.replies["replay"] = {"ok": True, "epoch": 1, "events": [tick(1, 5)]}
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        f._refill_lost()
        filling._fill(2, 3)  # its own follower: the log of refusals is rate-limited per follower
    assert "replay of lost seq 4 refused: replayed event out of order (epoch 1 seq 5, wanted seq 4)" in caplog.text
    assert "replay of 2-3 refused: replayed event out of order (epoch 1 seq 5, wanted seq 11)" in caplog.text


# --- what an operator reads: each refusal logged once with its reason, under its own rate key ----

def _logged(caplog):
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "mt5mesh-nexus"]


def test_the_client_is_built_from_the_config_with_the_followers_own_breaker_context_and_no_curve():
    f = Follower(cfg(gateway_req="tcp://127.0.0.1:1", breaker_threshold=4, breaker_reset=9.0, request_timeout=2.5,
                     request_retries=4), Metrics(), threading.Event(), Stores())
    c = f.client
    assert (c.timeout, c.retries) == (2.5, 4)
    assert (c.zmq, c.url, c.curve, c.ctx, c.breaker) == (__import__("zmq"), "tcp://127.0.0.1:1", None, f.ctx, f.breaker)
    assert (f.breaker.failure_threshold, f.breaker.reset_timeout) == (4, 9.0)
    assert f.curve is None and f.need_resync is False and f.last_ping_at == 0.0 and f.status()["unrecoverable"] == ()


def test_with_curve_keys_the_client_carries_the_client_pair_and_the_servers_public_key(tmp_path):
    import zmq.auth
    csec = zmq.auth.create_certificates(str(tmp_path), "client")[1]
    spub = zmq.auth.create_certificates(str(tmp_path), "server")[0]
    f = Follower(cfg(curve_client_key=csec, curve_server_key=spub), Metrics(), threading.Event(), Stores())
    pub, sec = zmq.auth.load_certificate(csec)
    server = zmq.auth.load_certificate(spub)[0]
    assert f.curve == (pub, sec, server) and f.client.curve == f.curve and f.client.breaker is f.breaker


def test_the_follower_keeps_the_last_10_unrecoverable_gaps_and_the_last_100_lost_tails():
    f = synced(head=0)
    for i in range(12):
        f._unrecoverable(i, i, 1)
    assert [u["from_seq"] for u in f.status()["unrecoverable"]] == []  # published at the next turn
    f._publish()
    assert [u["from_seq"] for u in f.status()["unrecoverable"]] == list(range(2, 12))
    assert f.refills.maxlen == 100


def test_an_unrecoverable_gap_is_logged_counted_and_listed_with_its_epoch_and_both_ends(caplog):
    f = synced(head=0)
    with caplog.at_level(logging.INFO, logger="mt5mesh-nexus"):
        f._unrecoverable(3, 7, 1)
        f._unrecoverable(9, 9)
    assert ("ERROR", "UNRECOVERABLE GAP in epoch 1: seq 3-7 (5 ticks) are gone from the gateway ring") in _logged(caplog)
    assert f.counts["gaps_unrecoverable"] == 2 and f.counts["ticks_unrecoverable"] == 6
    assert [{k: u[k] for k in ("epoch", "from_seq", "to_seq")} for u in f.unrecoverable] == [
        {"epoch": 1, "from_seq": 3, "to_seq": 7}, {"epoch": 1, "from_seq": 9, "to_seq": 9}]


def test_snapshot_troubles_are_logged_with_their_reason_under_the_snap_key(caplog):
    with caplog.at_level(logging.INFO, logger="mt5mesh-nexus"):
        f = follower(Client(snapshot=GatewayUnavailable("no reply")))
        f._resync((None, 0))
        g = follower(Client(snapshot={"ok": False, "error": "busy"}))
        g._resync((None, 0))
        h = follower(Client(snapshot={"ok": True, "epoch": "7", "seq": 1, "ticks": []}))
        h._resync((None, 0))
    assert _logged(caplog) == [
        ("WARNING", "snapshot: no reply"), ("ERROR", "snapshot refused: busy"),
        ("ERROR", "snapshot refused: snapshot needs integer epoch and seq and a list of ticks")]
    assert list(f._rlog.last) == list(g._rlog.last) == list(h._rlog.last) == ["snap"]


def test_malformed_snapshots_are_counted_each_time():
    f = follower(Client(snapshot=[{"ok": True, "epoch": 7, "seq": True}, {"ok": True, "epoch": 7, "seq": -1}]))
    f._resync((None, 0))
    f._resync((None, 0))
    assert f.counts["malformed"] == 2


def test_a_sync_and_an_epoch_change_are_logged_in_words(caplog):
    with caplog.at_level(logging.INFO, logger="mt5mesh-nexus"):
        f = follower(Client(snapshot=[snapshot(8, 2), snapshot(9, 0)], replay=replay_from(8, 2)))
        f._resync((7, 40))
        f._resync((8, 2))
    assert _logged(caplog) == [
        ("WARNING", "DISCONTINUITY gateway restarted: epoch 7 ended at seq 40, epoch 8 at seq 2"),
        ("INFO", "synced to epoch 8: snapshot seq 2, resuming at seq 1"),
        ("WARNING", "DISCONTINUITY gateway restarted: epoch 8 ended at seq 2, epoch 9 at seq 0"),
        ("INFO", "synced to epoch 9: snapshot seq 0, resuming at seq 1")]
    assert f.counts["epoch_changes"] == 2


def test_a_checkpoint_one_behind_the_head_fills_that_one_tick_as_a_gap():
    stores = Stores()
    f = follower(Client(snapshot=snapshot(7, 12), replay=replay_from(7, 12)), stores)
    assert f._resync((7, 11)) is True
    assert f.counts["gaps_filled"] == 1 and f.client.calls[1] == ("replay", {"from_seq": 12, "limit": 1})


def test_replay_troubles_are_logged_with_the_gap_and_reason_under_the_fill_key(caplog):
    f = synced(head=0)
    f.client = Client(replay=[GatewayUnavailable("no reply"), {"ok": False, "error": "busy"}])
    with caplog.at_level(logging.INFO, logger="mt5mesh-nexus"):
        assert f._fill(1, 5) is False
        f._rlog.last.clear()
        assert f._fill(1, 5) is False
    assert _logged(caplog) == [("WARNING", "gap 1-5 not filled yet: no reply"), ("ERROR", "replay refused: busy")]
    assert list(f._rlog.last) == ["fill"]


def test_replayed_ticks_and_filled_gaps_add_up_over_fills_and_a_one_tick_gap_is_filled():
    f = synced(head=0)
    f.client = Client(replay=replay_from(1, 10))
    assert f._fill(1, 3) is True and f._fill(4, 4) is True
    assert f.counts["replayed"] == 4 and f.counts["gaps_filled"] == 2 and f.seq.next_seq == 5


def test_a_replay_reply_with_oldest_only_skips_to_it_and_records_the_lost_part_once():
    stores = Stores()
    f = synced(head=0, stores=stores)
    f.client = Client(replay=[{"ok": False, "error": "gone", "epoch": 1, "oldest": 4}, replay_from(1, 6)])
    assert f._fill(1, 6) is True
    assert stores.of(Record)[-1][0:4] == ("gap_unrecoverable", 1, 1, 3)
    assert f.counts["replayed"] == 3 and f.seq.next_seq == 7


def test_malformed_live_events_are_logged_and_counted_and_each_event_kind_is_counted(caplog):
    f = synced(head=0)
    with caplog.at_level(logging.INFO, logger="mt5mesh-nexus"):
        f._on_event([b"tick", b"{"])
    assert _logged(caplog)[0][0] == "WARNING" and _logged(caplog)[0][1].startswith("dropping malformed event: ")
    assert list(f._rlog.last) == ["malformed"] and f.counts["malformed"] == 1
    f._on_event(frames(tick(1, 1)))
    f._on_event(frames(tick(1, 2)))
    assert f.counts["tick"] == 2
