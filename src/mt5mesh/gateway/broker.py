"""The gateway broker: REQ/REP commands, PUB ticks and heartbeats, replay ring, snapshot.

One thread owns every socket (ZeroMQ sockets are not thread-safe); the loop never blocks on
a single client, so malformed input can cost at most one reply each.
"""
import logging
import time

import zmq

from mt5mesh import __version__
from mt5mesh.gateway import backends
from mt5mesh.gateway.journal import latest_from
from mt5mesh.gateway.metrics import snapshot as metrics_snapshot
from mt5mesh.gateway.ring import Ring
from mt5mesh.gateway.schema import backend_kind
from mt5mesh.service import bind
from mt5mesh.wire import dialect, protocol

log = logging.getLogger("mt5mesh-gateway")
# Replies queued per REP peer. With replay replies capped at MAX_REPLAY_BYTES this bounds what
# one client that never reads can pin in memory (1 000 x 128 KiB at most); REP drops replies
# past it, so a pipelining client must read as it goes (docs/protocol.md).
REP_SNDHWM = 1000
# Messages a PUB subscriber may send (subscriptions, and the CURVE handshake, whose INITIATE
# is ~300 bytes); a bigger one disconnects it.
PUB_MAX_IN_BYTES = 4096
# Distinct symbols the snapshot keeps; pushes of further symbols are dropped and counted.
MAX_SYMBOLS = 1000
INTERNAL_ERROR = protocol.reply_error(None, "internal error handling request")
# One loop turn serves requests for at most this long, so heartbeats keep their cadence.
TURN_BUDGET_S = 0.02
# A new heartbeat subscriber gets one at once (zguide's last value cache, on XPUB): a probe or a
# nexus that (re)connects learns epoch and seq without waiting out the interval. At most one such
# heartbeat per this many seconds, whatever a peer's subscribe flood.
HB_ON_SUBSCRIBE_EVERY_S = 0.05


