"""The nexus sync daemon: gateway PUB -> sequenced, gap-free stream -> local XPUB proxy,
INF PostgreSQL + Redis, HUB feature store.

Threads: the main thread owns the ZeroMQ sockets and the sequence; a writer thread owns the
INF stores and the spool; a hub thread builds bars; the health thread serves HTTP.
Everything at or above ``next_seq`` can be recovered from the gateway's replay ring, so the
main thread never has to hold data it cannot write: it just does not advance.
"""
import collections
import logging
import queue
import threading
import time

import psycopg2
import redis
import zmq
import zmq.auth

from mt5mesh.nexus import health
from mt5mesh.nexus.sequencer import ACCEPT, DUPLICATE, EPOCH_CHANGE, GAP, Sequencer
from mt5mesh.nexus.spool import Spool, SpoolFull
from mt5mesh.nexus.stores import HubFeeder, LatestTicks, TickStore, pg_where
from mt5mesh.service import bind
from mt5mesh.wire import protocol
from mt5mesh.wire.breaker import CLOSED, OPEN, CircuitBreaker, CircuitOpen
from mt5mesh.wire.lazy_pirate import GatewayUnavailable, LazyPirateClient

log = logging.getLogger("mt5mesh-nexus")


class RateLimitedLog:
    """Log a repeated condition at most once per ``every`` seconds."""

    def __init__(self, every=5.0):
        self.every, self.last = every, {}

    def __call__(self, key, level, msg, *args):
        now = time.monotonic()
        if now - self.last.get(key, -1e9) >= self.every:
            self.last[key] = now
            log.log(level, msg, *args)


