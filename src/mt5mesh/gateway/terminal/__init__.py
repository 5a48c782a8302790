"""Terminal backends of the gateway (``--terminal``): every one is reached only through the
MetaTrader5 Python API surface (``api``), whatever is behind it.

* ``paper``: the paper terminal in this runtime (paper.py).
* ``metatrader5``: ``import MetaTrader5``, the official package, on a Windows gateway.
* ``mt5linux``: the same API over rpyc's classic protocol, as the mt5linux project reaches a
  terminal running under Wine (``python -m mt5linux`` starts rpyc's classic server there).
  A classic rpyc server executes whatever it is sent, so only loopback is accepted unless
  ``--terminal-allow-remote`` says otherwise.
"""
import ipaddress
import logging
import time

from mt5mesh.gateway.terminal import api
from mt5mesh.gateway.terminal.follow import TerminalFollower

log = logging.getLogger("mt5mesh-gateway")
BACKENDS = ("paper", "metatrader5", "mt5linux")


class TerminalError(Exception):
    """The terminal cannot be reached or refused to start; the message says which and why."""


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect_mt5linux(host, port, allow_remote=False):
    if not is_loopback(host):
        if not allow_remote:
            raise TerminalError("terminal_host %s is not loopback: an rpyc classic server runs any code it is sent, "
                                "so the gateway only talks to one on this host (tunnel it, or set "
                                "terminal_allow_remote if the link is yours alone)" % host)
        log.warning("terminal: rpyc classic server on %s is not loopback; anyone who reaches it can run code on "
                    "the terminal host", host)
    try:
        import rpyc
    except ImportError:
        raise TerminalError("terminal mt5linux needs rpyc (Debian python3-rpyc)")
    try:
        conn = rpyc.classic.connect(host, int(port))
        conn.execute("import MetaTrader5 as mt5")
        conn.execute(_REMOTE_TICKS)
        return conn, RemoteMT5(conn, rpyc.classic.obtain)
    except Exception as e:  # pylint: disable=broad-except
        raise TerminalError("terminal mt5linux at %s:%s: %s: %s" % (host, port, type(e).__name__, e))


# Runs on the terminal host: ticks leave it as plain tuples (numpy's rows, or Tick tuples), so one
# pickled transfer brings a whole batch instead of a round trip per field.
_REMOTE_TICKS = """
def _mt5mesh_ticks(fn, *args):
    r = getattr(mt5, fn)(*args)
    if r is None:
        return None
    return [tuple(x) for x in (r.tolist() if hasattr(r, 'tolist') else r)]
"""


class RemoteMT5:
    """The remote MetaTrader5 module, with the tick calls fetched by value."""

    def __init__(self, conn, obtain):
        self._conn, self._obtain = conn, obtain
        self._mt5 = conn.namespace["mt5"]
        self._ticks = conn.namespace["_mt5mesh_ticks"]

    def __getattr__(self, name):
        return getattr(self._mt5, name)

    def copy_ticks_from(self, symbol, date_from, count, flags):
        return self._obtain(self._ticks("copy_ticks_from", symbol, date_from, count, flags))

    def copy_ticks_range(self, symbol, date_from, date_to, flags):
        return self._obtain(self._ticks("copy_ticks_range", symbol, date_from, date_to, flags))


def nothing_to_close():
    """Closing a backend that holds no connection."""


