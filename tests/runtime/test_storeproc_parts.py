"""The stores process's plumbing (nexus/storeproc.py) on fakes: what the child forwards, what
the parent does with each message, and why a hand-over fails. The real child process against
real stores: tests/integration/test_stores_process.py."""
import collections
import logging
import queue
import threading
import time

from mt5mesh.nexus import storeproc
from mt5mesh.nexus.health import Metrics
from mt5mesh.nexus.messages import Batch, Checkpoint, Refill, Update
from mt5mesh.nexus.relay import MetricsRelay
from mt5mesh.nexus.schema_config import SCHEMA
from mt5mesh.nexus.storeproc import StoresProcess, _forward, _send_update
from support.pipes import Conn, Pipe


class Snap:
    def __init__(self, value, refills=()):
        self.value = value
        self.refills = collections.deque(refills)

    def status(self):
        return self.value


def test_an_update_carries_only_the_snapshots_that_changed_and_every_queued_metric():
    writer, hub, metrics, sent, last = Snap({"w": 1}), Snap({"h": 1}), MetricsRelay(), [], {}
    metrics.committed.inc(5)
    metrics.store_up.labels("hub").set(1)
    _send_update(writer, hub, metrics, sent.append, last)
    assert sent == [Update({"writer": {"w": 1}, "hub": {"h": 1}},
                           [("committed", (), "inc", 5), ("store_up", ("hub",), "set", 1)])]
    assert not metrics.updates and last == {"writer": writer.value, "hub": hub.value}
    _send_update(writer, hub, metrics, sent.append, last)  # nothing new: nothing sent
    assert len(sent) == 1
    writer.value = {"w": 2}  # a new dict (the writer never mutates a published one)
    _send_update(writer, hub, metrics, sent.append, last)
    assert sent[-1] == Update({"writer": {"w": 2}}, [])


def test_each_lost_tail_the_writer_found_is_forwarded_once_before_the_snapshot():
    writer, sent, last = Snap({"w": 1}, [Refill(7, 3, 9), Refill(7, 12, 12)]), [], {}
    _send_update(writer, None, MetricsRelay(), sent.append, last)
    assert sent == [Refill(7, 3, 9), Refill(7, 12, 12), Update({"writer": {"w": 1}}, [])]
    _send_update(writer, None, MetricsRelay(), sent.append, last)
    assert len(sent) == 3 and not writer.refills


def test_the_parent_hands_each_lost_tail_to_the_follower_once_in_order():
    sp = parent()
    sp._finishing = True
    sp._conn = Pipe(Refill(7, 3, 9), Update({}, []), Refill(7, 12, 12))
    sp._receive()
    assert sp.take_refills() == [(7, 3, 9), (7, 12, 12)] and sp.take_refills() == []


def test_without_a_hub_only_the_writer_is_forwarded():
    sent = []
    _send_update(Snap({"w": 1}), None, MetricsRelay(), sent.append, {})
    assert sent == [Update({"writer": {"w": 1}}, [])]


def test_a_metric_alone_is_forwarded_even_when_no_snapshot_changed():
    writer, metrics, sent = Snap({"w": 1}), MetricsRelay(), []
    last = {"writer": writer.value}
    metrics.lag.set(0.5)
    _send_update(writer, None, metrics, sent.append, last)
    assert sent == [Update({}, [("lag", (), "set", 0.5)])]


def test_the_forwarder_stops_on_stop_and_when_the_pipe_breaks():
    stop, sent = threading.Event(), []
    writer = Snap({"w": 1})

    def send(msg):
        sent.append(msg)
        writer.value = {"w": len(sent)}
        if len(sent) == 3:
            stop.set()
    t0 = time.monotonic()
    forwarder = threading.Thread(target=_forward, args=(writer, None, MetricsRelay(), send, stop), daemon=True)
    forwarder.start()
    forwarder.join(3)  # bounded: a forwarder that waits for stop alone never returns
    assert not forwarder.is_alive() and len(sent) == 3 and time.monotonic() - t0 < 2 * 3 * storeproc.FORWARD_EVERY_S + 1

    def broken(msg):
        raise BrokenPipeError("gone")
    _forward(writer, None, MetricsRelay(), broken, threading.Event())  # returns, never raises


class Proc:
    exitcode = -9
    sentinel = None


def parent(hub=True, **kw):
    cfg = {o.name: o.default for o in SCHEMA}
    cfg.update(hub_pg_host="127.0.0.1" if hub else None, **kw)
    from mt5mesh.config import Config
    return StoresProcess(Config(cfg), Metrics(), threading.Event())


def test_the_parent_starts_from_the_initial_snapshots_and_has_no_hub_status_without_a_hub():
    assert parent().status()["postgres"] == "unknown" and parent().hub_status() is not None
    assert parent(hub=False).hub_status() is None


