"""The nexus writer (nexus/writer.py): commit, spool while PostgreSQL is down, drain oldest
first, pause on a full spool, quarantine, Redis state. PostgreSQL and Redis are fakes here (unit
level); the spool is the real one on disk. The real stores: tests/integration/test_runtime.py."""
import logging
import queue
import threading
import time

import psycopg2
import pytest
import redis

from mt5mesh.nexus.health import Metrics
from mt5mesh.nexus import messages
from mt5mesh.nexus.schema_config import SCHEMA
from mt5mesh.nexus import writer as writer_mod
from mt5mesh.nexus.writer import INITIAL_STATUS, Writer


class Store:
    """A fake INF PostgreSQL: ``fail`` is how many next writes raise (an outage)."""

    def __init__(self, fail=0, refuse=(), checkpoint=None):
        self.fail, self.refuse, self._checkpoint = fail, refuse, checkpoint
        self.written, self.records, self.drops = [], [], 0

    def write_checked(self, rows):
        if self.fail:
            self.fail -= 1
            raise psycopg2.OperationalError("connection refused")
        rows = [tuple(r) for r in rows]
        refused = [(r, "value out of range") for r in rows if r[1] in self.refuse]
        self.written.append([r for r in rows if r[1] not in self.refuse])
        return refused

    def record(self, *rec):
        if self.fail:
            self.fail -= 1
            raise psycopg2.OperationalError("connection refused")
        self.records.append(rec)

    def checkpoint(self):
        if self.fail:
            self.fail -= 1
            raise psycopg2.OperationalError("connection refused")
        return self._checkpoint

    def drop(self):
        self.drops += 1


class Latest:
    def __init__(self, fail=False):
        self.fail, self.written = fail, []

    def write(self, latest):
        if self.fail:
            raise redis.ConnectionError("Connection refused")
        self.written.append(latest)


def rows(*seqs, epoch=1):
    return [(epoch, s, "EURUSD", 1767139200.0 + s, 1.1, 1.1002) for s in seqs]


def writer(tmp_path, store=None, latest=None, **kw):
    cfg = {o.name: o.default for o in SCHEMA}
    cfg.update(spool_dir=str(tmp_path / "spool"), **kw)
    # Stop: its waits are instant and bounded, so a wait_for_store that never finds the store
    # ready fails its test at once instead of at mutmut's timeout.
    w = Writer(cfg, Metrics(), Stop(), queue.Queue(), threading.Event())
    w._store, w._latest = store or Store(), latest or Latest()
    return w


def committed(w):
    return [r[1] for batch in w._store.written for r in batch]


def test_the_status_starts_as_the_initial_one_and_every_change_is_a_new_dict(tmp_path):
    w = writer(tmp_path)
    assert w.status() == INITIAL_STATUS
    before = w.status()
    w._write_rows(rows(1))
    assert w.status() is before  # published by run(), not by the write itself
    w._publish()
    assert w.status() is not before and w.status()["committed"] == (1, 1, 1767139201.0)


def test_rows_are_committed_and_the_newest_commit_is_published_with_its_delay(tmp_path):
    w = writer(tmp_path)
    w._write_rows(rows(1, 2, 3))
    w._publish()
    s = w.status()
    assert committed(w) == [1, 2, 3] and s["postgres"] == "up" and s["committed"] == (1, 3, 1767139203.0)
    assert s["commit_delay"] == pytest.approx(time.time() - 1767139203.0, abs=5)
    assert w.metrics.committed._value.get() == 3 and w.metrics.last_seq._value.get() == 3
    assert w.metrics.store_up.labels("postgres")._value.get() == 1


