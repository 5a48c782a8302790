"""The gateway in front of a broker's terminal: `mt5mesh-gateway --terminal mt5linux` against the
strict terminal (written from the official MetaTrader5 documentation) served over rpyc's classic
protocol on loopback, as `python -m mt5linux` serves the real module under Wine.

The terminal is the issue's acceptance profile: EURUSD Instant execution FOK only, GBPUSD Market
IOC only, USDJPY Market FOK or IOC; a UTC+2 server clock that nobody configures; 50-100 ms per
order at the trade server. Bounded in time; loopback only."""
import json
import statistics
import threading
import time

import pytest
import zmq

from support import gateway_proc
from support.servers import Service, free_port, wait_until
from support.strict_terminal import StrictServer

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")


class Sub(threading.Thread):
    """Everything the gateway publishes, with arrival times, until stopped."""

    def __init__(self, pub):
        super().__init__(daemon=True)
        self.pub, self.events, self.heartbeats, self.done = pub, [], [], threading.Event()
        self.start()

    def run(self):
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect("tcp://127.0.0.1:%d" % self.pub)
        while not self.done.is_set():
            if sub.poll(50):
                topic, payload = sub.recv_multipart()
                if topic.startswith(b"hb"):
                    self.heartbeats.append(time.monotonic())
                else:
                    self.events.append((time.time(), json.loads(payload)))
        sub.close(0)

    def ticks(self, symbol):
        return [e for _t, e in self.events if e.get("symbol") == symbol and "trade" not in e]


def call(rep, timeout=10.0, **req):
    """One request on a fresh REQ socket (support.gateway_proc's), with room for orders at a
    trade server's pace."""
    return gateway_proc.call(rep, timeout, **req)


@pytest.fixture
def mesh(tmp_path):
    terminal = StrictServer()
    rep, pub = free_port(), free_port()
    gw = Service("mt5mesh-gateway", ["--rep", "tcp://127.0.0.1:%d" % rep, "--pub", "tcp://127.0.0.1:%d" % pub,
                                     "--heartbeat", 0.2, "--journal", tmp_path / "journal", "--terminal", "mt5linux",
                                     "--terminal-port", terminal.port, "--symbols", ",".join(SYMBOLS), "--trading",
                                     "--allow-insecure-trading", "--max-orders-per-s", 100],
                 str(tmp_path))
    sub = None
    try:
        wait_until(lambda: call(rep, 0.5, cmd="ping", id="p") is not None, 20, "gateway answers ping")
        sub = Sub(pub)
        yield terminal, rep, sub
    finally:
        if sub is not None:
            sub.done.set()
        gw.stop()
        terminal.stop()


def test_ticks_of_every_symbol_flow_in_utc_from_a_utc_plus_2_server_and_ping_stays_fast(mesh):
    _terminal, rep, sub = mesh
    wait_until(lambda: all(len(sub.ticks(s)) >= 5 for s in SYMBOLS), 20, "ticks of every symbol")
    for s in SYMBOLS:
        for arrived, e in ((t, e) for t, e in sub.events if e.get("symbol") == s and "trade" not in e):
            assert abs(e["ts"] - arrived) < 5.0, e  # UTC, not the server's clock (2 h ahead)
            assert e["time_msc"] - e["ts"] * 1000 == pytest.approx(7200 * 1000, abs=1)  # the raw clock kept
    status = call(rep, cmd="status", id="s")["terminal"]
    assert status["utc_offset_s"] == 7200 and status["utc_offset_source"] == "learned"
    assert status["connected"] is True and status["autotrading"] is True and status["errors"] == 0
    took = []
    for i in range(300):
        start = time.perf_counter()
        assert call(rep, cmd="ping", id=str(i))["ok"]
        took.append(time.perf_counter() - start)
    took.sort()
    assert statistics.median(took) <= 0.005 and took[int(len(took) * 0.99) - 1] <= 0.050, (took[150], took[-3:])