def test_updates_replace_the_snapshots_and_apply_metrics_while_bad_ones_are_logged(caplog, monkeypatch):
    sp = parent()
    sp._finishing = True
    sp._conn = Pipe(Update({"writer": {"postgres": "up"}}, [("committed", (), "inc", 7)]),
                    Update({"hub": {"hub": "down"}}, [("nope", (), "inc", 1)]),
                    Checkpoint((3, 30)), "junk", ())
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        sp._receive()
    assert sp.status() == {"postgres": "up"} and sp.hub_status() == {"hub": "down"}
    assert sp.metrics.committed._value.get() == 7
    assert "stores process: no such metric: 'nope'" in [r.getMessage() for r in caplog.records]
    assert sp.wait_for_store() == (3, 30) and sp.failure is None and not sp.stop.is_set()


def test_a_child_that_dies_unasked_stops_nexus_naming_its_exit_code(caplog, monkeypatch):
    sp = parent()
    sp._proc = Proc()
    asked = []
    monkeypatch.setattr(storeproc, "exit_code", lambda proc, timeout: asked.append((proc, timeout)) or proc.exitcode)
    sp._conn = Pipe(OSError("reset"))
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        sp._receive()
    assert sp.failure == "stores process exited unexpectedly (exit code -9)" and sp.stop.is_set()
    assert asked == [(sp._proc, 5)]  # its exit code is waited for, 5 s at most
    assert sp._gone.is_set() and sp.wait_for_store() is None
    assert [r.getMessage() for r in caplog.records] == [
        "stores process exited unexpectedly (exit code -9): stopping nexus; what it did not commit is "
        "replayed from the gateway ring when nexus starts again"]


def test_a_child_that_ends_while_nexus_stops_is_no_failure():
    sp = parent()
    sp.stop.set()
    sp._conn = Pipe()
    sp._receive()
    assert sp.failure is None and sp._gone.is_set()


class FullQueue:
    def __init__(self, room_after=None):
        self.room_after, self.tries, self.items, self.timeouts = room_after, 0, [], []

    def put(self, item, timeout="none given"):
        self.tries += 1
        self.timeouts.append(timeout)
        if self.room_after is None or self.tries <= self.room_after:
            raise queue.Full
        self.items.append(item)


def test_a_hand_over_waits_for_room_and_then_succeeds():
    sp = parent()
    sp.items = FullQueue(room_after=2)
    assert sp.put(Batch([1], {})) is None and sp.items.items == [Batch([1], {})] and sp.items.tries == 3
    assert sp.items.timeouts == [0.5] * 3  # each try waits half a second, then looks why again


def test_a_hand_over_fails_with_its_reason_when_the_child_is_gone_stopping_on_a_full_spool_or_past_the_deadline():
    sp = parent()
    sp.items = FullQueue()
    sp._gone.set()
    assert sp.put("x") == "the stores process is gone"
    sp = parent()
    sp.items = FullQueue()
    sp.stop.set()
    sp.spool_full.set()
    assert sp.put("x") == "shutting down with a full spool"
    sp = parent()
    sp.items = FullQueue()
    sp.stop.set()  # stopping, spool not full: it keeps trying until the deadline
    assert sp.put("x", deadline=time.monotonic() - 1) == "the stores process took nothing for too long"
    assert sp.items.tries == 1


def test_stop_is_forwarded_to_the_child():
    sp = parent()
    t = threading.Thread(target=sp._forward_stop, daemon=True)
    t.start()
    assert not sp._child_stop.is_set()
    sp.stop.set()
    t.join(2)
    assert sp._child_stop.is_set()


# --- the child's main, on fakes, in this process ---------------------------------------------

class FakeWriter:
    instances = []

    def __init__(self, cfg, metrics, stop, items, spool_full, checkpoint=(5, 50)):
        self.cfg, self.metrics, self.stop = cfg, metrics, stop
        self.checkpoint, self.ran = FakeWriter.checkpoint, False
        self.refills = collections.deque()
        FakeWriter.instances.append(self)

    def wait_for_store(self):
        return self.checkpoint

    def run(self):
        self.ran = True
        self.metrics.committed.inc(3)

    def status(self):
        return {"postgres": "up"}


class FakeHub:
    def __init__(self, cfg, metrics, stop):
        self.stop, self.ran = stop, False

    def run(self):
        self.ran = True
        self.stop.wait(5)

    def status(self):
        return {"hub": "up"}


def run_child(monkeypatch, checkpoint, hub_host="127.0.0.1"):
    import os
    monkeypatch.setattr(storeproc, "Writer", FakeWriter)
    monkeypatch.setattr(storeproc, "HubWorker", FakeHub)
    monkeypatch.setattr(storeproc, "setup_logging", lambda *a: None)
    # The parent watcher would outlive the test (a thread per run, forever): not started here.
    monkeypatch.setattr(storeproc, "_watch_parent", lambda pid: None)
    signals = []
    monkeypatch.setattr(storeproc.signal, "signal", lambda sig, how: signals.append((sig, how)))
    FakeWriter.checkpoint = checkpoint
    FakeWriter.instances = []
    values = {o.name: o.default for o in SCHEMA}
    values["hub_pg_host"] = hub_host
    stop, conn = threading.Event(), Conn()
    storeproc.child_main(values, queue.Queue(), threading.Event(), stop, conn, os.getppid())
    return FakeWriter.instances[-1], stop, conn, signals