def test_an_outage_spools_the_rows_and_later_rows_wait_behind_them_in_order(tmp_path, caplog):
    store = Store(fail=1)
    w = writer(tmp_path, store)
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        w._write_rows(rows(1, 2))
    assert w._spool.depth == 1 and w._pg == "down" and store.drops == 1 and committed(w) == []
    assert "down (connection refused): spooling to" in caplog.text
    assert w.metrics.store_up.labels("postgres")._value.get() == 0 and w.metrics.spool_depth._value.get() == 1
    # Within the retry second the store is not asked again: straight to the spool.
    w._write_rows(rows(3))
    assert w._spool.depth == 2 and committed(w) == []
    w._retry_at = 0.0
    w._write_rows(rows(4))
    assert committed(w) == [1, 2, 3, 4] and w._spool.depth == 0 and w._pg == "up"


def test_the_retry_waits_a_second_after_the_outage(tmp_path):
    w = writer(tmp_path, Store(fail=1))
    t0 = time.monotonic()
    w._write_rows(rows(1))
    assert t0 + 0.9 <= w._retry_at <= time.monotonic() + 1.0


def test_an_outage_is_logged_once_not_per_batch(tmp_path, caplog):
    w = writer(tmp_path, Store(fail=5))
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        for s in range(1, 4):
            w._retry_at = 0.0
            w._write_rows(rows(s))
    assert caplog.text.count("spooling to") == 1 and w._spool.depth == 3


def test_the_spool_drains_oldest_first_and_stops_at_the_first_failure(tmp_path):
    store = Store(fail=1)
    w = writer(tmp_path, store)
    w._write_rows(rows(1))
    w._write_rows(rows(2))
    store.fail = 1
    w._retry_at = 0.0
    w._drain_spool()
    assert w._spool.depth == 2 and committed(w) == []
    w._drain_spool()  # inside the retry second again: not tried
    assert w._spool.depth == 2
    w._drain_spool(force=True)
    assert committed(w) == [1, 2] and w._spool.depth == 0
    assert w.metrics.spool_depth._value.get() == 0 and w.metrics.spool_full._value.get() == 0


def test_rows_postgres_refuses_as_data_are_quarantined_and_the_rest_committed(tmp_path, caplog):
    w = writer(tmp_path, Store(refuse=(2,)))
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        w._write_rows(rows(1, 2, 3))
    assert committed(w) == [1, 3] and w._quarantined == 1 and w.metrics.quarantined._value.get() == 1
    assert "QUARANTINED epoch 1 seq 2 (PostgreSQL refused it: value out of range); 1 so far" in caplog.text


@pytest.fixture
def quick_pause(monkeypatch):
    """The writer waits a second between tries on a full spool; here a hundredth."""
    real, me = time.sleep, threading.current_thread()
    monkeypatch.setattr(writer_mod.time, "sleep", lambda s: real(min(s, 0.01) if threading.current_thread() is me else s))


def test_a_full_spool_pauses_consumption_until_there_is_room(tmp_path, caplog, quick_pause):
    store = Store(fail=1000)
    w = writer(tmp_path, store, spool_max_bytes=1024 * 1024)
    w._write_rows(rows(*range(1, 15000)))  # most of the megabyte
    assert w._spool.depth == 1
    w._retry_at = 0.0
    done = threading.Event()

    def heal():
        assert w.spool_full.wait(5), "the spool never reported full"
        store.fail = 0
        done.set()
    threading.Thread(target=heal, daemon=True).start()
    with caplog.at_level(logging.WARNING, logger="mt5mesh-nexus"):
        w._write_rows(rows(*range(15000, 25000)))
    assert done.is_set() and "ALARM spool" in caplog.text and "consumption paused until postgres is back" in caplog.text
    # Once the store healed, the spool drained and the paused batch took its place in it.
    assert committed(w) == list(range(1, 15000)) and w._spool.depth == 1 and not w.spool_full.is_set()
    assert "spool has room again" in caplog.text
    w._drain_spool(force=True)
    assert committed(w) == list(range(1, 25000))


def test_stopping_with_a_full_spool_says_how_many_ticks_stay_in_the_gateway_ring(tmp_path, caplog, quick_pause):
    w = writer(tmp_path, Store(fail=1000), spool_max_bytes=1024 * 1024)
    w._write_rows(rows(*range(1, 15000)))
    w.stop.set()
    w._retry_at = 0.0
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        w._write_rows(rows(*range(15000, 25000)))
    assert "stopping with a full spool: 10000 ticks from seq 15000 stay in the gateway ring" in caplog.text
    assert w.spool_full.is_set() and w.metrics.spool_full._value.get() == 1


