"""/healthz (JSON) and /metrics (Prometheus text via prometheus-client) on a local port."""
import errno
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mt5mesh.service import ServiceError
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, CONTENT_TYPE_LATEST


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


def serve(listen, health_fn, metrics, log):
    """Start the HTTP endpoint in a daemon thread. ``health_fn()`` returns (http_code, dict)."""
    host, dummy, port = listen.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/healthz"):
                code, body = health_fn()
                data, ctype = json.dumps(body, sort_keys=True).encode(), "application/json"
            elif self.path.startswith("/metrics"):
                code, data, ctype = 200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST
            else:
                code, data, ctype = 404, b"not found\n", "text/plain"
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            log.debug("health: " + fmt, *args)

    try:
        server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    except OSError as e:
        raise ServiceError("health: cannot listen on %s: %s" % (listen, "port already in use" if e.errno == errno.EADDRINUSE else e))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