def test_the_child_ignores_sigterm_and_sigint_reports_the_checkpoint_writes_and_reports_once_more(monkeypatch):
    import signal
    writer, stop, conn, signals = run_child(monkeypatch, (5, 50))
    assert signals == [(signal.SIGTERM, signal.SIG_IGN), (signal.SIGINT, signal.SIG_IGN)]
    assert Checkpoint((5, 50)) in conn.sent and writer.ran and stop.is_set() and conn.closed
    last = conn.sent[-1]
    assert isinstance(last, Update) and ("committed", (), "inc", 3) in [u for m in conn.sent if isinstance(m, Update) for u in m.metrics]
    assert conn.sent.index(Checkpoint((5, 50))) < len(conn.sent) - 1


def test_a_child_stopped_before_the_store_came_up_reports_no_checkpoint_and_writes_nothing(monkeypatch):
    writer, stop, conn, signals = run_child(monkeypatch, None)
    assert Checkpoint(None) in conn.sent and not writer.ran and not conn.closed


def test_without_a_hub_host_no_hub_thread_runs(monkeypatch):
    writer, stop, conn, signals = run_child(monkeypatch, (1, 1), hub_host=None)
    assert writer.ran and all(m.changed.get("hub") is None for m in conn.sent if isinstance(m, Update))


# --- finishing -------------------------------------------------------------------------------

def test_finish_queues_the_end_waits_for_the_child_and_reads_its_exit_code(monkeypatch):
    sp = parent()
    sp.items = FullQueue(room_after=1)  # full once: the end is queued on the next try, within the deadline
    sp._receiver = threading.Thread(target=lambda: None)
    sp._receiver.start()
    sp._proc = Proc()
    asked = []
    monkeypatch.setattr(storeproc, "exit_code", lambda proc, timeout: asked.append((proc, timeout)) or 0)
    sp.finish(timeout=5)
    assert sp.items.items == [None] and sp.failure is None and sp._finishing
    assert asked == [(sp._proc, 5)]


def test_a_finish_whose_queue_stays_full_gives_up_at_its_deadline_and_kills_the_child(monkeypatch, caplog):
    sp = parent()
    sp.items = FullQueue()  # never any room, and the child not gone
    release = threading.Event()
    sp._receiver = threading.Thread(target=release.wait, args=(2,), daemon=True)
    sp._receiver.start()

    class Stuck:
        def kill(self):
            release.set()
    sp._proc = Stuck()
    monkeypatch.setattr(storeproc, "exit_code", lambda proc, timeout: -9)
    finishing = threading.Thread(target=sp.finish, kwargs={"timeout": 0.3}, daemon=True)
    finishing.start()
    finishing.join(3)  # bounded: a hand-over with no deadline would try forever
    assert not finishing.is_alive() and sp.items.items == []


def test_a_child_that_exits_non_zero_while_stopping_is_a_failure_naming_the_code(monkeypatch):
    sp = parent()
    sp.items = FullQueue(room_after=0)
    sp._gone.set()  # already gone: nothing is queued
    sp._receiver = threading.Thread(target=lambda: None)
    sp._receiver.start()
    monkeypatch.setattr(storeproc, "exit_code", lambda proc, timeout: 3)
    sp.finish(timeout=5)
    assert sp.items.items == [] and sp.failure == "stores process exited with code 3 while stopping"


def test_a_child_that_does_not_stop_in_time_is_killed(monkeypatch, caplog):
    sp = parent()
    sp.items = FullQueue(room_after=0)
    release = threading.Event()
    sp._receiver = threading.Thread(target=release.wait, args=(2,), daemon=True)
    sp._receiver.start()
    killed = []

    class Stuck:
        def kill(self):
            killed.append(True)
            release.set()
    sp._proc = Stuck()
    monkeypatch.setattr(storeproc, "exit_code", lambda proc, timeout: -9)
    with caplog.at_level(logging.ERROR, logger="mt5mesh-nexus"):
        sp.finish(timeout=0.2)
    assert killed == [True] and [r.getMessage() for r in caplog.records] == [
        "stores process did not stop within 0s; killing it (nothing committed is lost)"]
    assert sp.failure == "stores process exited with code -9 while stopping"


def test_every_message_crosses_the_process_boundary_as_its_own_type_with_its_fields():
    import pickle
    from mt5mesh.nexus import messages
    sent = [messages.Batch([("t", 1)], {"EURUSD": b"f"}), messages.Latest({"A": b"x"}),
            messages.Record("epoch_change", 2, 1, 3, "d"), messages.Checkpoint((2, 3)), messages.Checkpoint(None),
            messages.Update({"writer": {}}, [("lag", (), "set", 0.5)]), messages.Refill(2, 4, 9)]
    back = [pickle.loads(pickle.dumps(m)) for m in sent]
    assert back == sent and [type(m) for m in back] == [type(m) for m in sent]