def test_redis_state_follows_each_latest_write(tmp_path, caplog):
    latest = Latest(fail=True)
    w = writer(tmp_path, latest=latest)
    with caplog.at_level(logging.WARNING, logger="mt5mesh-nexus"):
        w._write_latest({"EURUSD": b"{}"})
    assert w._redis == "down" and "Connection refused" in caplog.text
    latest.fail = False
    w._write_latest({"EURUSD": b"{}"})
    assert w._redis == "up" and latest.written == [{"EURUSD": b"{}"}]


def test_the_redis_password_never_reaches_the_log(tmp_path, caplog):
    w = writer(tmp_path, latest=Latest(fail=True), redis_url="redis://:s3cret@127.0.0.1:6379/0")
    with caplog.at_level(logging.WARNING, logger="mt5mesh-nexus"):
        w._write_latest({})
    assert "s3cret" not in caplog.text and "redis://***@127.0.0.1:6379/0" in caplog.text


def test_a_record_is_retried_three_times_then_left_in_the_log(tmp_path, caplog, monkeypatch):
    sleeps_of_this_thread(monkeypatch)
    store = Store(fail=1)
    w = writer(tmp_path, store)
    w._write_record(messages.Record("epoch_change", 2, 10, 3, "detail"))
    assert store.records == [("epoch_change", 2, 10, 3, "detail")] and store.drops == 1
    store.fail, store.records = 3, []
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        w._write_record(messages.Record("gap_unrecoverable", 2, 1, 5, "d"))
    assert store.records == [] and store.drops == 4
    assert caplog.text.count("could not record gap_unrecoverable in postgres") == 3


def test_run_writes_each_item_kind_and_drains_the_spool_before_it_returns(tmp_path):
    store = Store(fail=1)
    w = writer(tmp_path, store)
    w._write_rows(rows(1))  # spooled
    w._retry_at = time.monotonic() + 60
    store.fail = 0
    for item in [messages.Batch(rows(2), {"EURUSD": b"2"}), messages.Record("epoch_change", 1, 0, 0, "d"),
                 messages.Latest({"GBPUSD": b"g"}), None]:
        w.queue.put(item)
    w.run()
    # The batch waited for the retry second, so it went to the spool behind seq 1; the stop drained both.
    assert committed(w) == [1, 2] and store.records == [("epoch_change", 1, 0, 0, "d")]
    assert w._latest.written == [{"EURUSD": b"2"}, {"GBPUSD": b"g"}]
    assert w.status()["spool_depth"] == 0 and w.status()["queue_empty"] is True


def test_an_idle_run_drains_the_spool_when_the_retry_is_due(tmp_path):
    store = Store(fail=1)
    w = writer(tmp_path, store)
    w._write_rows(rows(1))
    w._retry_at = 0.0
    threading.Timer(0.25, w.queue.put, args=(None,)).start()
    w.run()
    assert committed(w) == [1]


def test_wait_for_store_drains_the_spool_then_returns_the_checkpoint(tmp_path):
    store = Store(fail=1, checkpoint=(4, 77))
    w = writer(tmp_path, store)
    w._write_rows(rows(1))
    store.fail = 0
    assert w.wait_for_store() == (4, 77)
    assert committed(w) == [1] and w.status()["postgres"] == "up" and w.stop.waits == []


def test_wait_for_store_without_a_checkpoint_is_a_fresh_start(tmp_path):
    assert writer(tmp_path, Store(checkpoint=None)).wait_for_store() == (None, 0)


def test_wait_for_store_reports_postgres_down_and_gives_up_when_stopped(tmp_path, caplog):
    store = Store(fail=1)
    w = writer(tmp_path, store, pg_password="s3cret")
    orig = store.checkpoint

    def checkpoint():
        w.stop.set()
        return orig()
    store.checkpoint = checkpoint
    with caplog.at_level(logging.WARNING, logger="mt5mesh-nexus"):
        assert w.wait_for_store() is None
    assert w.status()["postgres"] == "down" and store.drops == 1
    assert "waiting for" in caplog.text and "s3cret" not in caplog.text


