"""A strategy's view of one gateway's stream through several nexus XPUBs (one per INF host):
every event once, in seq order, and every seq that is lost said so, never skipped in silence.

    from mt5mesh.client import Subscriber

    sub = Subscriber(["tcp://10.0.0.11:5558", "tcp://10.0.0.12:5558"], topics=[b"tick.EURUSD"])
    try:
        while True:
            ev = sub.recv(timeout=1.0)          # a dict: epoch, seq, symbol, ts, bid, ask, ...
            if ev is not None:
                on_tick(ev)
            for epoch, first, last in sub.take_gaps():
                log.warning("lost seq %d-%d of epoch %d", first, last, epoch)
    finally:
        sub.close()

Both INF hosts re-publish the same (epoch, seq) events, so one host's death costs nothing: the
other's copy of each event is delivered. An event that runs ahead of a missing one is held for
``window_s`` (the other host may still bring the missing one); after that the missing seqs are a
gap and the stream goes on. Every byte from a peer is hostile: a malformed message is counted
and dropped, never raised. A topic filter that leaves symbols out makes their seqs look missing:
filter by symbol after ``recv`` unless gaps do not matter to you (``topics`` then only saves
bandwidth).
"""
import time

from mt5mesh.wire import protocol, sockets

# Events held ahead of a missing one, at most: past this the oldest missing seqs are declared lost
# at once, so a peer that skips ahead cannot grow memory without bound.
MAX_HELD = 100000


class Merge:
    """The decision part, on plain data (pure but for the clock it is given): events of one
    gateway offered from any number of sources, released once each, in seq order."""

    def __init__(self, window_s=1.0, max_held=MAX_HELD):
        self.window_s, self.max_held = float(window_s), int(max_held)
        self.epoch = self.next_seq = None
        self.held = {}  # seq -> (event, when it arrived)
        self.gaps, self.duplicates, self.stale = [], 0, 0

    def offer(self, ev, now):
        """Takes one event (a dict with int epoch and seq); returns the events now due, in order."""
        epoch, seq = ev["epoch"], ev["seq"]
        if self.epoch is None or epoch > self.epoch:
            # The first event, or the gateway started a new epoch (its journal was lost): the
            # stream restarts there. What was held of the old epoch is released first.
            out = self._release_all()
            self.epoch, self.next_seq = epoch, seq
            return out + self._take(ev, seq, now)
        if epoch < self.epoch:
            self.stale += 1  # a host still sending an epoch the gateway has left
            return []
        return self._take(ev, seq, now)

    def _take(self, ev, seq, now):
        if seq < self.next_seq or seq in self.held:
            self.duplicates += 1
            return []
        self.held[seq] = (ev, now)
        if len(self.held) > self.max_held:
            return self._give_up_to(min(self.held))
        return self._run()

    def due(self, now):
        """The events released by time: when the oldest held one has waited ``window_s``, the
        seqs before it are declared lost."""
        if not self.held:
            return []
        first = min(self.held)
        if now - self.held[first][1] < self.window_s:
            return []
        return self._give_up_to(first)

    def wait(self, now):
        """Seconds until ``due`` can release something by time; None while nothing is held."""
        if not self.held:
            return None
        return max(0.0, self.held[min(self.held)][1] + self.window_s - now)

    def _give_up_to(self, first):
        if first > self.next_seq:
            self.gaps.append((self.epoch, self.next_seq, first - 1))
            self.next_seq = first
        return self._run()

    def _run(self):
        out = []
        while self.next_seq in self.held:
            out.append(self.held.pop(self.next_seq)[0])
            self.next_seq += 1
        return out

    def _release_all(self):
        out = []
        while self.held:
            out += self._give_up_to(min(self.held))
        return out


class Subscriber:
    """One gateway's events from every nexus XPUB in ``endpoints`` (ZeroMQ URLs), merged by Merge.
    ``curve`` is (public, secret, server public) when the XPUBs use CURVE."""

    def __init__(self, endpoints, topics=(b"",), window_s=1.0, ctx=None, curve=None, clock=time.monotonic):
        import zmq  # pylint: disable=import-outside-toplevel
        if not endpoints:
            raise ValueError("Subscriber needs at least one nexus XPUB endpoint")
        self.zmq, self.clock = zmq, clock
        self.ctx = ctx or zmq.Context.instance()
        self.merge = Merge(window_s)
        self.ready, self.malformed = [], 0
        self.socks = []
        for url in endpoints:
            sock = sockets.client_socket(zmq, self.ctx, zmq.SUB, url, curve)
            sock.setsockopt(zmq.MAXMSGSIZE, protocol.SOCKET_MAX_BYTES)
            sock.setsockopt(zmq.RCVHWM, 1000000)
            for topic in topics:
                sock.setsockopt(zmq.SUBSCRIBE, topic)
            sock.connect(url)
            self.socks.append(sock)
        self.poller = zmq.Poller()
        for sock in self.socks:
            self.poller.register(sock, zmq.POLLIN)

    def recv(self, timeout=None):
        """The next event in order, or None when none is due within ``timeout`` seconds (None:
        wait for one)."""
        deadline = None if timeout is None else self.clock() + timeout
        while not self.ready:
            now = self.clock()
            self.ready += self.merge.due(now)
            if self.ready:
                break
            wait = self.merge.window_s if deadline is None else deadline - now
            held = self.merge.wait(now)
            if held is not None:
                wait = min(wait, held)
            if deadline is not None and now >= deadline:
                return None
            for sock, _event in self.poller.poll(max(0.0, wait) * 1000):
                self._read(sock)
        return self.ready.pop(0)

    def _read(self, sock, budget=1000):
        for _i in range(budget):
            try:
                frames = sock.recv_multipart(self.zmq.NOBLOCK)
            except self.zmq.Again:
                return
            try:
                event_type, ev = protocol.decode_event(frames)
            except protocol.ProtocolError:
                self.malformed += 1
                continue
            if event_type != "hb":
                self.ready += self.merge.offer(ev, self.clock())

    def take_gaps(self):
        """The (epoch, first seq, last seq) ranges declared lost since the last call."""
        gaps, self.merge.gaps = self.merge.gaps, []
        return gaps

    def close(self):
        for sock in self.socks:
            sock.close(0)
        self.socks = []
