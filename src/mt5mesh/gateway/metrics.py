"""The gateway's /metrics and /healthz. The broker thread owns every counter; once per heartbeat
it publishes a snapshot dict (assigned whole), and the HTTP thread renders only that snapshot,
so no state is shared between threads but an immutable dict."""
import time

from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily

COUNTERS = (("published", "Events published (ticks and trade events)"), ("heartbeats", "Heartbeats published"),
            ("requests", "REQ/REP requests answered"), ("rejected", "Requests refused as malformed"),
            ("pushed", "EA pushes accepted"), ("dropped", "EA pushes dropped as malformed"),
            ("errors", "Internal errors while handling a peer's message"))
# /healthz is stale (503) when the broker thread has not published for this long.
STALE_S = 5.0


def snapshot(broker, now=None):
    """The broker's state as plain data (called on the broker thread)."""
    term = broker.terminal_status()
    trader = broker.trader
    return {"at": time.time() if now is None else now, "epoch": broker.epoch, "seq": broker.seq,
            "ring_events": broker.ring.last - broker.ring.oldest + 1 if broker.ring.last else 0,
            "counters": dict(broker.counters), "source": broker.backend,
            "terminal_connected": term.get("connected"),
            "trading_enabled": trader.enabled if trader is not None else None,
            "orders_by_retcode": dict(trader.by_retcode) if trader is not None else {},
            "problems": broker.problems(),
            "journal_ok": None if broker.journal is None else broker.journal.error is None,
            "journal_bytes": None if broker.journal is None else broker.journal.total_bytes(),
            "journal_budget_bytes": None if broker.journal is None else broker.journal.budget_bytes,
            "order_log_ok": None if trader is None else trader.orders.healthy(),
            "orders_kept": None if trader is None else len(trader.orders.state.replies)}


class GatewayCollector:
    """prometheus-client collector over the latest snapshot."""

    def __init__(self, get_snapshot):
        self.get = get_snapshot

    def collect(self):
        snap = self.get()
        if not snap:
            return
        for name, text in COUNTERS:
            c = CounterMetricFamily("mt5mesh_gateway_%s" % name, text)
            c.add_metric([], snap["counters"].get(name, 0))
            yield c
        for name, text, value in (
                ("seq", "Last seq published in this epoch", snap["seq"]),
                ("epoch", "The stream's epoch (milliseconds since 1970 at its start)", snap["epoch"]),
                ("ring_events", "Events held for replay", snap["ring_events"]),
                ("clients", "PUB subscribers connected", snap["counters"].get("clients", 0)),
                ("last_heartbeat_timestamp_seconds", "When the broker thread last published this snapshot", snap["at"])):
            g = GaugeMetricFamily("mt5mesh_gateway_%s" % name, text)
            g.add_metric([], value)
            yield g
        if snap["terminal_connected"] is not None:
            g = GaugeMetricFamily("mt5mesh_gateway_terminal_connected", "1 while the MT5 terminal answers")
            g.add_metric([], 1 if snap["terminal_connected"] else 0)
            yield g
        for name, text in (
                ("journal_ok", "1 while the journal can be written"),
                ("journal_bytes", "Bytes in the journal's segments"),
                ("journal_budget_bytes", "The journal directory's byte budget (oldest segments go past it)"),
                ("order_log_ok", "1 while the order log can be written and trusted (0: orders are refused)"),
                ("orders_kept", "Order replies kept for exactly-once retries (by time)")):
            if snap.get(name) is not None:
                g = GaugeMetricFamily("mt5mesh_gateway_%s" % name, text)
                g.add_metric([], int(snap[name]))
                yield g
        if snap["trading_enabled"] is not None:
            g = GaugeMetricFamily("mt5mesh_gateway_trading_enabled", "1 when order_send/order_close are accepted")
            g.add_metric([], 1 if snap["trading_enabled"] else 0)
            yield g
            c = CounterMetricFamily("mt5mesh_gateway_orders", "Trading replies by MT5 retcode", labels=["retcode"])
            # DONE is always there (from 0), so rates and increases have a series before the first order.
            by_retcode = {10009: 0}
            by_retcode.update(snap["orders_by_retcode"])
            for retcode, n in sorted(by_retcode.items(), key=lambda kv: str(kv[0])):
                c.add_metric([str(retcode)], n)
            yield c


class GatewayMetrics:
    """What httpd.serve needs: a registry, and the health decision."""

    def __init__(self):
        self.snap = None
        self.registry = CollectorRegistry()
        self.registry.register(GatewayCollector(lambda: self.snap))

    def publish(self, snap):
        self.snap = snap  # one assignment: readers see a whole snapshot

    def health(self, now=None):
        return health_of(self.snap, time.time() if now is None else now)


def health_of(snap, now):
    """(HTTP code, body) for /healthz (pure)."""
    if snap is None:
        return 503, {"state": "starting"}
    problems = []
    if now - snap["at"] > STALE_S:
        problems.append("the broker loop has not run for %.1f s" % (now - snap["at"]))
    if snap["terminal_connected"] is False:
        problems.append("terminal not connected")
    problems.extend(snap.get("problems") or ())
    body = {"state": "degraded" if problems else "healthy", "problems": problems, "epoch": snap["epoch"],
            "seq": snap["seq"], "source": snap["source"], "terminal_connected": snap["terminal_connected"],
            "trading_enabled": snap["trading_enabled"]}
    return (503 if problems else 200), body