# --- what operators read, and the exact timings -------------------------------------------------

def test_a_writer_owns_its_tick_store_spool_and_latest_ticks(tmp_path):
    from mt5mesh.nexus.stores import LatestTicks, TickStore
    cfg = {o.name: o.default for o in SCHEMA}
    cfg.update(spool_dir=str(tmp_path / "s"), gateway="gw9")
    # Stop: its waits are instant and bounded, so a wait_for_store that never finds the store
    # ready fails its test at once instead of at mutmut's timeout.
    w = Writer(cfg, Metrics(), Stop(), queue.Queue(), threading.Event())
    assert isinstance(w._store, TickStore) and w._store.gateway == "gw9"
    assert isinstance(w._latest, LatestTicks) and w._latest.key == "mt5:tick:latest:gw9"
    assert w._spool.dir == str(tmp_path / "s") and w.status() == INITIAL_STATUS


def test_recovery_is_logged_once_with_the_store_named_and_the_metric_follows(tmp_path, caplog):
    store = Store(fail=1)
    w = writer(tmp_path, store)
    w._write_rows(rows(1))
    assert w.metrics.store_up.labels("postgres")._value.get() == 0
    w._retry_at = 0.0
    with caplog.at_level(logging.INFO, logger="mt5mesh-nexus"):
        w._write_rows(rows(2))
        w._write_rows(rows(3))
    assert [r.getMessage() for r in caplog.records].count("postgres up") == 1
    assert w.metrics.store_up.labels("postgres")._value.get() == 1
    store.fail = 1
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        w._write_rows(rows(4))
    assert ("postgres postgresql trader@127.0.0.1:5432/mt5_crs down (connection refused): spooling to %s"
            % w._spool.dir) in caplog.messages
    assert w.metrics.store_up.labels("postgres")._value.get() == 0


def test_two_quarantined_rows_count_two(tmp_path):
    w = writer(tmp_path, Store(refuse=(1, 2)))
    w._write_rows(rows(1, 2, 3))
    assert w._quarantined == 2 and w.status() is not None


def test_the_store_is_tried_exactly_when_the_retry_second_is_over(tmp_path, monkeypatch):
    store = Store(fail=1)
    w = writer(tmp_path, store)
    w._write_rows(rows(1))
    monkeypatch.setattr(writer_mod.time, "monotonic", lambda: w._retry_at)
    w._drain_spool()
    assert committed(w) == [1]
    w._write_rows(rows(2))
    assert committed(w) == [1, 2] and w._spool.depth == 0


def test_an_idle_writer_drains_within_its_queue_wait_and_keeps_running(tmp_path):
    store = Store(fail=1)
    w = writer(tmp_path, store)
    w._write_rows(rows(1))
    w._retry_at = 0.0
    t = threading.Thread(target=w.run, daemon=True)
    t.start()
    time.sleep(0.45)  # two queue waits of 0.2 s: the spool was tried at the first
    assert committed(w) == [1] and t.is_alive()
    w.queue.put(None)
    t.join(2)
    assert not t.is_alive() and w.queue.empty()


def sleeps_of_this_thread(monkeypatch):
    """time.sleep is the time module's, shared by every thread: only this thread's calls are
    recorded (and skipped); any other thread's sleep is left alone."""
    slept, me, real = [], threading.current_thread(), time.sleep

    def sleep(s):
        if threading.current_thread() is me:
            slept.append(s)
        else:
            real(s)
    monkeypatch.setattr(writer_mod.time, "sleep", sleep)
    return slept


