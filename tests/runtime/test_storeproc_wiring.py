"""How the stores process is wired (nexus/storeproc.py): which objects each side hands to which
thread or process, under which name, and how the child leaves when nexus is gone. The plumbing's
behaviour on fakes: test_storeproc_parts.py; the real child against real stores:
tests/integration/test_stores_process.py.

Every wait here is bounded (a thread joined with a timeout), so a mutant that blocks fails in
seconds instead of running into mutmut's timeout."""
import collections
import ctypes
import multiprocessing
import os
import queue
import signal
import threading
import time

from mt5mesh.config import Config
from mt5mesh.nexus import storeproc
from mt5mesh.nexus.health import Metrics
from mt5mesh.nexus.messages import Checkpoint, Refill, Update
from mt5mesh.nexus.relay import MetricsRelay
from mt5mesh.nexus.schema_config import SCHEMA
from mt5mesh.nexus.storeproc import StoresProcess
from support.pipes import Conn, Pipe

FORK = multiprocessing.get_context("fork")


def values(hub_host="127.0.0.1"):
    out = {o.name: o.default for o in SCHEMA}
    out.update(hub_pg_host=hub_host, log_level="DEBUG")
    return out


class Child:
    """The fakes child_main builds, each recording what it was given and where it ran."""

    def __init__(self, monkeypatch):
        self.conn, self.logging, self.watched, self.writer, self.hub = Conn(), [], [], None, None
        child = self

        class Writer:
            def __init__(self, *args):
                self.args, self.refills, child.writer = args, collections.deque(), self

            def wait_for_store(self):
                return (5, 50)

            def run(self):
                # While the writer runs, the forwarder (not the last update) carries its metric
                # and the hub's snapshot to the parent.
                self.args[1].committed.inc(3)
                deadline = time.monotonic() + 1  # the forwarder sends every 50 ms
                while time.monotonic() < deadline and not self.forwarded():
                    time.sleep(0.005)
                self.threads = {t.name: t.daemon for t in threading.enumerate()}

            def forwarded(self):
                return [m for m in child.conn.sent if isinstance(m, Update)
                        and ("committed", (), "inc", 3) in m.metrics and ("hub" in m.changed or child.hub is None)]

            def status(self):
                return {"postgres": "up"}

        class Hub:
            def __init__(self, *args):
                self.args, self.ran_in, child.hub = args, None, self

            def run(self):
                me = threading.current_thread()
                self.ran_in = (me.name, me.daemon)
                self.args[2].wait(3)

            def status(self):
                return {"hub": "up"}

        def watch(pid):
            me = threading.current_thread()
            self.watched.append((pid, me.name, me.daemon))

        monkeypatch.setattr(storeproc, "Writer", Writer)
        monkeypatch.setattr(storeproc, "HubWorker", Hub)
        monkeypatch.setattr(storeproc, "setup_logging", lambda *a: self.logging.append(a))
        monkeypatch.setattr(storeproc, "_watch_parent", watch)
        monkeypatch.setattr(storeproc.signal, "signal", lambda sig, how: None)

    def run(self, given, timeout=8):
        self.items, self.spool_full, self.stop = queue.Queue(), threading.Event(), threading.Event()
        # Not a daemon thread, like the real child's main thread: a thread it starts is a daemon
        # only because it says so, not because it inherits the flag.
        t = threading.Thread(target=storeproc.child_main, daemon=False,
                             args=(given, self.items, self.spool_full, self.stop, self.conn, 4242))
        t.start()
        t.join(timeout)
        assert not t.is_alive(), "child_main did not return"


def test_the_child_hands_its_own_settings_queue_and_events_to_the_writer_and_hub(monkeypatch):
    child = Child(monkeypatch)
    given = values()
    child.run(given)
    cfg, metrics, stop, items, spool_full = child.writer.args
    assert isinstance(cfg, Config) and cfg.as_dict() == given
    assert isinstance(metrics, MetricsRelay)
    assert stop is child.stop and items is child.items and spool_full is child.spool_full
    assert child.hub.args[0] is cfg and child.hub.args[1] is metrics and child.hub.args[2] is stop
    assert child.logging == [("mt5mesh-nexus", "DEBUG")]


def test_the_child_runs_the_hub_forwarder_and_parent_watch_as_named_daemon_threads(monkeypatch):
    child = Child(monkeypatch)
    child.run(values())
    assert child.hub.ran_in == ("hub", True)
    assert child.writer.threads.get("forward") is True
    assert child.watched == [(4242, "parent", True)]


def test_the_forwarder_carries_metrics_and_hub_status_while_the_writer_runs_and_the_last_update_has_both(monkeypatch):
    child = Child(monkeypatch)
    child.run(values())
    assert child.writer.forwarded(), "nothing forwarded while the writer ran"
    assert Checkpoint((5, 50)) in child.conn.sent
    assert child.conn.sent[-1] == Update({"writer": {"postgres": "up"}, "hub": {"hub": "up"}}, [])
    assert child.conn.closed and child.stop.is_set()


def test_without_a_hub_host_no_hub_is_built(monkeypatch):
    child = Child(monkeypatch)
    child.run(values(hub_host=None))
    assert child.hub is None and "hub" not in child.writer.threads
    assert child.conn.sent[-1] == Update({"writer": {"postgres": "up"}}, [])


# --- the parent's handle ---------------------------------------------------------------------