def open_backend(cfg, state_dir=None):
    """(mt5 API object, closer) for the configured backend, initialized. The paper terminal keeps
    its account in ``state_dir`` (beside the journal), as a real terminal keeps it at the broker."""
    name, closer = cfg["terminal"], nothing_to_close
    if name == "paper":
        import os
        from mt5mesh.gateway.terminal.paper import PaperTerminal
        mt5 = PaperTerminal(cfg["symbols"].split(","), cfg["rate"], cfg["seed"], cfg["paper_balance"],
                            cfg["paper_leverage"], cfg["paper_slippage"], burst=cfg["paper_burst"],
                            account_file=os.path.join(state_dir, "paper-account.jsonl") if state_dir else None)
    elif name == "metatrader5":
        try:
            import MetaTrader5 as mt5  # pylint: disable=import-error
        except ImportError:
            raise TerminalError("terminal metatrader5 needs the official MetaTrader5 package (Windows only); "
                                "on Linux use --terminal mt5linux")
    else:
        conn, mt5 = connect_mt5linux(cfg["terminal_host"], cfg["terminal_port"], cfg["terminal_allow_remote"])
        closer = conn.close
    if not mt5.initialize():
        raise TerminalError("terminal %s: initialize() failed: %s" % (name, mt5.last_error()))
    return mt5, closer


# A terminal's connection state is at most this old in status replies (a lost terminal still
# shows within one heartbeat).
STATUS_MAX_AGE_S = 0.5


class TerminalSource:
    """The broker's tick source for a terminal backend: every tick, once, with its terminal fields."""

    def __init__(self, name, mt5, symbols, poll_interval=0.01, cursors=None):
        self.name, self.mt5, self.symbols = name, mt5, list(symbols)
        self.poll_interval = poll_interval
        self.selected = [s for s in self.symbols if mt5.symbol_select(s, True)]
        missing = sorted(set(self.symbols) - set(self.selected))
        if missing:
            raise TerminalError("terminal %s: symbols not available: %s (%s)"
                                % (name, ", ".join(missing), mt5.last_error()))
        self.follower = TerminalFollower(mt5, self.symbols, int(time.time() * 1000), cursors)
        self.next_poll = 0.0
        self.errors = 0
        self._status, self._status_at = None, float("-inf")

    def due(self, now):
        if now < self.next_poll:
            return []
        self.next_poll = now + self.poll_interval
        try:
            got = self.follower.poll()
        except Exception as e:  # pylint: disable=broad-except
            # A terminal that fails a call is reported in status; the cursors stay, nothing is skipped.
            self.errors += 1
            if self.errors <= 10 or self.errors % 1000 == 0:
                log.error("terminal %s: copy_ticks_from failed (%d so far): %s", self.name, self.errors, e)
            return []
        return [(s, t.bid, t.ask, t.time_msc / 1000.0,
                 {"time_msc": t.time_msc, "last": t.last, "volume": t.volume, "flags": t.flags}) for s, t in got]

    def cursors(self):
        """{symbol: [time_msc, ticks at that msc]}: where a restart resumes (the journal keeps it)."""
        return {s: [c.time_msc, c.at_msc] for s, c in self.follower.cursors.items()}

    def next_in(self, now):
        return max(0.0, self.next_poll - now)

    def status(self, now=None):
        """What the catalog's terminal check reads: connected, account known, symbols selected.

        Asked of the terminal at most every STATUS_MAX_AGE_S: status and the action dialect's
        HEARTBEAT come from clients, and a client polling them in a loop must not turn into two
        terminal round trips (rpyc under Wine) per request on the thread that publishes ticks."""
        now = time.monotonic() if now is None else now
        if now - self._status_at < STATUS_MAX_AGE_S:
            return dict(self._status, errors=self.errors)
        try:
            info = self.mt5.terminal_info()
            account = self.mt5.account_info()
            self._status = {"name": self.name, "connected": bool(info and info.connected), "account_known": account is not None,
                            "login": getattr(account, "login", None), "symbols": self.selected}
        except Exception as e:  # pylint: disable=broad-except
            self._status = {"name": self.name, "connected": False, "account_known": False, "symbols": self.selected,
                            "error": "%s: %s" % (type(e).__name__, e)}
        self._status_at = now
        return dict(self._status, errors=self.errors)


__all__ = ["api", "BACKENDS", "TerminalError", "TerminalSource", "open_backend", "connect_mt5linux", "nothing_to_close"]
