"""The stores process: nexus's writer and hub threads run in a child process of their own.

Why: the follower re-publishes every accepted tick to strategies the moment it arrives. In one
process it shared the GIL with the writer (COPY rows formatted in Python, psycopg2 converting
rows) and the hub (bars built in Python); every recv and send released the GIL and the follower
then waited for it. Measured per tick (gateway -> nexus XPUB minus gateway -> a direct
subscriber, same tick) at 10 000 ticks/s: p99 4-5 ms with the stores in-process, about 1 ms
without them (docs/benchmarks.md, tick latency).

Ownership does not change: the child owns INF PostgreSQL, Redis, the spool and HUB, exactly as
the threads did; the parent keeps the sockets, the sequence and the open batch, and holds a
``StoresProcess`` handle with the surface the follower and the health thread used:
``put()`` (the writer's queue, bounded, so a stuck writer still pauses consumption),
``spool_full`` (an Event), ``status()`` and ``hub_status()`` (the child's snapshots), and
``take_refills()`` (what the store lost after a commit, to be written again).
The child sends its snapshots and metric updates through one pipe; the parent applies them to
the one registry /metrics serves (relay.py: ``apply_metric`` checks them against what it knows).

Nothing is lost if either side dies: a tick is only behind the PostgreSQL checkpoint once the
child committed it; anything queued or in flight is replayed from the gateway ring on restart.
The child ignores SIGTERM (systemd signals the whole unit): it stops after the parent's last
batch, and exits by itself if the parent is gone.
"""
import collections
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import threading
import time
from typing import Any

from mt5mesh.config import Config
from mt5mesh.nexus.hubworker import INITIAL_STATUS as HUB_INITIAL, HubWorker
from mt5mesh.nexus.messages import Checkpoint, Refill, Update
from mt5mesh.nexus.relay import MetricsRelay, apply_metric
from mt5mesh.nexus.writer import INITIAL_STATUS as WRITER_INITIAL, Writer
from mt5mesh.service import setup_logging

log = logging.getLogger("mt5mesh-nexus")

FORWARD_EVERY_S = 0.05


# --- the child's side -------------------------------------------------------------------
def child_main(values, items, spool_full, stop, conn, parent_pid):
    """The child process: wait for the store, report the checkpoint, then write until the
    parent's ``None``. ``values``: the parent's validated settings (a Config is rebuilt from
    them, nothing is validated twice). ``stop`` is set by the parent (SIGTERM there) or here
    when done."""
    cfg = Config(values)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_logging("mt5mesh-nexus", cfg["log_level"])
    metrics = MetricsRelay()
    writer = Writer(cfg, metrics, stop, items, spool_full)
    hub = HubWorker(cfg, metrics, stop) if cfg["hub_pg_host"] else None
    lock = threading.Lock()

    def send(msg):
        with lock:  # the forwarder and this thread both send
            conn.send(msg)

    forward = threading.Thread(target=_forward, args=(writer, hub, metrics, send, stop), name="forward", daemon=True)
    forward.start()
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent", daemon=True).start()
    checkpoint = writer.wait_for_store()
    send(Checkpoint(checkpoint))
    if checkpoint is None:
        return
    hub_thread = threading.Thread(target=hub.run, name="hub", daemon=True) if hub is not None else None
    if hub_thread is not None:
        hub_thread.start()
    try:
        writer.run()
    finally:
        stop.set()
        for thread in (hub_thread, forward):
            if thread is not None:
                thread.join(5)
        _send_update(writer, hub, metrics, send, {})
        conn.close()


def _forward(writer, hub, metrics, send, stop):
    """What the writer and hub published, and their metric updates, reach the parent within
    FORWARD_EVERY_S, in one message."""
    last: dict[Any, Any] = {}
    while True:
        try:
            _send_update(writer, hub, metrics, send, last)
        except OSError:
            return
        if stop.wait(FORWARD_EVERY_S):
            return


def _send_update(writer, hub, metrics, send, last):
    # Each queue is drained by count, not until empty: bounded even while its owner appends, and
    # popleft() keeps each item's hand-over atomic.
    for _i in range(len(writer.refills)):  # each once, before the snapshot that follows it
        send(writer.refills.popleft())
    snaps = {"writer": writer.status(), "hub": hub.status() if hub is not None else None}
    changed = {k: v for k, v in snaps.items() if v is not None and v is not last.get(k)}
    updates = [metrics.updates.popleft() for _i in range(len(metrics.updates))]
    if changed or updates:
        last.update(changed)
        send(Update(changed, updates))


def _watch_parent(parent_pid):
    # The parent was killed (no last batch will come): leave as a SIGKILL would. Every committed
    # tick is behind the checkpoint; the rest is replayed from the gateway ring by the next nexus.
    while os.getppid() == parent_pid:
        time.sleep(0.2)
    log.error("stores process: nexus (pid %d) is gone; exiting", parent_pid)
    os._exit(1)


