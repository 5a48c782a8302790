"""Terminal backends of the gateway (``--terminal``): every one is reached only through the
MetaTrader5 Python API surface (``api``), whatever is behind it.

* ``paper``: the paper terminal in this runtime (paper.py).
* ``metatrader5``: ``import MetaTrader5``, the official package, on a Windows gateway.
* ``mt5linux``: the same API over rpyc's classic protocol, as the mt5linux project reaches a
  terminal running under Wine (``python -m mt5linux`` starts rpyc's classic server there).
  A classic rpyc server executes whatever it is sent, so only loopback is accepted unless
  ``--terminal-allow-remote`` says otherwise.
"""
import logging
import time

from mt5mesh.gateway.terminal import api
from mt5mesh.gateway.terminal.follow import TerminalFollower
from mt5mesh.gateway.terminal.remote import RemoteMT5, TerminalLinkError

log = logging.getLogger("mt5mesh-gateway")
# Offsets of trade servers from UTC come in quarter hours (UTC+2, +3, +5:45, -5...).
OFFSET_STEP_S = 900
# A tick teaches the offset only when it is this close to a quarter hour from UTC now. A live
# market's newest tick is seconds old; a closed market's is hours old and would teach a wrong
# offset, which this rejects unless it happens to lie this close to a quarter hour (then the
# next fresh tick corrects it). Well inside half a step, so rounding cannot pick the wrong one.
FRESH_TICK_S = 60
# No trade server's clock is further from UTC than this (UTC-12 to UTC+14); a tick that says so
# (a time_msc of 0, a symbol that never ticked) teaches nothing.
MAX_OFFSET_S = 14 * 3600
# Rounds in a row with a failing call before the link to the terminal is rebuilt; how long
# rebuilding may keep failing before the gateway exits for systemd to restart it.
RECONNECT_AFTER = 3
RECONNECT_GIVE_UP_S = 120.0
RECONNECT_EVERY_S = 2.0


class TerminalError(Exception):
    """The terminal cannot be reached or refused to start; the message says which and why."""


def connect_mt5linux(host, port, allow_remote=False):
    """(closer, the remote MetaTrader5 module) of a terminal served over rpyc classic."""
    try:
        mt5 = RemoteMT5(host, port, allow_remote)
    except TerminalLinkError as e:
        raise TerminalError(str(e))
    return mt5.close, mt5


def offset_from(tick_msc, now):
    """The terminal clock's offset from UTC in seconds, learned from a tick of server time
    `tick_msc` seen at UTC `now`: rounded to a quarter hour; None when the tick is too old to
    say (a closed market) or lies further from UTC than any clock (pure)."""
    delta = tick_msc / 1000.0 - now
    offset = int(round(delta / OFFSET_STEP_S)) * OFFSET_STEP_S
    return offset if abs(delta - offset) <= FRESH_TICK_S and abs(offset) <= MAX_OFFSET_S else None


def parse_offset(text):
    """--terminal-utc-offset: seconds ("7200", "-18000") or hours and minutes ("+02:00",
    "-05:00", "+05:45"); None when unset (pure; raises ValueError naming the value)."""
    if text is None or text == "":
        return None
    text = str(text).strip()
    if ":" in text:
        sign = -1 if text.startswith("-") else 1
        hours, minutes = text.lstrip("+-").split(":", 1)
        value = sign * (int(hours) * 3600 + int(minutes) * 60)
    else:
        value = int(text)
    if abs(value) > MAX_OFFSET_S:
        raise ValueError("terminal_utc_offset %s is more than 14 hours from UTC" % text)
    return value


def nothing_to_close():
    """Closing a backend that holds no connection."""


def _open_paper(cfg, state_dir):
    import os  # pylint: disable=import-outside-toplevel
    from mt5mesh.gateway.terminal.paper import PaperTerminal  # pylint: disable=import-outside-toplevel
    return nothing_to_close, PaperTerminal(
        cfg["symbols"].split(","), cfg["rate"], cfg["seed"], cfg["paper_balance"], cfg["paper_leverage"],
        cfg["paper_slippage"], burst=cfg["paper_burst"],
        account_file=os.path.join(state_dir, "paper-account.jsonl") if state_dir else None)


