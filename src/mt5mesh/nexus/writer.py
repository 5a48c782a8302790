"""The writer thread (in the stores process): the only owner of INF PostgreSQL, INF Redis and
the spool.

It takes messages from a queue (``messages.Batch``, ``Latest`` and ``Record``; ``None`` to stop)
and publishes what others may read as an immutable snapshot dict (``status()``). The follower
learns that the spool is full through an Event, never by reading an attribute, and what the
store lost after a commit through ``refills`` (storeproc forwards them).
"""
import collections
import logging
import queue
import time
from typing import Any

import psycopg2
import redis

from mt5mesh.nexus.logutil import RateLimitedLog, first_line, redact
from mt5mesh.nexus.messages import Latest, Record, Refill
from mt5mesh.nexus.pg import pg_where
from mt5mesh.nexus.spool import Spool, SpoolFull
from mt5mesh.nexus.stores import LatestTicks, TickStore

log = logging.getLogger("mt5mesh-nexus")


# What the writer reports before it has touched a store (also the parent's view until the
# stores process sends its first snapshot).
INITIAL_STATUS = {"postgres": "unknown", "redis": "unknown", "committed": None, "commit_delay": None,
                  "spool_depth": 0, "spool_full": False, "quarantined": 0, "queue_empty": True}


class Writer:
    def __init__(self, cfg, metrics, stop, items, spool_full):
        """``items`` (the bounded queue) and ``spool_full`` (an Event) are shared with the
        follower in the parent process (storeproc)."""
        self.cfg, self.metrics, self.stop = cfg, metrics, stop
        self.queue, self.spool_full = items, spool_full
        self._store = TickStore(cfg)
        self._spool = Spool(cfg["spool_dir"], cfg["spool_max_bytes"])
        self._latest = LatestTicks(cfg["redis_url"], cfg["gateway"])
        self._rlog = RateLimitedLog()
        self._pg, self._redis = "unknown", "unknown"
        self._committed = None  # (epoch, seq, ts) of the newest committed tick
        self._commit_delay = None
        self._quarantined = 0
        self._retry_at = 0.0
        # Set when the store was lost: on reconnecting, its checkpoint must still reach what was
        # committed before (a failover can promote a node that lacks the tail).
        self._recheck = False
        self.refills: collections.deque[Any] = collections.deque(maxlen=100)  # messages.Refill: what the store lost, to write again
        self._snapshot = dict(INITIAL_STATUS)
        self._publish()

    # --- what other threads may read ---------------------------------------------------
    def status(self):
        return self._snapshot

    def _publish(self):
        # One new dict per change, assigned at once: readers see a whole state, never half.
        self._snapshot = {"postgres": self._pg, "redis": self._redis, "committed": self._committed,
                          "commit_delay": self._commit_delay, "spool_depth": self._spool.depth,
                          "spool_full": self.spool_full.is_set(), "quarantined": self._quarantined,
                          "queue_empty": self.queue.empty()}

    # --- before the thread starts (called from the main thread, which then hands over) ----
    def wait_for_store(self):
        """Spooled batches from before a restart go first, then the checkpoint is read."""
        while not self.stop.is_set():
            try:
                self._drain_spool(force=True)
                if self._spool.depth == 0:
                    checkpoint = self._store.checkpoint()
                    self._pg = "up"
                    self._publish()
                    log.info("checkpoint: %s", "epoch %d seq %d" % checkpoint if checkpoint else "none (fresh start)")
                    return checkpoint or (None, 0)
            except psycopg2.Error as e:
                self._pg = "down"
                self._store.drop()
                self._publish()
                self._rlog("pgwait", logging.WARNING, "waiting for %s: %s", pg_where(self.cfg, "pg_"), first_line(e))
            self.stop.wait(1.0)
        return None

    # --- the thread --------------------------------------------------------------------
    def run(self):
        while True:
            try:
                item = self.queue.get(timeout=0.2)
            except queue.Empty:
                self._drain_spool()
                self._publish()
                continue
            if item is None:
                self._drain_spool(force=True)
                self._publish()
                return
            if isinstance(item, Record):
                self._write_record(item)
            elif isinstance(item, Latest):
                self._write_latest(item.latest)
            else:
                self._write_rows(item.rows)
                self._write_latest(item.latest)
            self._publish()

    def _write_latest(self, latest):
        try:
            self._latest.write(latest)
            self._redis = "up"
        except redis.RedisError as e:
            self._redis = "down"
            self._rlog("redis", logging.WARNING, "redis %s: %s", redact(self.cfg["redis_url"]), first_line(e))

    def _write_record(self, rec):
        for _i in range(3):
            try:
                self._store.record(*rec)
                return
            except psycopg2.Error as e:
                self._lost_store()
                log.error("could not record %s in postgres (%s); it is in this log: %r", rec.what, first_line(e), rec)
                time.sleep(0.5)

    def _write_rows(self, rows):
        if self._spool.depth:
            self._drain_spool()  # oldest first, so order is kept
        if self._spool.depth == 0 and time.monotonic() >= self._retry_at:
            try:
                self._check_tail()
                self._quarantine(self._store.write_checked(rows))
                self._committed_rows(rows)
                return
            except psycopg2.Error as e:
                self._store_down(e)
        while True:
            try:
                self._spool.append(rows)
                self.metrics.spool_depth.set(self._spool.depth)
                if self.spool_full.is_set():
                    log.warning("spool has room again")
                self.spool_full.clear()
                return
            except SpoolFull as e:
                if not self.spool_full.is_set():
                    log.error("ALARM %s: consumption paused until postgres is back", e)
                self.spool_full.set()
                self.metrics.spool_full.set(1)
                self._publish()
                if self.stop.is_set():
                    log.error("stopping with a full spool: %d ticks from seq %d stay in the gateway ring",
                              len(rows), rows[0][1])
                    return
                time.sleep(1.0)
                self._drain_spool(force=True)

    def _drain_spool(self, force=False):
        if not force and time.monotonic() < self._retry_at:
            return
        while True:
            oldest = self._spool.oldest()
            if oldest is None:
                break
            name, rows = oldest
            try:
                self._check_tail()
                self._quarantine(self._store.write_checked(rows))
            except psycopg2.Error as e:
                self._store_down(e)
                return
            self._spool.remove(name)
            self._committed_rows(rows)
        self.metrics.spool_full.set(0)
        self.metrics.spool_depth.set(0)

    def _lost_store(self):
        self._store.drop()
        self._recheck = self._committed is not None

    def _check_tail(self):
        """Before the first write after a reconnect: does the store still hold what was committed
        before? A node that took over without the tail (an asynchronous standby promoted by a
        failover) has an older checkpoint. What it lacks goes to ``refills``: the follower replays
        it from the gateway ring and the store ignores what it already has. Raises psycopg2.Error
        while the store is down."""
        if not self._recheck:
            return
        lost = lost_tail(self._store.checkpoint(), self._committed)
        self._recheck = False
        if lost:
            self.refills.append(Refill(*lost))
            log.error("%s lacks committed epoch %d seq %d-%d (a failover to a node without them?): "
                      "writing them again from the gateway ring", pg_where(self.cfg, "pg_"), *lost)

    def _store_down(self, e):
        self._lost_store()
        if self._pg != "down":
            log.error("postgres %s down (%s): spooling to %s", pg_where(self.cfg, "pg_"), first_line(e), self._spool.dir)
        self._pg = "down"
        self.metrics.store_up.labels("postgres").set(0)
        self.metrics.spool_depth.set(self._spool.depth)
        self._retry_at = time.monotonic() + 1.0

    def _quarantine(self, refused):
        for row, reason in refused:
            self._quarantined += 1
            self.metrics.quarantined.inc()
            self._rlog("quarantine", logging.ERROR, "QUARANTINED epoch %r seq %r (PostgreSQL refused it: %s); "
                       "%d so far, see table nexus_quarantine", row[0], row[1], reason, self._quarantined)

    def _committed_rows(self, rows):
        if self._pg != "up":
            log.info("postgres up")
        self._pg = "up"
        self.metrics.store_up.labels("postgres").set(1)
        self.metrics.committed.inc(len(rows))
        last = rows[-1]
        if self._committed is not None and (last[0], last[1]) <= self._committed[:2]:
            return  # a lost tail written again: older than what was committed since
        self._committed = (last[0], last[1], last[3])
        self._commit_delay = time.time() - last[3]
        self.metrics.last_seq.set(last[1])
        self.metrics.lag.set(self._commit_delay)


def lost_tail(found, committed):
    """What a store's checkpoint ``found`` ((epoch, seq) or None) does not reach of ``committed``
    ((epoch, seq, ts) of the newest row committed before, or None): (epoch, first, last), or None.
    Epochs grow (a gateway's start time in ms): an older one means the whole epoch is missing."""
    if committed is None:
        return None
    epoch, seq = committed[0], committed[1]
    if found is None or found[0] < epoch:
        return (epoch, 1, seq)
    if found[0] == epoch and found[1] < seq:
        return (epoch, found[1] + 1, seq)
    return None