def parent(hub=True):
    return StoresProcess(Config(values("127.0.0.1" if hub else None)), Metrics(), threading.Event())


def test_the_child_is_a_spawned_daemon_process_named_for_ps_given_everything_it_needs():
    sp = parent()
    proc = sp._proc
    assert type(proc).__name__ == "SpawnProcess" and proc.daemon is True
    assert proc.name == "mt5mesh-nexus-stores" and proc._target is storeproc.child_main
    given, items, spool_full, child_stop, conn, pid = proc._args
    assert given == values()
    assert items is sp.items and spool_full is sp.spool_full and child_stop is sp._child_stop
    assert pid == os.getpid() and conn is sp._child_conn


def test_the_pipe_runs_one_way_child_to_parent():
    sp = parent()
    assert sp._conn.readable and not sp._conn.writable
    assert sp._child_conn.writable and not sp._child_conn.readable


def test_the_receiver_is_a_named_daemon_thread_reading_the_pipe():
    sp = parent()
    assert sp._receiver.name == "stores" and sp._receiver.daemon is True
    assert sp._receiver._target == sp._receive


def test_only_the_last_100_lost_tails_are_kept_for_the_follower():
    sp = parent()
    sp._finishing = True
    sp._conn = Pipe(*[Refill(1, n, n) for n in range(150)])
    sp._receive()
    assert sp.take_refills() == [(1, n, n) for n in range(50, 150)]


def test_an_update_without_a_hub_snapshot_keeps_the_last_one():
    sp = parent()
    sp._finishing = True
    sp._conn = Pipe(Update({"hub": {"hub": "up"}}, []), Update({"writer": {"postgres": "up"}}, []))
    sp._receive()
    assert sp.hub_status() == {"hub": "up"} and sp.status() == {"postgres": "up"}


def test_start_starts_the_child_drops_its_pipe_end_reads_and_forwards_stop_on_a_named_daemon_thread():
    sp = parent()
    done = []

    class Proc:
        def start(self):
            done.append("proc")

    class End:
        def close(self):
            done.append("closed")

    class Receiver:
        def start(self):
            done.append("receiver")
    sp._proc, sp._child_conn, sp._receiver = Proc(), End(), Receiver()
    sp.start()
    assert done == ["proc", "closed", "receiver"]
    stopper = [t for t in threading.enumerate() if t.name == "stop"]
    assert len(stopper) == 1 and stopper[0].daemon is True
    sp.stop.set()
    stopper[0].join(2)
    assert sp._child_stop.is_set()


# --- the child's watch on its parent -----------------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36


def _middle(report):
    """nexus's stand-in: starts a watcher child (the stores process's watch thread, run in its
    main thread), reports its pid, checks it stays while this process lives, then dies."""
    pid = os.fork()
    if pid == 0:
        try:
            err = os.open(os.devnull, os.O_WRONLY)
            os.dup2(err, 2)
            storeproc._watch_parent(os.getppid())
        finally:
            os._exit(99)  # the watcher returned or raised instead of exiting
    report.send(pid)
    time.sleep(0.5)
    still = os.waitpid(pid, os.WNOHANG) == (0, 0)
    os._exit(0 if still else 7)


def test_the_stores_process_exits_1_soon_after_nexus_is_gone_and_not_before():
    libc = ctypes.CDLL(None, use_errno=True)
    # Orphans are re-parented to this process (not init), so the watcher's exit code can be read.
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    watcher = None
    try:
        here, there = FORK.Pipe(duplex=False)
        middle = FORK.Process(target=_middle, args=(there,))
        middle.start()
        assert here.poll(5)
        watcher = here.recv()
        middle.join(5)
        assert middle.exitcode == 0, "the watcher left while nexus still ran"
        deadline = time.monotonic() + 3
        status = None
        while time.monotonic() < deadline:
            got, status = os.waitpid(watcher, os.WNOHANG)
            if got:
                break
            time.sleep(0.02)
        else:
            os.kill(watcher, signal.SIGKILL)
            os.waitpid(watcher, 0)
            raise AssertionError("the watcher did not leave within 3 s of nexus")
        watcher = None
        assert os.waitstatus_to_exitcode(status) == 1
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        if watcher is not None:
            try:
                os.kill(watcher, signal.SIGKILL)
                os.waitpid(watcher, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def test_the_watch_looks_five_times_a_second_and_exits_1_logging_that_nexus_is_gone_naming_its_pid(monkeypatch, caplog):
    exits = []

    class Left(Exception):
        pass

    def leave(code):
        exits.append(code)
        raise Left()
    parents, slept = [31337, 31337, 1], []
    monkeypatch.setattr(storeproc.os, "_exit", leave)
    monkeypatch.setattr(storeproc.os, "getppid", lambda: parents.pop(0))  # re-parented on the 3rd look
    me, real_sleep = threading.current_thread(), time.sleep
    # time and os are the modules themselves: record only this thread's sleeps.
    monkeypatch.setattr(storeproc.time, "sleep", lambda s: slept.append(s) if threading.current_thread() is me else real_sleep(s))
    with caplog.at_level("ERROR", logger="mt5mesh-nexus"):
        try:
            storeproc._watch_parent(31337)
        except Left:
            pass
    assert slept == [0.2, 0.2]  # it looks five times a second
    assert exits == [1]
    assert [r.getMessage() for r in caplog.records] == ["stores process: nexus (pid 31337) is gone; exiting"]