def _open_metatrader5(_cfg, _state_dir):
    try:
        import MetaTrader5  # pylint: disable=import-error,import-outside-toplevel
    except ImportError:
        raise TerminalError("terminal metatrader5 needs the official MetaTrader5 package (Windows only); "
                            "on Linux use --terminal mt5linux")
    return nothing_to_close, MetaTrader5


def _open_mt5linux(cfg, _state_dir):
    return connect_mt5linux(cfg["terminal_host"], cfg["terminal_port"], cfg["terminal_allow_remote"])


# name -> opener: (closer, the MetaTrader5 API object), not yet initialized. One per terminal
# backend of the registry (gateway/backends.py; a test holds them equal).
OPENERS = {"paper": _open_paper, "metatrader5": _open_metatrader5, "mt5linux": _open_mt5linux}


def open_backend(cfg, state_dir=None):
    """(mt5 API object, closer) for the configured backend, initialized. The paper terminal keeps
    its account in ``state_dir`` (beside the journal), as a real terminal keeps it at the broker."""
    name = cfg["terminal"]
    closer, mt5 = OPENERS[name](cfg, state_dir)
    if not mt5.initialize():
        raise TerminalError("terminal %s: initialize() failed: %s" % (name, mt5.last_error()))
    return mt5, closer


# A terminal's connection state is at most this old in status replies (a lost terminal still
# shows within one heartbeat).
STATUS_MAX_AGE_S = 0.5


def reinitialize(mt5):
    """Rebuild the link to a terminal that stopped answering: a new rpyc link for mt5linux,
    shutdown() and initialize() for the others. True when the terminal is back."""
    reconnect = getattr(mt5, "reconnect", None)
    if reconnect is not None:
        return bool(reconnect())
    try:
        mt5.shutdown()
    except Exception:  # pylint: disable=broad-except
        pass
    return bool(mt5.initialize())