class Broker:
    def __init__(self, cfg, ctx=None, source=None, journal=None, restored=None):
        self.cfg = cfg
        self.backend = backend_kind(cfg)
        self.ctx = ctx or zmq.Context.instance()
        self.source = source
        self.epoch = int(time.time() * 1000)
        self.seq = 0
        self.ring = Ring(int(cfg["ring_size"]))
        self.latest = {}
        self.started = time.monotonic()
        self.counters = {"published": 0, "heartbeats": 0, "requests": 0, "rejected": 0,
                         "pushed": 0, "dropped": 0, "clients": 0, "errors": 0}
        self.rep = self.pub = self.pull = self.monitor = self.legacy = None
        self.next_hb = 0.0
        self.curve = None
        self.trader = None  # set by main for terminal backends (mt5mesh.gateway.trading)
        self.metrics = None  # set by main: GatewayMetrics, fed a snapshot each heartbeat
        self.journal = journal
        # The REP command table: each command of the protocol to what answers it, and nothing
        # else (a test holds it to protocol.COMMANDS). A request names a key, never a method.
        self.commands = {"ping": self.cmd_ping, "status": self.cmd_status, "snapshot": self.cmd_snapshot,
                         "replay": self.cmd_replay}
        self.commands.update(dict.fromkeys(protocol.READ_COMMANDS + protocol.TRADE_COMMANDS, self._account_command))
        if restored is not None:
            self._restore(restored)

    def _restore(self, loaded):
        """Continue a journal's epoch: its ring, its latest tick per symbol, the next seq."""
        self.epoch = loaded.epoch
        for seq, payload in loaded.events:
            self.ring.put(seq, payload)
        self.latest = latest_from(loaded, MAX_SYMBOLS, self.cfg["symbols"].split(","))
        self.seq = loaded.last_seq

    def checkpoint(self):
        """What a new journal segment opens with: the whole state a restart needs."""
        cursors = getattr(self.source, "cursors", None)
        return {"epoch": self.epoch, "seq": self.seq, "cursors": cursors() if cursors else {}}

    def start_journal(self):
        if self.journal is not None:
            self.journal.start(self.seq + 1, self.checkpoint())

    def _roll_journal(self):
        if self.journal.start(self.seq + 1, self.checkpoint()):
            self.journal.drop_older_than(self.ring.oldest)

    # --- sockets ------------------------------------------------------------------
    def open(self, curve=None):
        self.curve = curve
        # A request past the limit disconnects its peer before it is buffered whole.
        self.rep = self._socket(zmq.REP, self.cfg["rep"], "REP", hwm=REP_SNDHWM, max_in=protocol.MAX_REQUEST_BYTES)
        self.pub = self._socket(zmq.XPUB, self.cfg["pub"], "PUB", hwm=int(self.cfg["pub_hwm"]),
                                max_in=PUB_MAX_IN_BYTES)
        self.pub.setsockopt(zmq.XPUB_VERBOSE, 1)  # every subscriber's subscription, not just the first
        self.monitor = self.pub.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        if self.backend == "ea":
            self.pull = self._socket(zmq.PULL, self.cfg["pull"], "PULL")
        if self.cfg.get("legacy_pub"):
            # The action dialect's tick stream: one JSON frame per tick, for existing clients.
            self.legacy = self._socket(zmq.PUB, self.cfg["legacy_pub"], "legacy PUB", hwm=int(self.cfg["pub_hwm"]),
                                       max_in=PUB_MAX_IN_BYTES)
        log.info("gateway %s epoch %d: REP %s, PUB %s%s, ring %d", __version__, self.epoch, self.cfg["rep"],
                 self.cfg["pub"], ", PULL " + self.cfg["pull"] if self.pull is not None else "", self.ring.size)

    def _socket(self, socket_type, url, what, hwm=None, max_in=protocol.MAX_REQUEST_BYTES):
        sock = self.ctx.socket(socket_type)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, max_in)
        if hwm is not None:
            sock.setsockopt(zmq.SNDHWM, hwm)
        if self.curve is not None:
            from mt5mesh.security import make_server
            make_server(sock, *self.curve)
        bind(sock, url, what)
        return sock

    def close(self):
        if self.monitor is not None:
            # Stop the events before closing their reader: libzmq's I/O thread sends each one with
            # a blocking send, and a subscriber leaving after the reader is gone would block that
            # thread for good, and with it every socket of the context (seen on a loaded CI run).
            self.pub.disable_monitor()
        for sock in (self.monitor, self.rep, self.pub, self.pull, self.legacy):
            if sock is not None:
                sock.close(0)
        if self.journal is not None:
            self.journal.close()
        if self.trader is not None:
            self.trader.orders.close()

    # --- publishing ----------------------------------------------------------------
    def publish(self, symbol, bid, ask, ts=None, extra=None):
        if symbol not in self.latest and len(self.latest) >= MAX_SYMBOLS:
            raise protocol.ProtocolError("more than %d distinct symbols" % MAX_SYMBOLS)
        self.seq += 1
        ts = time.time() if ts is None else ts
        frames = protocol.tick(self.epoch, self.seq, ts, symbol, bid, ask, extra)
        self._send(frames)
        self.latest[symbol] = frames[1]
        if self.legacy is not None:
            self.legacy.send(protocol.encode({"type": "TICK", "symbol": symbol, "bid": bid, "ask": ask, "time": ts}))

    def publish_trade(self, symbol, fields):
        """A trade event, in the same seq stream as the ticks (replay and gap fill cover it)."""
        self.seq += 1
        self._send(protocol.trade(self.epoch, self.seq, time.time(), symbol, fields))

    def _send(self, frames):
        if self.journal is not None:
            self.journal.event(self.seq, frames[1])  # on disk (page cache) before anyone sees it
        self.pub.send_multipart(frames, copy=False)
        self.ring.put(self.seq, frames[1])
        self.counters["published"] += 1

    def heartbeat(self):
        self.pub.send_multipart(protocol.heartbeat(self.epoch, self.seq, time.time()))
        self.counters["heartbeats"] += 1
        if self.metrics is not None:
            self.metrics.publish(metrics_snapshot(self))

    # --- commands ------------------------------------------------------------------
    def handle(self, frames, client=None):
        """The reply to one request. Never raises: a peer's message must never end the process.
        ``client`` is the CURVE client's public key (z85) when CURVE authenticated it."""
        self.counters["requests"] += 1
        try:
            return self._handle(frames, client)
        except Exception as e:  # pylint: disable=broad-except
            self.counters["rejected"] += 1
            self._internal_error("REP", e)
            return INTERNAL_ERROR

    def _handle(self, frames, client=None):
        req = None
        try:
            try:
                obj = protocol.decode_object(frames)
            except protocol.ProtocolError as e:
                sniffed = dialect.sniff(frames)
                if sniffed is None:
                    raise
                self.counters["rejected"] += 1
                return protocol.encode(dialect.error_reply(sniffed, e))
            if dialect.is_action(obj):
                return self._action(obj, client)
            req = protocol.check_request(obj)
            return self.commands[req["cmd"]](req, client)
        except protocol.ProtocolError as e:
            self.counters["rejected"] += 1
            return protocol.reply_error(getattr(e, "request", req), e)

    def _action(self, obj, client=None):
        """A request of the existing MT5 clients' action dialect: mapped to the same command (same
        safety rules, same exactly-once key) and answered in that dialect, errors included."""
        try:
            req = dialect.to_command(obj)
        except protocol.ProtocolError as e:
            self.counters["rejected"] += 1
            return protocol.encode(dialect.error_reply(obj, e))
        if req["cmd"] == "ping":
            term = self.terminal_status()
            reply = {"ok": term.get("connected") is not False, "epoch": self.epoch, "seq": self.seq,
                     "terminal": term.get("name")}
            if not reply["ok"]:
                reply["error"] = "terminal %s is not connected" % term.get("name")
        else:
            reply = self._account_reply(req, client)
        return protocol.encode(dialect.to_reply(obj, reply))

    def _account_reply(self, req, client=None):
        if self.trader is None:
            return {"ok": False, "error": "%s: this gateway has no terminal (it runs --terminal %s); account and trading "
                                          "commands need %s" % (req["cmd"], self.backend, backends.terminals_in_words())}
        return self.trader.handle(req, client)

    def _account_command(self, req, client=None):
        reply = self._account_reply(req, client)
        fields = {k: v for k, v in reply.items() if k not in ("ok", "error")}
        if reply["ok"]:
            return protocol.reply_ok(req, **fields)
        return protocol.reply_error(req, reply["error"], **fields)

    def _internal_error(self, where, e):
        self.counters["errors"] += 1
        if self.counters["errors"] <= 10 or self.counters["errors"] % 10000 == 0:
            log.error("%s: internal error (%d so far): %s: %s", where, self.counters["errors"],
                      type(e).__name__, str(e)[:200])

    def uptime(self):
        return round(time.monotonic() - self.started, 3)

    def cmd_ping(self, req, _client=None):
        return protocol.reply_ok(req, version=__version__, protocol=protocol.PROTOCOL_VERSION,
                                 epoch=self.epoch, seq=self.seq, uptime_s=self.uptime())

    def cmd_status(self, req, _client=None):
        journal = None
        if self.journal is not None:
            journal = {"path": self.journal.path, "segments": len(self.journal.segments), "syncs": self.journal.syncs,
                       "bytes": self.journal.total_bytes(), "budget_bytes": self.journal.budget_bytes,
                       "ok": self.journal.error is None, "error": self.journal.error}
        return protocol.reply_ok(req, epoch=self.epoch, seq=self.seq, uptime_s=self.uptime(), healthy=self.healthy(),
                                 ring_oldest=self.ring.oldest, ring_size=self.ring.size,
                                 source=self.backend, terminal=self.terminal_status(), journal=journal,
                                 trading=self.trader.state() if self.trader is not None else None,
                                 **self.counters)

    def problems(self):
        """What makes the gateway unhealthy while it still serves (a journal or order log that
        cannot be written or trusted); empty when healthy."""
        out = []
        if self.journal is not None and self.journal.error is not None:
            out.append(self.journal.error)
        if self.trader is not None and not self.trader.orders.healthy():
            out.append(self.trader.orders.status()["error"])
        return out

    def healthy(self):
        return not self.problems()

    def terminal_status(self):
        status = getattr(self.source, "status", None)
        return status() if status else {"name": self.backend, "connected": None}

    def cmd_snapshot(self, req, _client=None):
        # Payloads are already canonical JSON: splice them instead of decoding and re-encoding.
        ticks = b"[" + b",".join(self.latest.values()) + b"]"
        return _splice(protocol.reply_ok(req, epoch=self.epoch, seq=self.seq), b"ticks", ticks)

    def cmd_replay(self, req, _client=None):
        payloads = self.ring.slice(req["from_seq"], req["limit"], protocol.MAX_REPLAY_BYTES)
        if payloads is None:
            return protocol.reply_error(req, "events before seq %d are gone from the ring" % self.ring.oldest,
                                        epoch=self.epoch, oldest=self.ring.oldest, last=self.seq)
        events = b"[" + b",".join(payloads) + b"]"
        return _splice(protocol.reply_ok(req, epoch=self.epoch, oldest=self.ring.oldest, last=self.seq),
                       b"events", events)

    # --- the loop ------------------------------------------------------------------
    def serve(self, stop):
        poller = zmq.Poller()
        poller.register(self.rep, zmq.POLLIN)
        poller.register(self.monitor, zmq.POLLIN)
        if self.pull is not None:
            poller.register(self.pull, zmq.POLLIN)
        poller.register(self.pub, zmq.POLLIN)
        hb_every = float(self.cfg["heartbeat"])
        self.next_hb = last_hb = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if self.source is not None:
                for tick in self.source.due(now):
                    self.publish(*tick)
            if now >= self.next_hb:
                self.heartbeat()
                last_hb, self.next_hb = now, now + hb_every
                if self.trader is not None:
                    self.trader.orders.maintain()  # expiry by time, and a retry of a failed write
            if self.journal is not None and self.journal.due(now):
                self._roll_journal()
            next_hb = self.next_hb
            wait = next_hb - now
            if self.source is not None:
                wait = min(wait, max(self.source.next_in(time.monotonic()), 0.001))
            ready = dict(poller.poll(timeout=max(0.0, min(wait, 0.1)) * 1000))
            if self.rep in ready:
                self._serve_requests()
            if self.pull is not None and self.pull in ready:
                self._drain_pull()
            if self.monitor in ready:
                self._track_clients()
            if self.pub in ready and self._heartbeat_subscribed():
                self.next_hb = min(self.next_hb, last_hb + HB_ON_SUBSCRIBE_EVERY_S)

    def idle(self):
        """Between two terminal calls of one long command (close_all, a deal looked up again):
        the heartbeat that is due goes out, so subscribers do not take the gateway for dead."""
        now = time.monotonic()
        if self.pub is not None and now >= self.next_hb:
            self.heartbeat()
            self.next_hb = now + float(self.cfg["heartbeat"])

    def _heartbeat_subscribed(self, budget=1000):
        """Reads what subscribers sent the XPUB (bounded); True when one subscribed to heartbeats
        (a prefix of the hb topic, the empty one included). Anything else is ignored."""
        wanted = False
        for _i in range(budget):
            try:
                msg = self.pub.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            if msg[:1] == b"\x01" and protocol.TOPIC_HEARTBEAT.startswith(msg[1:]):
                wanted = True
        return wanted

    def _serve_requests(self, budget=1000):
        self._drain(self.rep, self._serve_one, budget, 1, copy=False)

    def _serve_one(self, frames):
        # Frames, not bytes: with CURVE, the ZAP handler's User-Id (the client's public key) is
        # the client's identity, and its order ids live in that client's own space.
        client = None
        if self.curve is not None:
            try:
                client = frames[0].get("User-Id") or None
            except (zmq.ZMQError, UnicodeDecodeError):
                client = None
        self.rep.send(self.handle([f.bytes for f in frames], client))

    def _drain_pull(self, budget=10000):
        # Pushes are cheap: the clock is read every 100 of them, not every one.
        self._drain(self.pull, self.push, budget, 100)

    @staticmethod
    def _drain(sock, handle, budget, clock_every, copy=True):
        """Handle what ``sock`` holds: at most ``budget`` messages and about TURN_BUDGET_S, so
        one busy socket never delays the heartbeat or the other sockets."""
        deadline = time.monotonic() + TURN_BUDGET_S
        for i in range(budget):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=copy)
            except zmq.Again:
                return
            handle(frames)
            if i % clock_every == clock_every - 1 and time.monotonic() >= deadline:
                return

    def push(self, frames):
        """One EA push: published, or dropped and counted. Never raises."""
        try:
            t = protocol.decode_push(frames)
            self.publish(t["symbol"], t["bid"], t["ask"], t.get("ts"))
        except protocol.ProtocolError as e:
            self.counters["dropped"] += 1
            if self.counters["dropped"] <= 10 or self.counters["dropped"] % 10000 == 0:
                log.warning("PULL: rejected push (%d so far): %s", self.counters["dropped"], e)
            return
        except Exception as e:  # pylint: disable=broad-except
            # A peer's message must never end the process.
            self.counters["dropped"] += 1
            self._internal_error("PULL", e)
            return
        self.counters["pushed"] += 1

    def _track_clients(self):
        from zmq.utils.monitor import recv_monitor_message
        while True:
            try:
                event = recv_monitor_message(self.monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            if event["event"] == zmq.EVENT_ACCEPTED:
                self.counters["clients"] += 1
            elif event["event"] == zmq.EVENT_DISCONNECTED:
                self.counters["clients"] = max(0, self.counters["clients"] - 1)


def _splice(reply, key, raw_json):
    """Insert an already-encoded JSON value into an encoded reply object."""
    return reply[:-1] + b',"' + key + b'":' + raw_json + b"}"