# --- the parent's side ------------------------------------------------------------------
def exit_code(proc, timeout):
    """The child's exit code, waiting at most ``timeout`` s for it; None if it still runs.

    Why not ``proc.join(timeout)``: the kernel closes a dying child's sentinel before the child
    can be reaped, and join() with a timeout polls once (WNOHANG) after the sentinel: in that
    window it reads no exit code (seen in CI: "exit code None" for a SIGKILLed child)."""
    deadline = time.monotonic() + timeout
    multiprocessing.connection.wait([proc.sentinel], timeout)
    while proc.exitcode is None and time.monotonic() < deadline:
        time.sleep(0.005)
    return proc.exitcode


class StoresProcess:
    """The parent's handle on the stores process."""

    def __init__(self, cfg, metrics, stop):
        self.metrics, self.stop = metrics, stop
        ctx = multiprocessing.get_context("spawn")
        self.items = ctx.Queue(maxsize=cfg["queue_batches"])
        # The parent never waits for its queue feeder at exit: the child is either done (it read
        # the last item) or gone, and what it did not commit is replayed on restart.
        self.items.cancel_join_thread()
        self.spool_full = ctx.Event()
        self._child_stop = ctx.Event()
        self._conn, child_conn = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=child_main, name="mt5mesh-nexus-stores", daemon=True,
                                 args=(cfg.as_dict(), self.items, self.spool_full, self._child_stop, child_conn, os.getpid()))
        self._child_conn = child_conn
        self._status = dict(WRITER_INITIAL)
        self._hub_status = dict(HUB_INITIAL) if cfg["hub_pg_host"] else None
        self._checkpoint = None
        self._checkpoint_seen = threading.Event()
        self._refills: collections.deque[Any] = collections.deque(maxlen=100)
        self._finishing = False
        self._gone = threading.Event()
        self._receiver = threading.Thread(target=self._receive, name="stores", daemon=True)
        self.failure = None

    def status(self):
        return self._status

    def hub_status(self):
        return self._hub_status

    def start(self):
        self._proc.start()
        self._child_conn.close()
        self._receiver.start()
        threading.Thread(target=self._forward_stop, name="stop", daemon=True).start()

    def _forward_stop(self):
        self.stop.wait()
        self._child_stop.set()

    def _receive(self):
        # The only thread that asks after the child while it runs (two threads waiting for one
        # child race: the loser reads no exit code); finish() joins it only after this ends.
        while True:
            try:
                msg = self._conn.recv()
            except (EOFError, OSError):
                break
            if isinstance(msg, Update):
                self._status = msg.changed.get("writer", self._status)
                self._hub_status = msg.changed.get("hub", self._hub_status)
                for update in msg.metrics:
                    error = apply_metric(self.metrics, update)
                    if error:
                        log.error("stores process: %s", error)
            elif isinstance(msg, Checkpoint):
                self._checkpoint = msg.at
                self._checkpoint_seen.set()
            elif isinstance(msg, Refill):
                self._refills.append(msg)
        # The pipe closed: the child is done, or it died.
        if not (self._finishing or self.stop.is_set()):
            self.failure = "stores process exited unexpectedly (exit code %s)" % exit_code(self._proc, 5)
            log.error("%s: stopping nexus; what it did not commit is replayed from the gateway ring "
                      "when nexus starts again", self.failure)
            self.stop.set()
        self._gone.set()
        self._checkpoint_seen.set()

    def take_refills(self):
        """What the writer found lost from the store after a commit, (epoch, first, last) each,
        for the follower to write again; each is returned once."""
        return [self._refills.popleft() for _i in range(len(self._refills))]

    def wait_for_store(self):
        """The checkpoint once the child has drained its spool and read it; None on stop."""
        self._checkpoint_seen.wait()  # _receive sets it on stop or on the child's death too
        return self._checkpoint

    def put(self, item, deadline=None):
        """Hand an item to the writer. Blocks while its queue is full (consumption pauses, the
        gateway ring keeps the events). Returns None, or why the item was not handed over."""
        while True:
            try:
                self.items.put(item, timeout=0.5)
                return None
            except queue.Full:
                if self._gone.is_set():
                    return "the stores process is gone"
                if self.stop.is_set() and self.spool_full.is_set():
                    return "shutting down with a full spool"
                if deadline is not None and time.monotonic() > deadline:
                    return "the stores process took nothing for too long"

    def finish(self, timeout=30):
        """The last batch is queued: let the child write it and stop (its pipe closes when it
        exits), then reap it."""
        self._finishing = True
        deadline = time.monotonic() + timeout
        if not self._gone.is_set():
            self.put(None, deadline)
        self._receiver.join(max(0.1, deadline - time.monotonic()))
        if self._receiver.is_alive():
            log.error("stores process did not stop within %ds; killing it (nothing committed is lost)", timeout)
            self._proc.kill()
            self._receiver.join(5)
        code = exit_code(self._proc, 5)
        if code and not self.failure:
            self.failure = "stores process exited with code %s while stopping" % code