class Nexus:
    def __init__(self, cfg, stop):
        self.cfg, self.stop = cfg, stop
        self.metrics = health.Metrics()
        self.ctx = zmq.Context.instance()
        curve = None
        if cfg.get("curve_client_key"):
            pub, sec = zmq.auth.load_certificate(cfg["curve_client_key"])
            server, dummy = zmq.auth.load_certificate(cfg["curve_server_key"])
            curve = (pub, sec, server)
        self.curve = curve
        self.breaker = CircuitBreaker(int(cfg["breaker_threshold"]), float(cfg["breaker_reset"]))
        self.client = LazyPirateClient(zmq, cfg["gateway_req"], float(cfg["request_timeout"]),
                                       int(cfg["request_retries"]), self.breaker, curve, self.ctx)
        self.store = TickStore(cfg)
        self.spool = Spool(cfg["spool_dir"], cfg["spool_max_bytes"])
        self.latest_ticks = LatestTicks(cfg["redis_url"])
        self.hub = HubFeeder(cfg) if cfg.get("hub_pg_host") else None
        self.queue = queue.Queue(maxsize=int(cfg["queue_batches"]))
        self.rlog = RateLimitedLog()
        self.seq = None
        self.batch, self.batch_latest, self.batch_since = [], {}, None
        self.stores = {"postgres": "unknown", "redis": "unknown"}
        if self.hub is not None:
            self.stores["hub"] = "unknown"
        self.committed = None  # (epoch, seq, ts) of the newest committed tick
        self.commit_delay = None
        self.last_event_at = time.monotonic()
        self.last_ping_at = 0.0
        self.need_resync = False
        self.spool_full = False
        self.unrecoverable = collections.deque(maxlen=10)
        self.last_unrecoverable_at = None
        self.counts = collections.Counter()
        self.state = "starting"
        self.pg_retry_at = 0.0

    # --- setup -----------------------------------------------------------------------
    def run(self):
        health.serve(self.cfg["health_listen"], self.health, self.metrics, log)
        self.xpub = self.ctx.socket(zmq.XPUB)
        self.xpub.setsockopt(zmq.SNDHWM, 1000000)
        self.xpub.setsockopt(zmq.LINGER, 0)
        # Every (un)subscription reaches us, so we know whether anyone listens to the proxy.
        self.xpub.setsockopt(zmq.XPUB_VERBOSER, 1)
        self.proxy_subscriptions = 0
        bind(self.xpub, self.cfg["xpub"], "XPUB")
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 2000000)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.MAXMSGSIZE, protocol.SOCKET_MAX_BYTES)
        # ZMTP heartbeats: a link that died without a RST is dropped and redialled in seconds,
        # instead of waiting for TCP's retransmission timeout.
        self.sub.setsockopt(zmq.HEARTBEAT_IVL, 1000)
        self.sub.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)
        self.sub.setsockopt(zmq.RECONNECT_IVL, 100)
        self.sub.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        if self.curve:
            self.sub.curve_publickey, self.sub.curve_secretkey, self.sub.curve_serverkey = self.curve
        # Clone pattern: subscribe before the snapshot so nothing published after it is missed.
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.connect(self.cfg["gateway_sub"])
        log.info("nexus: gateway REQ %s SUB %s, XPUB %s, %s, redis %s, hub %s, health http://%s",
                 self.cfg["gateway_req"], self.cfg["gateway_sub"], self.cfg["xpub"], pg_where(self.cfg, "pg_"),
                 _redact(self.cfg["redis_url"]),
                 pg_where(self.cfg, "hub_pg_") if self.hub else "off", self.cfg["health_listen"])
        checkpoint = self._wait_for_store()
        if checkpoint is None and self.stop.is_set():
            return
        writer = threading.Thread(target=self._writer, name="writer", daemon=True)
        writer.start()
        if self.hub is not None:
            threading.Thread(target=self._hub_loop, name="hub", daemon=True).start()
        while not self.stop.is_set() and not self._resync(checkpoint):
            self.stop.wait(0.5)
        try:
            self._loop()
        finally:
            self._flush()
            self.queue.put(None)
            writer.join(timeout=30)
            self.client.close()
            self.sub.close(0)
            self.xpub.close(0)
            log.info("stopped at %s", self.committed and "epoch %d seq %d" % self.committed[:2])

    def _wait_for_store(self):
        """Spooled batches from before a restart go first, then the checkpoint is read."""
        while not self.stop.is_set():
            try:
                self._drain_spool(force=True)
                if self.spool.depth == 0:
                    checkpoint = self.store.checkpoint()
                    self.stores["postgres"] = "up"
                    log.info("checkpoint: %s", "epoch %d seq %d" % checkpoint if checkpoint else "none (fresh start)")
                    return checkpoint or (None, 0)
            except psycopg2.Error as e:
                self.stores["postgres"] = "down"
                self.store.drop()
                self.rlog("pgwait", logging.WARNING, "waiting for %s: %s", pg_where(self.cfg, "pg_"), _first_line(e))
            self.stop.wait(1.0)
        return None

    def _resync(self, checkpoint):
        """Snapshot, then continue from the checkpoint (same epoch) or from seq 1 (new epoch)."""
        try:
            snap = self.client.call("snapshot")
        except (CircuitOpen, GatewayUnavailable) as e:
            self.state = "waiting_gateway"
            self.rlog("snap", logging.WARNING, "snapshot: %s", e)
            return False
        if not snap.get("ok"):
            self.rlog("snap", logging.ERROR, "snapshot refused: %s", snap.get("error"))
            return False
        ticks = snap.get("ticks") or []
        try:
            epoch, head = snap.get("epoch"), snap.get("seq")
            if not (isinstance(epoch, int) and protocol.finite(epoch, 0, protocol.MAX_SEQ)
                    and isinstance(head, int) and protocol.finite(head, 0, protocol.MAX_SEQ)
                    and isinstance(ticks, list)):
                raise protocol.ProtocolError("snapshot needs integer epoch and seq and a list of ticks")
            ticks = [protocol.check_tick(t) for t in ticks if isinstance(t, dict)]
        except protocol.ProtocolError as e:
            self.counts["malformed"] += 1
            self.metrics.malformed.inc()
            self.rlog("snap", logging.ERROR, "snapshot refused: %s", e)
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
        try:
            self.latest_ticks.write({t["symbol"]: protocol.encode(t) for t in ticks})
        except redis.RedisError as e:
            self.rlog("redis", logging.WARNING, "redis: %s", _first_line(e))
        log.info("synced to epoch %d: snapshot seq %d, resuming at seq %d", epoch, head, start)
        self.state = "running"
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
            kind, ev = protocol.decode_event(frames)
        except protocol.ProtocolError as e:
            self.counts["malformed"] += 1
            self.metrics.malformed.inc()
            self.rlog("malformed", logging.WARNING, "dropping malformed event: %s", e)
            return
        self.counts[kind] += 1
        self.last_event_at = time.monotonic()
        action, first, last = self.seq.offer(kind, ev)
        if action == ACCEPT:
            self._emit(ev, frames)
        elif action == GAP:
            if self._fill(first, last) and kind == "tick" and ev["seq"] == self.seq.next_seq:
                self._emit(ev, frames)
        elif action == EPOCH_CHANGE:
            self._flush()
            if self._resync((self.seq.epoch, self.seq.next_seq - 1)) and kind == "tick":
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
            self.xpub.send_multipart(frames)
        if not self.batch:
            self.batch_since = time.monotonic()
        self.batch.append((ev["epoch"], ev["seq"], ev["symbol"], ev["ts"], ev["bid"], ev["ask"]))
        self.batch_latest[ev["symbol"]] = frames[1] if frames else ev
        self.seq.accepted(ev["seq"])
        if len(self.batch) >= int(self.cfg["batch_size"]):
            self._flush()

    def _flush(self):
        if not self.batch:
            return
        item = ("batch", self.batch, self.batch_latest)
        self.batch, self.batch_latest = [], {}
        while True:
            try:
                # Blocks while the writer is stuck on a full spool: consumption pauses, the
                # gateway ring keeps the events, nothing is dropped silently.
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                if self.stop.is_set() and self.spool_full:
                    log.error("shutting down with a full spool: %d ticks from seq %d not written; "
                              "they remain in the gateway ring until it wraps", len(item[1]), item[1][0][1])
                    return

    def _fill(self, first, last):
        """Replay [first, last] from the gateway ring. True when caught up to ``last``."""
        lost = None  # (from, to) gone from the ring during this fill, recorded once
        try:
            while first <= last and not self.stop.is_set():
                try:
                    rep = self.client.call("replay", from_seq=first,
                                           limit=min(last - first + 1, protocol.MAX_REPLAY_LIMIT))
                except (CircuitOpen, GatewayUnavailable) as e:
                    self.rlog("fill", logging.WARNING, "gap %d-%d not filled yet: %s", first, last, e)
                    return False
                if rep.get("epoch") not in (None, self.seq.epoch):
                    self.need_resync = True
                    return False
                if rep.get("ok"):
                    events = rep.get("events") or []
                    if not isinstance(events, list) or not events:
                        return False
                    for ev in events:
                        if not self._replayed_ok(ev, first, last):
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
                    self.rlog("fill", logging.ERROR, "replay refused: %s", rep.get("error"))
                    return False
        finally:
            if lost:
                self._unrecoverable(*lost)
        if first > last:
            self.counts["gaps_filled"] += 1
            self.metrics.gaps_filled.inc()
            return True
        return False

    def _replayed_ok(self, ev, first, last):
        """A replayed event is peer data like any other: checked before it is accepted."""
        try:
            if not isinstance(ev, dict):
                raise protocol.ProtocolError("replayed event is not a JSON object")
            protocol.check_tick(ev)
            if ev["epoch"] != self.seq.epoch or ev["seq"] != self.seq.next_seq:
                raise protocol.ProtocolError("replayed event out of order (epoch %r seq %r, wanted seq %d)"
                                             % (ev["epoch"], ev["seq"], self.seq.next_seq))
            return True
        except protocol.ProtocolError as e:
            self.counts["malformed"] += 1
            self.metrics.malformed.inc()
            self.rlog("malformed", logging.ERROR, "replay of %d-%d refused: %s", first, last, e)
            return False

    def _unrecoverable(self, first, last):
        epoch = self.seq.epoch
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
        self.queue.put(("record", kind, epoch, first, last, detail))

    def _probe_gateway(self):
        if time.monotonic() - self.last_ping_at < 1.0:
            return
        self.last_ping_at = time.monotonic()
        silent = time.monotonic() - self.last_event_at
        if silent > float(self.cfg["heartbeat_timeout"]):
            self.rlog("silent", logging.WARNING, "no gateway event for %.1fs", silent)
        try:
            rep = self.client.call("ping", retries=1)
        except (CircuitOpen, GatewayUnavailable):
            return
        if rep.get("epoch") != self.seq.epoch:
            self.need_resync = True
        elif _int(rep.get("seq")) and rep["seq"] >= self.seq.next_seq:
            self._fill(self.seq.next_seq, rep["seq"])

    # --- writer thread -----------------------------------------------------------------
    def _writer(self):
        while True:
            try:
                item = self.queue.get(timeout=0.2)
            except queue.Empty:
                self._drain_spool()
                continue
            if item is None:
                self._drain_spool(force=True)
                return
            if item[0] == "record":
                self._write_record(item[1:])
                continue
            rows, latest = item[1], item[2]
            self._write_rows(rows)
            try:
                self.latest_ticks.write(latest)
                self.stores["redis"] = "up"
            except redis.RedisError as e:
                self.stores["redis"] = "down"
                self.rlog("redis", logging.WARNING, "redis %s: %s", _redact(self.cfg["redis_url"]), _first_line(e))

    def _write_record(self, rec):
        for _i in range(3):
            try:
                self.store.record(*rec)
                return
            except psycopg2.Error as e:
                self.store.drop()
                log.error("could not record %s in postgres (%s); it is in this log: %r", rec[0], _first_line(e), rec)
                time.sleep(0.5)

    def _write_rows(self, rows):
        if self.spool.depth:
            self._drain_spool()  # oldest first, so order is kept
        if self.spool.depth == 0 and time.monotonic() >= self.pg_retry_at:
            try:
                self._quarantined(self.store.write_checked(rows))
                self._committed(rows)
                return
            except psycopg2.Error as e:
                self._store_down(e)
        while True:
            try:
                self.spool.append(rows)
                self.metrics.spool_depth.set(self.spool.depth)
                if self.spool_full:
                    log.warning("spool has room again")
                self.spool_full = False
                return
            except SpoolFull as e:
                if not self.spool_full:
                    log.error("ALARM %s: consumption paused until postgres is back", e)
                self.spool_full = True
                self.metrics.spool_full.set(1)
                if self.stop.is_set():
                    log.error("stopping with a full spool: %d ticks from seq %d stay in the gateway ring",
                              len(rows), rows[0][1])
                    return
                time.sleep(1.0)
                self._drain_spool(force=True)

    def _drain_spool(self, force=False):
        if not force and time.monotonic() < self.pg_retry_at:
            return
        while True:
            oldest = self.spool.oldest()
            if oldest is None:
                break
            name, rows = oldest
            try:
                self._quarantined(self.store.write_checked(rows))
            except psycopg2.Error as e:
                self._store_down(e)
                return
            self.spool.remove(name)
            self._committed(rows, spooled=True)
        self.metrics.spool_full.set(0)
        self.metrics.spool_depth.set(0)

    def _store_down(self, e):
        self.store.drop()
        if self.stores["postgres"] != "down":
            log.error("postgres %s down (%s): spooling to %s", pg_where(self.cfg, "pg_"), _first_line(e), self.spool.dir)
        self.stores["postgres"] = "down"
        self.metrics.store_up.labels("postgres").set(0)
        self.metrics.spool_depth.set(self.spool.depth)
        self.pg_retry_at = time.monotonic() + 1.0

    def _quarantined(self, refused):
        for row, reason in refused:
            self.counts["quarantined"] += 1
            self.metrics.quarantined.inc()
            self.rlog("quarantine", logging.ERROR, "QUARANTINED epoch %r seq %r (PostgreSQL refused it: %s); "
                      "%d so far, see table nexus_quarantine", row[0], row[1], reason, self.counts["quarantined"])

    def _committed(self, rows, spooled=False):
        if self.stores["postgres"] != "up":
            log.info("postgres up")
        self.stores["postgres"] = "up"
        self.metrics.store_up.labels("postgres").set(1)
        last = rows[-1]
        self.committed = (last[0], last[1], last[3])
        self.commit_delay = time.time() - last[3]
        self.metrics.committed.inc(len(rows))
        self.metrics.last_seq.set(last[1])
        self.metrics.lag.set(self.commit_delay)

    # --- hub thread ----------------------------------------------------------------------
    def _hub_loop(self):
        while not self.stop.is_set():
            try:
                moved = self.hub.step()
                if self.stores["hub"] != "up":
                    log.info("hub feature store up")
                self.stores["hub"] = "up"
                self.metrics.store_up.labels("hub").set(1)
                if moved < 50000:
                    self.stop.wait(0.2)
            except (psycopg2.Error, redis.RedisError) as e:
                if self.stores["hub"] != "down":
                    log.error("hub feature store down: %s", _first_line(e))
                self.stores["hub"] = "down"
                self.metrics.store_up.labels("hub").set(0)
                self.hub.drop()
                self.stop.wait(1.0)

    # --- health --------------------------------------------------------------------------
    def health(self):
        now = time.monotonic()
        seq = self.seq
        caught_up = seq is not None and seq.behind == 0 and not self.batch and self.queue.empty()
        if self.committed is None:
            lag = None
        elif caught_up or self.commit_delay is None:
            lag = self.commit_delay
        else:
            lag = max(self.commit_delay, time.time() - self.committed[2])
        problems = []
        if self.state != "running":
            problems.append(self.state)
        for store, state in sorted(self.stores.items()):
            if state == "down":
                problems.append("%s down" % store)
        if self.spool_full:
            problems.append("spool full: consumption paused")
        silent = now - self.last_event_at
        if silent > float(self.cfg["heartbeat_timeout"]):
            problems.append("no gateway event for %.1fs" % silent)
        if self.breaker.state == OPEN:
            problems.append("gateway circuit open")
        if self.committed is None and seq is not None and seq.head > 0:
            problems.append("catching up: nothing committed yet, gateway at seq %d" % seq.head)
        if lag is not None and lag > float(self.cfg["max_lag"]):
            problems.append("lag %.3fs over %.3fs" % (lag, float(self.cfg["max_lag"])))
        if self.last_unrecoverable_at is not None and now - self.last_unrecoverable_at < float(self.cfg["gap_alarm_s"]):
            problems.append("unrecoverable gap: %(from_seq)d-%(to_seq)d in epoch %(epoch)d" % self.unrecoverable[-1])
        self.metrics.breaker_open.set(1 if self.breaker.state == OPEN else 0)
        body = {
            "state": "healthy" if not problems else "degraded",
            "problems": problems,
            "lag_s": None if lag is None else round(lag, 4),
            "epoch": seq.epoch if seq else None,
            "last_seq": self.committed[1] if self.committed else None,
            "next_seq": seq.next_seq if seq else None,
            "gateway_seq": seq.head if seq else None,
            "behind": seq.behind if seq else None,
            "gaps_filled": self.counts["gaps_filled"],
            "gaps_unrecoverable": self.counts["gaps_unrecoverable"],
            "ticks_unrecoverable": self.counts["ticks_unrecoverable"],
            "unrecoverable": list(self.unrecoverable),
            "replayed": self.counts["replayed"],
            "epoch_changes": self.counts["epoch_changes"],
            "duplicates": self.counts["duplicates"],
            "malformed": self.counts["malformed"],
            "quarantined": self.counts["quarantined"],
            "spool_depth": self.spool.depth,
            "spool_full": self.spool_full,
            "stores": dict(self.stores),
            "circuit": self.breaker.state,
            "received": {"tick": self.counts["tick"], "hb": self.counts["hb"]},
        }
        return (200 if not problems else 503), body


def _int(value):
    """A sequence number from a peer: an int (not bool) in range, never a surprise type."""
    return isinstance(value, int) and protocol.finite(value, 0, protocol.MAX_SEQ)


def _first_line(e):
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _redact(url):
    """redis://:secret@host -> redis://:***@host, for logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return scheme + "://***@" + rest.rsplit("@", 1)[1]
    return url
