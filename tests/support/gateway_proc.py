"""A real gateway process on loopback, in front of the strict terminal over rpyc (or, where a test
says why, the paper terminal), and plain REQ clients for it."""
import json
import os
import time

import zmq

from support.servers import Service, free_port, wait_until
from support.strict_terminal import StrictServer

BUY = {"cmd": "order_send", "symbol": "EURUSD", "side": "buy", "volume": 0.10}


def call(rep, timeout=3.0, **req):
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect("tcp://127.0.0.1:%d" % rep)
    sock.send(json.dumps(req).encode())
    try:
        return json.loads(sock.recv()) if sock.poll(int(timeout * 1000)) else None
    finally:
        sock.close(0)


class Client:
    """One REQ socket kept open: thousands of requests without a connect each."""

    def __init__(self, rep, timeout=5.0):
        self.sock = zmq.Context.instance().socket(zmq.REQ)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect("tcp://127.0.0.1:%d" % rep)
        self.timeout_ms = int(timeout * 1000)

    def raw(self, frame):
        self.sock.send(frame)
        if not self.sock.poll(self.timeout_ms):
            raise TimeoutError("no reply within %d ms" % self.timeout_ms)
        return json.loads(self.sock.recv())

    def __call__(self, **req):
        return self.raw(json.dumps(req).encode())

    def close(self):
        self.sock.close(0)


class Gateway:
    """A gateway process on loopback, in front of `terminal`:

    * "strict" (the default): a broker's terminal as the gateway meets it with `--terminal
      mt5linux`, the strict terminal over rpyc on a UTC+2 server clock, 1-3 ms an order;
    * "paper": the forgiving paper terminal, only where a test says why;
    * a running StrictServer, shared: a gateway started again meets the same account, as it
      would at a broker. Its owner stops it.
    """

    def __init__(self, tmp_path, *extra, journal=None, rate=500, terminal="strict"):
        self.rep, self.pub = free_port(), free_port()
        self.journal = journal or str(tmp_path / "journal")
        self.terminal, self.owns_terminal = terminal, terminal == "strict"
        if terminal == "paper":
            source = ["--terminal", "paper", "--symbols", "EURUSD,GBPUSD", "--rate", rate]
        else:
            if self.owns_terminal:
                # Ten ticks a second per symbol, each a step of a few points: an order priced a
                # few ms before it reaches the trade server is almost never requoted.
                self.terminal = StrictServer(rate=10.0, latency=(0.001, 0.003))
            source = self.terminal.gateway_args(["EURUSD", "GBPUSD"])
        self.args = source + ["--heartbeat", 0.2, "--rep", "tcp://127.0.0.1:%d" % self.rep,
                              "--pub", "tcp://127.0.0.1:%d" % self.pub, "--journal", self.journal] + list(extra)
        self.tmp = str(tmp_path)
        try:
            self.start()
        except BaseException:
            self._stop_terminal()
            raise

    def start(self):
        self.svc = Service("mt5mesh-gateway", self.args, self.tmp)
        if "--curve-secret-key" in self.args:  # an anonymous ping gets no answer: read the log
            wait_until(lambda: " REP tcp://" in self.svc.output(), 15, "gateway binds its sockets")
        else:
            wait_until(lambda: call(self.rep, 0.5, cmd="ping") is not None, 15, "gateway answers ping")

    def restart(self, kill=False):
        if kill:
            self.svc.kill()
        else:
            self.svc.stop()
        self.start()

    def stop(self):
        """The gateway, then the terminal it started (a shared one stays up)."""
        try:
            self.svc.stop()
        finally:
            self._stop_terminal()

    def _stop_terminal(self):
        if self.owns_terminal:
            self.terminal.stop()

    def __call__(self, **req):
        return call(self.rep, **req)

    def rss_mib(self):
        with open("/proc/%d/status" % self.svc.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def ping_ms(self):
        t0 = time.monotonic()
        assert call(self.rep, 2.0, cmd="ping")["ok"]
        return (time.monotonic() - t0) * 1000

    def journal_bytes(self):
        total = 0
        for root, _dirs, files in os.walk(self.journal):
            for name in files:
                try:
                    total += os.path.getsize(os.path.join(root, name))
                except OSError:
                    pass
        return total