def test_a_record_waits_half_a_second_between_its_tries_and_logs_what_it_could_not_write(tmp_path, caplog, monkeypatch):
    slept = sleeps_of_this_thread(monkeypatch)
    w = writer(tmp_path, Store(fail=3))
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        w._write_record(messages.Record("gap_unrecoverable", 2, 1, 5, "d"))
    assert slept == [0.5, 0.5, 0.5]
    assert ("could not record gap_unrecoverable in postgres (connection refused); it is in this log: "
            "Record(what='gap_unrecoverable', epoch=2, first=1, last=5, detail='d')") in caplog.messages


def test_a_full_spool_waits_a_second_between_tries_and_drains_at_once_when_it_may(tmp_path, monkeypatch, caplog):
    store = Store(fail=1000)
    w = writer(tmp_path, store, spool_max_bytes=1024 * 1024)
    w._write_rows(rows(*range(1, 15000)))
    slept, me, real = [], threading.current_thread(), time.sleep

    def sleep(s):
        if threading.current_thread() is not me:
            return real(s)
        slept.append(s)
        store.fail = 0  # the store comes back during the pause
        if len(slept) > 5:  # a writer that never drains gives up here, not at mutmut's timeout
            w.stop.set()
        return None
    monkeypatch.setattr(writer_mod.time, "sleep", sleep)
    w._retry_at = time.monotonic() + 60  # a drain that waited for the retry second would not run
    with caplog.at_level(logging.WARNING, logger="mt5mesh-nexus"):
        w._write_rows(rows(*range(15000, 25000)))
    assert slept == [1.0] and committed(w) == list(range(1, 15000)) and w._spool.depth == 1
    assert "ALARM spool %s full (1048576 bytes max): consumption paused until postgres is back" % w._spool.dir in caplog.text


class Stop(threading.Event):
    """Its waits return at once and are counted. After 50 it is set: a loop that would wait
    forever ends its test at once, failing, instead of spinning until a timeout."""
    def __init__(self):
        threading.Event.__init__(self)
        self.waits = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        if len(self.waits) >= 50:
            self.set()
        return threading.Event.wait(self, 0)


def test_wait_for_store_retries_each_second_logs_the_checkpoint_and_drains_the_spool_first(tmp_path, caplog):
    store = Store(fail=1, checkpoint=(4, 77))
    w = writer(tmp_path, store)
    w._write_rows(rows(1))
    w._retry_at = time.monotonic() + 60  # the start drains whatever the retry second says
    store.fail = 1  # the first drain fails; then the checkpoint read fails once
    answers = [psycopg2.OperationalError("connection refused"), (4, 77)]

    def checkpoint():
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a
    store.checkpoint = checkpoint
    w.stop = Stop()
    with caplog.at_level(logging.INFO, logger="mt5mesh-nexus"):
        assert w.wait_for_store() == (4, 77)
    assert w.stop.waits == [1.0, 1.0] and committed(w) == [1]
    assert "waiting for postgresql trader@127.0.0.1:5432/mt5_crs: connection refused" in caplog.text
    assert "checkpoint: epoch 4 seq 77" in caplog.text


def test_a_fresh_start_logs_none(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="mt5mesh-nexus"):
        writer(tmp_path, Store(checkpoint=None)).wait_for_store()
    assert "checkpoint: none (fresh start)" in caplog.text


def test_a_redis_failure_names_the_redacted_url_and_the_first_line_of_the_error(tmp_path, caplog):
    w = writer(tmp_path, latest=Latest(fail=True))
    with caplog.at_level(logging.WARNING, logger="mt5mesh-nexus"):
        w._write_latest({})
    assert "redis redis://127.0.0.1:6379/0: Connection refused" in caplog.text


# --- a store that lost the committed tail (a failover to a node without it) ----------------------

@pytest.mark.parametrize("found, lost", [
    ((7, 10), None), ((7, 12), None), ((8, 1), None),  # all there, or more (another nexus), or a newer epoch
    ((7, 6), (7, 7, 10)), ((7, 0), (7, 1, 10)),         # the tail after the store's checkpoint
    ((6, 99), (7, 1, 10)), (None, (7, 1, 10)),          # an older epoch or nothing: the whole epoch
])
def test_what_a_stores_checkpoint_does_not_reach_of_the_committed_is_the_lost_tail(found, lost):
    assert writer_mod.lost_tail(found, (7, 10, 1767139210.0)) == lost