class TerminalSource:
    """The broker's tick source for a terminal backend: every tick, once, with its terminal fields.

    Published times are UTC: ``ts`` is the tick's ``time_msc`` less the terminal's offset from UTC
    (its trade server's clock), and the raw ``time_msc`` stays in the tick's own field. The offset
    is, in this order: ``utc_offset`` (configured), learned from the newest tick at start, the one
    a restarted gateway's journal shows (``saved_offset``), or 0 until a fresh tick teaches it."""

    def __init__(self, name, mt5, symbols, poll_interval=0.01, cursors=None, utc_offset=None, saved_offset=None,
                 clock=time.time):
        self.name, self.mt5, self.symbols = name, mt5, list(symbols)
        self.poll_interval, self.clock = poll_interval, clock
        self.selected = [s for s in self.symbols if mt5.symbol_select(s, True)]
        missing = sorted(set(self.symbols) - set(self.selected))
        if missing:
            raise TerminalError("terminal %s: symbols not available: %s (%s)"
                                % (name, ", ".join(missing), mt5.last_error()))
        if utc_offset is not None:
            self.offset, self.offset_source = int(utc_offset), "configured"
        elif saved_offset is not None:
            self.offset, self.offset_source = int(saved_offset), "journal"
        else:
            self.offset, self.offset_source = 0, "assumed"
        if utc_offset is None:
            self._learn([mt5.symbol_info_tick(s) for s in self.symbols])
        self.follower = TerminalFollower(mt5, self.symbols, None, cursors)
        self.next_poll = 0.0
        self.errors, self.failing_rounds, self.reconnects = 0, 0, 0
        self.failing_since = self.next_reconnect = None
        self._status, self._status_at = None, float("-inf")

    def _learn(self, ticks):
        """The offset from the newest of `ticks` when it is fresh; kept otherwise."""
        newest = max((t.time_msc for t in ticks if t is not None), default=None)
        learned = None if newest is None else offset_from(newest, self.clock())
        if learned is not None:
            if learned != self.offset or self.offset_source != "learned":
                log.info("terminal %s: its clock is UTC%+.2f h (learned from its newest tick)", self.name,
                         learned / 3600.0)
            self.offset, self.offset_source = learned, "learned"
        return learned

    def due(self, now):
        if now < self.next_poll:
            return []
        self.next_poll = now + self.poll_interval
        if self.next_reconnect is not None:
            if now < self.next_reconnect:
                return []
            self._reconnect(now)
        got = self.follower.poll()
        for symbol, e in self.follower.failed:
            # Reported in status; that symbol's cursor stays, the other symbols' ticks stand.
            self.errors += 1
            if self.errors <= 10 or self.errors % 1000 == 0:
                log.error("terminal %s: %s failed (%d so far): %s: %s", self.name, symbol, self.errors,
                          type(e).__name__, e)
        if self.follower.failed and len(self.follower.failed) == len(self.symbols):
            self.failing_rounds += 1
            if self.failing_rounds >= RECONNECT_AFTER and self.next_reconnect is None:
                self.failing_since, self.next_reconnect = now, now
        else:
            self.failing_rounds, self.failing_since = 0, None
        if got and self.offset_source != "configured":
            self._learn([got[-1][1]])  # a live tick: learns or corrects the offset
        offset_ms = self.offset * 1000
        return [(s, t.bid, t.ask, (t.time_msc - offset_ms) / 1000.0,
                 {"time_msc": t.time_msc, "last": t.last, "volume": t.volume, "flags": t.flags}) for s, t in got]

    def _reconnect(self, now):
        """Rebuild the link, with backoff; past RECONNECT_GIVE_UP_S the gateway exits (TerminalError)
        so systemd restarts it, and the journal's cursors bring the ticks of the outage."""
        self.reconnects += 1
        try:
            back = reinitialize(self.mt5)
            error = None if back else "initialize() failed: %s" % (self.mt5.last_error(),)
        except Exception as e:  # pylint: disable=broad-except
            back, error = False, "%s: %s" % (type(e).__name__, e)
        if back:
            log.warning("terminal %s: reconnected after %.1f s (attempt %d)", self.name, now - self.failing_since,
                        self.reconnects)
            for s in self.symbols:
                self.mt5.symbol_select(s, True)
            self.failing_rounds, self.failing_since, self.next_reconnect = 0, None, None
            self._status_at = float("-inf")
            return
        if now - self.failing_since >= RECONNECT_GIVE_UP_S:
            raise TerminalError("terminal %s: lost for %.0f s and every reconnect failed (last: %s)"
                                % (self.name, now - self.failing_since, error))
        # A refused connection costs nothing: try every 2 s at most, so ticks resume within
        # seconds of the terminal's return.
        wait = min(RECONNECT_EVERY_S, 0.5 * 2 ** min(self.reconnects, 2))
        log.error("terminal %s: reconnect failed (%s); next try in %.1f s", self.name, error, wait)
        self.next_reconnect = now + wait

    def cursors(self):
        """{symbol: [time_msc, ticks at that msc]}: where a restart resumes (the journal keeps it)."""
        return {s: [c.time_msc, c.at_msc] for s, c in self.follower.cursors.items()}

    def next_in(self, now):
        return max(0.0, self.next_poll - now)

    def status(self, now=None):
        """What the catalog's terminal check reads: connected, account known, symbols selected,
        AutoTrading, the clock offset.

        Asked of the terminal at most every STATUS_MAX_AGE_S: status and the action dialect's
        HEARTBEAT come from clients, and a client polling them in a loop must not turn into two
        terminal round trips (rpyc under Wine) per request on the thread that publishes ticks."""
        now = time.monotonic() if now is None else now
        if now - self._status_at < STATUS_MAX_AGE_S:
            return self._live()
        try:
            info = self.mt5.terminal_info()
            account = self.mt5.account_info()
            self._status = {"name": self.name, "connected": bool(info and info.connected), "account_known": account is not None,
                            "login": getattr(account, "login", None), "symbols": self.selected,
                            "autotrading": bool(getattr(info, "trade_allowed", False)) if info else None}
        except Exception as e:  # pylint: disable=broad-except
            self._status = {"name": self.name, "connected": False, "account_known": False, "symbols": self.selected,
                            "error": "%s: %s" % (type(e).__name__, e)}
        self._status_at = now
        return self._live()

    def _live(self):
        live = dict(self._status, errors=self.errors, utc_offset_s=self.offset, utc_offset_source=self.offset_source)
        if self.next_reconnect is not None:
            live.update(connected=False, reconnecting=True)
        return live


__all__ = ["api", "OPENERS", "TerminalError", "TerminalSource", "open_backend", "connect_mt5linux", "nothing_to_close"]
