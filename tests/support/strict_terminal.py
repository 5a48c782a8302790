"""The strict terminal (src/mt5mesh/gateway/terminal/strict.py) as a process serving rpyc's classic
protocol on loopback, the way `python -m mt5linux` serves the real MetaTrader5 module under Wine:
what a gateway run with `--terminal mt5linux` meets at a broker. Restartable with the very same
tick history (the same seed and anchor)."""
import atexit
import contextlib
import json
import os
import subprocess
import sys
import time

from support.servers import free_port, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "tests", "support", "strict_rpyc_server.py")
_RUNNING = set()


@atexit.register
def _stop_all():
    """A test that died before its cleanup leaves no terminal process behind."""
    for proc in list(_RUNNING):
        proc.kill()


class StrictServer:
    """One strict terminal process: the acceptance profile (EURUSD Instant FOK only, GBPUSD Market
    IOC only, USDJPY Market FOK or IOC, a BALANCE deposit of 10000), a server clock `offset` s from
    UTC (+2 h unless told), `latency` (lo, hi) seconds per order_send, `rate` ticks a second per
    symbol."""

    def __init__(self, rate=20.0, offset=7200, latency=(0.05, 0.1)):
        self.port, self.anchor, self.proc = free_port(), time.time() - 30, None
        self.rate, self.offset, self.latency = rate, int(offset), latency
        self.start()

    def start(self):
        self.proc = subprocess.Popen([sys.executable, SERVER, str(self.port), "--anchor", repr(self.anchor),
                                      "--rate", str(self.rate), "--offset", str(self.offset),
                                      "--latency", "%s,%s" % self.latency],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _RUNNING.add(self.proc)
        wait_until(self._up, 15, "strict terminal on rpyc")

    def _up(self):
        self.link().close()
        return True

    def link(self):
        import rpyc  # pylint: disable=import-outside-toplevel
        return rpyc.classic.connect("127.0.0.1", self.port)

    def restart(self):
        self.stop()
        self.start()

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            _RUNNING.discard(self.proc)

    def gateway_args(self, symbols):
        return ["--terminal", "mt5linux", "--terminal-port", self.port, "--symbols", ",".join(symbols)]

    @contextlib.contextmanager
    def _module(self):
        """A classic link with the terminal's module imported on its side; closed after."""
        conn = self.link()
        try:
            conn.execute("import MetaTrader5")
            yield conn
        finally:
            conn.close()

    def history(self, symbol):
        """Every tick the terminal holds for `symbol` as (time_msc, bid, ask), by value."""
        with self._module() as conn:
            return [tuple(r) for r in json.loads(conn.eval(
                "__import__('json').dumps([(t.time_msc, t.bid, t.ask) for t in MetaTrader5.terminal.history[%r]])"
                % symbol))]

    def run(self, code):
        """Runs `code` beside the terminal (`MetaTrader5.terminal` is it): the broker's side."""
        with self._module() as conn:
            conn.execute(code)

    def calls(self, function):
        """How often the terminal was called `function` (order_send: orders that reached it)."""
        with self._module() as conn:
            return int(conn.eval("MetaTrader5.terminal.calls[%r]" % function))