def test_nothing_committed_yet_is_nothing_lost():
    assert writer_mod.lost_tail(None, None) is None and writer_mod.lost_tail((1, 5), None) is None


def test_after_an_outage_the_first_write_compares_the_stores_checkpoint_and_asks_for_the_lost_tail_once(tmp_path, caplog):
    store = Store(checkpoint=(1, 3))
    w = writer(tmp_path, store)
    w._write_rows(rows(1, 2, 3, 4, 5))
    assert list(w.refills) == []  # no reconnect: the checkpoint is not read
    store.fail = 1
    w._write_rows(rows(6))        # the store is lost: spooled
    w._retry_at = 0.0
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        w._write_rows(rows(7))    # reconnected: it holds seq 3 of the 5 committed
    assert list(w.refills) == [(1, 4, 5)] and committed(w) == [1, 2, 3, 4, 5, 6, 7]
    assert ("%s lacks committed epoch 1 seq 4-5 (a failover to a node without them?): writing them again from "
            "the gateway ring" % writer_mod.pg_where(w.cfg, "pg_")) in caplog.text
    w._write_rows(rows(8))
    assert list(w.refills) == [(1, 4, 5)]  # asked once per reconnect


def after_an_outage(tmp_path, found):
    """A writer that committed seq 1-2, then lost its store while writing seq 3 (spooled); the
    store it reconnects to holds checkpoint ``found``."""
    store = Store(checkpoint=found)
    w = writer(tmp_path, store)
    w._write_rows(rows(1, 2))
    store.fail = 1
    w._write_rows(rows(3))
    return store, w


def test_a_reconnect_whose_store_holds_every_commit_asks_for_nothing(tmp_path):
    _store, w = after_an_outage(tmp_path, (1, 2))
    w._retry_at = 0.0
    w._drain_spool()
    assert list(w.refills) == [] and committed(w) == [1, 2, 3] and w._recheck is False


def test_a_lost_record_write_also_rechecks_the_tail_on_the_next_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_mod.time, "sleep", lambda s: None)
    store = Store(checkpoint=(1, 1))
    w = writer(tmp_path, store)
    w._write_rows(rows(1, 2))
    store.fail = 1
    w._write_record(messages.Record("gap_unrecoverable", 1, 5, 6, "x"))  # fails once, recorded on the retry
    w._write_rows(rows(3))
    assert list(w.refills) == [(1, 2, 2)]


def test_the_spool_drain_checks_the_tail_before_its_first_write_and_a_failed_check_keeps_it_spooled(tmp_path):
    store, w = after_an_outage(tmp_path, (1, 1))
    store.fail = 1              # the checkpoint read itself fails: still down
    w._drain_spool(force=True)
    assert w._spool.depth == 1 and list(w.refills) == [] and w._recheck is True
    w._drain_spool(force=True)
    assert w._spool.depth == 0 and list(w.refills) == [(1, 2, 2)] and committed(w) == [1, 2, 3]


def test_a_lost_tail_written_again_counts_as_committed_but_never_moves_the_newest_commit_back(tmp_path):
    w = writer(tmp_path)
    w._write_rows(rows(1, 2, 3, 4, 5))
    w._write_rows(rows(3, 4))
    w._publish()
    assert w.status()["committed"] == (1, 5, 1767139205.0) and w.metrics.last_seq._value.get() == 5
    assert w.metrics.committed._value.get() == 7
    delay = w._commit_delay
    time.sleep(0.01)
    w._write_rows(rows(5))  # the newest itself again: still not newer, its delay not taken again
    assert w._commit_delay == delay
    w._write_rows(rows(6))
    w._publish()
    assert w.status()["committed"] == (1, 6, 1767139206.0)


def test_lost_tails_waiting_for_the_follower_are_bounded_at_100(tmp_path):
    assert writer(tmp_path).refills.maxlen == 100