def test_orders_fill_with_each_symbols_filling_mode_and_report_the_position_positions_shows(mesh):
    _terminal, rep, _sub = mesh
    buy = call(rep, cmd="order_send", id="b1", symbol="EURUSD", side="buy", volume=0.1)  # Instant, FOK only
    sell = call(rep, cmd="order_send", id="s1", symbol="GBPUSD", side="sell", volume=0.1)  # Market, IOC only
    both = call(rep, cmd="order_send", id="j1", symbol="USDJPY", side="buy", volume=0.1)  # Market, FOK or IOC
    for r in (buy, sell, both):
        assert r["ok"] and r["retcode"] == 10009, r
    held = {p["ticket"]: p for p in call(rep, cmd="positions", id="p")["positions"]}
    assert {buy["position"], sell["position"], both["position"]} == set(held)
    assert held[buy["position"]]["symbol"] == "EURUSD" and held[sell["position"]]["type"] == "sell"
    closed = call(rep, cmd="order_close", id="c1", position=buy["position"])
    assert closed["ok"] and closed["retcode"] == 10009 and closed["position"] == buy["position"], closed
    assert buy["position"] not in {p["ticket"] for p in call(rep, cmd="positions", id="p2")["positions"]}
    deals = call(rep, cmd="history_deals", id="h", **{"from": time.time() - 3 * 86400, "to": time.time() + 60})
    kinds = [(d["type"], d["entry"]) for d in deals["deals"]]
    assert kinds[0] == ("balance", "in") and deals["deals"][0]["profit"] == 10000.0, deals["deals"][0]
    assert ("buy", "in") in kinds and ("sell", "out") in kinds
    for d in deals["deals"][1:]:
        assert abs(d["time_msc"] / 1000.0 - time.time()) < 60, d  # UTC, not the server's clock


def test_close_all_of_24_positions_leaves_none_and_heartbeats_keep_their_cadence(mesh):
    _terminal, rep, sub = mesh
    for i in range(24):
        r = call(rep, cmd="order_send", id="o%d" % i, symbol=SYMBOLS[i % 3], side="buy" if i % 2 else "sell",
                 volume=0.01)
        assert r["ok"], r
    assert len(call(rep, cmd="positions", id="p")["positions"]) == 24
    start = time.monotonic()
    out = call(rep, 30.0, cmd="close_all", id="kill")
    end = time.monotonic()
    assert out["ok"] and len(out["closed"]) == 24 and out["failed"] == [], out
    assert call(rep, cmd="positions", id="p2")["positions"] == []
    beats = [t for t in sub.heartbeats if start - 0.5 <= t <= end + 0.5]
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    assert end - start > 1.0 and gaps and max(gaps) <= 1.5, (end - start, max(gaps or [0]))


def test_failing_calls_and_a_terminal_restart_lose_and_double_no_tick(mesh):
    terminal, rep, sub = mesh
    wait_until(lambda: all(len(sub.ticks(s)) >= 3 for s in SYMBOLS), 20, "ticks of every symbol")
    # A few calls raise (the round's last symbol among them), a few return None with last_error() set.
    terminal.run("t = MetaTrader5.terminal\nn = t.calls['copy_ticks_from']\n"
                 "for k in (3, 6, 9):\n    t.inject('copy_ticks_from', n + k, 'raise')\n"
                 "for k in (13, 14, 20):\n    t.inject('copy_ticks_from', n + k, 'none')")
    time.sleep(1.0)
    terminal.restart()
    restarted = time.time()
    wait_until(lambda: any(t > restarted for t, _e in sub.events), 20, "ticks after the terminal restarted")
    time.sleep(1.0)
    status = call(rep, cmd="status", id="s")["terminal"]
    assert status["connected"] is True and status["errors"] >= 6, status
    for s in SYMBOLS:
        got = [(e["time_msc"], e["bid"], e["ask"]) for e in sub.ticks(s)]
        held = terminal.history(s)
        first, last = held.index(got[0]), held.index(got[-1])
        assert got == held[first:last + 1], s  # every tick between the first and last seen, once, in order
        assert len(got) > 20
