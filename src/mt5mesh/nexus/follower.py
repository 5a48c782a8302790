"""The follower: the main thread of nexus and the only owner of the ZeroMQ sockets, the
sequence, the open batch and the gateway client (zguide Clone: subscribe, snapshot, then
updates past the checkpoint). It hands batches to the writer (in the stores process) through
its bounded queue and publishes its own state as a snapshot dict for the health thread.
"""
import collections
import logging
import time

import zmq
import zmq.auth

from mt5mesh.nexus import rows
from mt5mesh.nexus.logutil import RateLimitedLog
from mt5mesh.nexus.messages import Batch, Latest, Record, Refill
from mt5mesh.nexus.sequencer import ACCEPT, DUPLICATE, EPOCH_CHANGE, GAP, Sequencer
from mt5mesh.service import bind
from mt5mesh.wire import protocol, sockets
from mt5mesh.wire.breaker import CLOSED, OPEN, CircuitBreaker, CircuitOpen
from mt5mesh.wire.lazy_pirate import GatewayUnavailable, LazyPirateClient

log = logging.getLogger("mt5mesh-nexus")
SNDMORE = int(zmq.SNDMORE)


class Follower:
    def __init__(self, cfg, metrics, stop, stores):
        self.cfg, self.metrics, self.stop, self.stores = cfg, metrics, stop, stores
        self.ctx = zmq.Context.instance()
        self.curve = None
        if cfg["curve_client_key"]:
            pub, sec = zmq.auth.load_certificate(cfg["curve_client_key"])
            server, dummy = zmq.auth.load_certificate(cfg["curve_server_key"])
            self.curve = (pub, sec, server)
        self.breaker = CircuitBreaker(cfg["breaker_threshold"], cfg["breaker_reset"])
        self.client = LazyPirateClient(zmq, cfg["gateway_req"], cfg["request_timeout"], cfg["request_retries"],
                                       self.breaker, self.curve, self.ctx)
        self._rlog = RateLimitedLog()
        self.seq = None
        self.batch, self.batch_latest, self.batch_since = [], {}, None
        self.last_event_at = time.monotonic()
        self.last_ping_at = 0.0
        self.need_resync = False
        self.unrecoverable = collections.deque(maxlen=10)
        self.refills = collections.deque(maxlen=100)  # (epoch, first, last) the stores lost, to write again
        self.last_unrecoverable_at = None
        self.counts = collections.Counter()
        self.state = "starting"
        self.proxy_subscriptions = 0
        self._snapshot = None
        self._publish()

    # --- what other threads may read ---------------------------------------------------
    def status(self):
        return self._snapshot

    def _publish(self):
        seq = self.seq
        self.metrics.breaker_open.set(1 if self.breaker.state == OPEN else 0)
        self._snapshot = {
            "state": self.state, "epoch": seq.epoch if seq else None, "next_seq": seq.next_seq if seq else None,
            "head": seq.head if seq else 0, "behind": seq.behind if seq else 0, "batch_empty": not self.batch,
            "last_event_at": self.last_event_at, "circuit": self.breaker.state,
            "last_unrecoverable_at": self.last_unrecoverable_at, "unrecoverable": tuple(self.unrecoverable),
            "counts": dict(self.counts)}

    # --- sockets -------------------------------------------------------------------------
    def open(self):
        self.xpub = self.ctx.socket(zmq.XPUB)
        self.xpub.setsockopt(zmq.SNDHWM, 1000000)
        self.xpub.setsockopt(zmq.LINGER, 0)
        # Every (un)subscription reaches us, so we know whether anyone listens to the proxy.
        self.xpub.setsockopt(zmq.XPUB_VERBOSER, 1)
        bind(self.xpub, self.cfg["xpub"], "XPUB")
        self.sub = sockets.client_socket(zmq, self.ctx, zmq.SUB, self.cfg["gateway_sub"], self.curve)
        self.sub.setsockopt(zmq.RCVHWM, 2000000)
        self.sub.setsockopt(zmq.MAXMSGSIZE, protocol.SOCKET_MAX_BYTES)
        # ZMTP heartbeats: a link that died without a RST is dropped and redialled in seconds,
        # instead of waiting for TCP's retransmission timeout.
        self.sub.setsockopt(zmq.HEARTBEAT_IVL, 1000)
        self.sub.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)
        self.sub.setsockopt(zmq.RECONNECT_IVL, 100)
        self.sub.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        # Clone pattern: subscribe before the snapshot so nothing published after it is missed.
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.connect(self.cfg["gateway_sub"])

    def close(self):
        self.client.close()
        self.sub.close(0)
        self.xpub.close(0)

    def follow(self, checkpoint):
        """Sync, then follow the stream until stop; the open batch is handed over at the end."""
        while not self.stop.is_set() and not self._resync(checkpoint):
            self._publish()
            self.stop.wait(0.5)
        try:
            self._loop()
        finally:
            self._flush()
            self._publish()

    def _resync(self, checkpoint):
        """Snapshot, then continue from the checkpoint (same epoch) or from seq 1 (new epoch)."""
        try:
            snap = self.client.call("snapshot")
        except (CircuitOpen, GatewayUnavailable) as e:
            self.state = "waiting_gateway"
            self._rlog("snap", logging.WARNING, "snapshot: %s", e)
            return False
        if not snap.get("ok"):
            self._rlog("snap", logging.ERROR, "snapshot refused: %s", snap.get("error"))
            return False
        ticks = snap.get("ticks") or []
        try:
            epoch, head = snap.get("epoch"), snap.get("seq")
            if not (_int(epoch) and _int(head) and isinstance(ticks, list)):
                raise protocol.ProtocolError("snapshot needs integer epoch and seq and a list of ticks")
            ticks = [protocol.check_tick(t) for t in ticks if isinstance(t, dict)]
        except protocol.ProtocolError as e:
            self.counts["malformed"] += 1
            self.metrics.malformed.inc()
            self._rlog("snap", logging.ERROR, "snapshot refused: %s", e)
            return False
        old_epoch, old_seq = checkpoint
        if old_epoch == epoch:
            start = old_seq + 1
        else:
            start = 1
            if old_epoch is not None:
                self.counts["epoch_changes"] += 1
                self.metrics.epoch_changes.inc()
                detail = "gateway restarted: epoch %d ended at seq %d, epoch %d at seq %d" % (old_epoch, old_seq, epoch, head)
                log.warning("DISCONTINUITY %s", detail)
                self._record("epoch_change", epoch, old_seq, head, detail)
        self.seq = Sequencer(epoch, start)
        self.seq.head = head
        self.need_resync = False
        # The writer owns Redis: the snapshot's latest ticks go through its queue.
        self._hand_over(Latest({t["symbol"]: protocol.encode(t) for t in ticks}))
        log.info("synced to epoch %d: snapshot seq %d, resuming at seq %d", epoch, head, start)
        self.state = "running"
        if start <= head:  # only a real gap counts as one filled
            self._fill(start, head)
        return True

    # --- the stream ----------------------------------------------------------------------
    def _loop(self):
        hb_timeout = float(self.cfg["heartbeat_timeout"])
        flush_every = float(self.cfg["flush_interval"])
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        poller.register(self.xpub, zmq.POLLIN)
        while not self.stop.is_set():
            ready = dict(poller.poll(int(flush_every * 1000)))
            if self.xpub in ready:
                self._track_proxy_subscribers()
            if self.sub in ready:
                for _i in range(10000):
                    try:
                        frames = self.sub.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self._on_event(frames)
            if self.batch and time.monotonic() - self.batch_since >= flush_every:
                self._flush()
            self._refill_lost()
            self._publish()
            if self.need_resync:
                self._flush()
                self._resync((self.seq.epoch, self.seq.next_seq - 1))
            elif time.monotonic() - self.last_event_at > hb_timeout or self.breaker.state != CLOSED:
                # Silence, or a breaker opened by an outage that healed without a gap to fill:
                # a ping (the half-open probe) finds out and closes it.
                self._probe_gateway()

    def _track_proxy_subscribers(self):
        while True:
            try:
                msg = self.xpub.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if msg[:1] == b"\x01":
                self.proxy_subscriptions += 1
            elif msg[:1] == b"\x00":
                self.proxy_subscriptions = max(0, self.proxy_subscriptions - 1)

    def _on_event(self, frames):
        try:
            event_type, ev = protocol.decode_event(frames)
        except protocol.ProtocolError as e:
            self.counts["malformed"] += 1
            self.metrics.malformed.inc()
            self._rlog("malformed", logging.WARNING, "dropping malformed event: %s", e)
            return
        self.counts[event_type] += 1
        self.last_event_at = time.monotonic()
        action, first, last = self.seq.offer(event_type, ev)
        if action == ACCEPT:
            self._emit(ev, frames)
        elif action == GAP:
            if self._fill(first, last) and event_type != "hb" and ev["seq"] == self.seq.next_seq:
                self._emit(ev, frames)
        elif action == EPOCH_CHANGE:
            self._flush()
            if self._resync((self.seq.epoch, self.seq.next_seq - 1)) and event_type != "hb":
                if ev["epoch"] == self.seq.epoch and ev["seq"] == self.seq.next_seq:
                    self._emit(ev, frames)
        elif action == DUPLICATE:
            self.counts["duplicates"] += 1
            self.metrics.duplicates.inc()

    def _emit(self, ev, frames=None):
        """Accept one tick. ``frames`` are its wire frames when it came live; replayed ticks get
        them re-encoded (byte-identical) only if somebody listens to the proxy or Redis needs them."""
        if self.proxy_subscriptions:
            frames = frames or protocol.event_frames(ev)
            # Two plain sends with an int flag: send_multipart's per-frame checks and enum
            # arithmetic cost as much as the sends themselves (docs/benchmarks.md, tick latency).
            self.xpub.send(frames[0], SNDMORE)
            self.xpub.send(frames[1])
        if not self.batch:
            self.batch_since = time.monotonic()
        # A trade event rides the same stream and batch (so the same transaction), to its own tables.
        row = rows.of_event(ev)
        self.batch.append(row)
        if isinstance(row, rows.Tick):
            self.batch_latest[ev["symbol"]] = frames[1] if frames else ev
        self.seq.accepted(ev["seq"])
        if len(self.batch) >= int(self.cfg["batch_size"]):
            self._flush()

    def _flush(self):
        if not self.batch:
            return
        item = Batch(self.batch, self.batch_latest)
        self.batch, self.batch_latest = [], {}
        self._hand_over(item)

    def _hand_over(self, item):
        # Blocks while the writer is stuck on a full spool: consumption pauses, the gateway ring
        # keeps the events, nothing is dropped silently.
        why_not = self.stores.put(item)
        if why_not and isinstance(item, Batch):
            log.error("%s: %d ticks from seq %d not written; they remain in the gateway ring until it wraps",
                      why_not, len(item.rows), item.rows[0].seq)
        elif why_not:
            # Its type and size only: a Latest holds every symbol's last tick.
            log.error("%s: %s message (%d fields) not written", why_not, type(item).__name__, len(item))

    def _fill(self, first, last):
        """Replay [first, last] from the gateway ring. True when caught up to ``last``."""
        lost = None  # (from, to) gone from the ring during this fill, recorded once
        try:
            while first <= last and not self.stop.is_set():
                try:
                    rep = self.client.call("replay", from_seq=first,
                                           limit=min(last - first + 1, protocol.MAX_REPLAY_LIMIT))
                except (CircuitOpen, GatewayUnavailable) as e:
                    self._rlog("fill", logging.WARNING, "gap %d-%d not filled yet: %s", first, last, e)
                    return False
                if rep.get("epoch") not in (None, self.seq.epoch):
                    self.need_resync = True
                    return False
                if rep.get("ok"):
                    events = rep.get("events") or []
                    if not isinstance(events, list) or not events:
                        return False
                    for ev in events:
                        if not self._replayed_ok(ev, self.seq.epoch, self.seq.next_seq, ("replay of %d-%d", first, last)):
                            return False
                        self._emit(ev)
                    self.counts["replayed"] += len(events)
                    self.metrics.replayed.inc(len(events))
                    first = self.seq.next_seq
                elif _int(rep.get("oldest")) and _int(rep.get("last", rep.get("oldest"))):
                    # The ring keeps moving while we ask: skip a little past its tail (1% of
                    # what it holds) so the next replay does not chase it tick by tick.
                    resume = min(rep["oldest"] + max(1, (rep.get("last", rep["oldest"]) - rep["oldest"]) // 100),
                                 rep.get("last", rep["oldest"]))
                    lost = (lost[0] if lost else first, resume - 1)
                    self.seq.skip_to(resume)
                    first = self.seq.next_seq
                else:
                    self._rlog("fill", logging.ERROR, "replay refused: %s", rep.get("error"))
                    return False
        finally:
            if lost:
                self._unrecoverable(*lost)
        if first > last:
            self.counts["gaps_filled"] += 1
            self.metrics.gaps_filled.inc()
            return True
        return False

    def _refill_lost(self):
        """What the stores lost after a commit (a failover to a node without the tail), written
        again; one that cannot be asked of the gateway now is tried again on the next turn."""
        self.refills.extend(self.stores.take_refills())
        while self.refills and not self.stop.is_set():
            epoch, first, last = self.refills[0]
            done_to = self._refill(epoch, first, last)
            if done_to <= last:
                self.refills[0] = Refill(epoch, done_to, last)
                return
            self.refills.popleft()

    def _refill(self, epoch, first, last):
        """Replays [first, last] of ``epoch`` from the gateway ring and hands it to the writer as
        batches: not through the sequencer (it was accepted once) and not to the proxy (strategies
        had it); the store ignores rows it still has. What the ring no longer holds is recorded as
        unrecoverable. Returns the first seq not handled: past ``last`` when done."""
        if self.seq is None or epoch != self.seq.epoch:
            self._unrecoverable(first, last, epoch)  # the gateway restarted: its ring is another epoch's
            return last + 1
        while first <= last and not self.stop.is_set():
            try:
                rep = self.client.call("replay", from_seq=first, limit=min(last - first + 1, protocol.MAX_REPLAY_LIMIT))
            except (CircuitOpen, GatewayUnavailable) as e:
                self._rlog("refill", logging.WARNING, "lost seq %d-%d not written again yet: %s", first, last, e)
                return first
            if rep.get("epoch") not in (None, epoch):
                self._unrecoverable(first, last, epoch)
                return last + 1
            if rep.get("ok"):
                batch = []
                for ev in (rep.get("events") if isinstance(rep.get("events"), list) else [])[:last - first + 1]:
                    if not self._replayed_ok(ev, epoch, first + len(batch), ("replay of lost seq %d", first + len(batch))):
                        break
                    batch.append(rows.of_event(ev))
                if not batch:  # the ring has nothing usable there: it cannot be written again
                    self._unrecoverable(first, last, epoch)
                    return last + 1
                self._hand_over(Batch(batch, {}))
                self.counts["refilled"] += len(batch)
                first += len(batch)
            elif _int(rep.get("oldest")):
                gone_to = min(rep["oldest"] - 1, last)
                self._unrecoverable(first, gone_to, epoch)
                first = gone_to + 1
            else:
                self._rlog("refill", logging.ERROR, "replay of lost seq %d-%d refused: %s", first, last, rep.get("error"))
                self._unrecoverable(first, last, epoch)
                return last + 1
        return first

    def _replayed_ok(self, ev, epoch, seq, what):
        """A replayed event is peer data like any other: checked before it is accepted, and it must
        be ``seq`` of ``epoch``. ``what`` names the replay in the log: a format and its values,
        formatted only for a refusal (a fill checks every event it replays)."""
        try:
            protocol.check_event(ev)
            if ev["epoch"] != epoch or ev["seq"] != seq:
                raise protocol.ProtocolError("replayed event out of order (epoch %r seq %r, wanted seq %d)"
                                             % (ev["epoch"], ev["seq"], seq))
            return True
        except protocol.ProtocolError as e:
            self.counts["malformed"] += 1
            self.metrics.malformed.inc()
            self._rlog("malformed", logging.ERROR, what[0] + " refused: %s", *what[1:], e)
            return False

    def _unrecoverable(self, first, last, epoch=None):
        epoch = self.seq.epoch if epoch is None else epoch
        self.counts["gaps_unrecoverable"] += 1
        self.counts["ticks_unrecoverable"] += last - first + 1
        self.metrics.unrecoverable.inc()
        self.metrics.unrecoverable_ticks.inc(last - first + 1)
        self.unrecoverable.append({"epoch": epoch, "from_seq": first, "to_seq": last, "at": time.time()})
        self.last_unrecoverable_at = time.monotonic()
        detail = "seq %d-%d (%d ticks) are gone from the gateway ring" % (first, last, last - first + 1)
        log.error("UNRECOVERABLE GAP in epoch %d: %s", epoch, detail)
        self._flush()
        self._record("gap_unrecoverable", epoch, first, last, detail)

    def _record(self, kind, epoch, first, last, detail):
        # Through the writer so it lands in order with the ticks around it.
        self._hand_over(Record(kind, epoch, first, last, detail))

    def _probe_gateway(self):
        if time.monotonic() - self.last_ping_at < 1.0:
            return
        self.last_ping_at = time.monotonic()
        silent = time.monotonic() - self.last_event_at
        if silent > float(self.cfg["heartbeat_timeout"]):
            self._rlog("silent", logging.WARNING, "no gateway event for %.1fs", silent)
        try:
            rep = self.client.call("ping", retries=1)
        except (CircuitOpen, GatewayUnavailable):
            return
        if rep.get("epoch") != self.seq.epoch:
            self.need_resync = True
        elif _int(rep.get("seq")) and rep["seq"] >= self.seq.next_seq:
            self._fill(self.seq.next_seq, rep["seq"])


def _int(value):
    """A sequence number from a peer: an int (not bool) in range, never a surprise type."""
    return isinstance(value, int) and protocol.finite(value, 0, protocol.MAX_SEQ)
