"""/healthz (JSON) and /metrics (Prometheus text via prometheus-client) on a local port."""
from prometheus_client import CollectorRegistry, Counter, Gauge

# The HTTP endpoint is shared with the gateway (mt5mesh.httpd).
from mt5mesh.httpd import serve

__all__ = ["Metrics", "serve"]


class Metrics:
    def __init__(self):
        r = self.registry = CollectorRegistry()
        self.committed = Counter("nexus_ticks_committed", "Ticks committed to INF PostgreSQL", registry=r)
        self.replayed = Counter("nexus_ticks_replayed", "Ticks recovered through replay", registry=r)
        self.gaps_filled = Counter("nexus_gaps_filled", "Sequence gaps filled by replay", registry=r)
        self.unrecoverable = Counter("nexus_gaps_unrecoverable", "Sequence gaps the gateway no longer held", registry=r)
        self.unrecoverable_ticks = Counter("nexus_ticks_unrecoverable", "Ticks lost to unrecoverable gaps", registry=r)
        self.epoch_changes = Counter("nexus_epoch_changes", "Gateway restarts seen (new epoch)", registry=r)
        self.duplicates = Counter("nexus_duplicates_dropped", "Events already held, dropped", registry=r)
        self.lag = Gauge("nexus_lag_seconds", "Tick publish to commit lag", registry=r)
        self.last_seq = Gauge("nexus_committed_seq", "Last committed seq in the current epoch", registry=r)
        self.spool_depth = Gauge("nexus_spool_batches", "Batches waiting in the on-disk spool", registry=r)
        self.spool_full = Gauge("nexus_spool_full", "1 while the spool is full (consumption paused)", registry=r)
        self.store_up = Gauge("nexus_store_up", "1 when the store accepts writes", ["store"], registry=r)
        self.breaker_open = Gauge("nexus_gateway_circuit_open", "1 while the gateway circuit is open", registry=r)
        self.quarantined = Counter("nexus_ticks_quarantined", "Events PostgreSQL refused as data, kept in "
                                   "nexus_quarantine", registry=r)
        self.malformed = Counter("nexus_events_malformed", "Events from the gateway that failed validation", registry=r)
