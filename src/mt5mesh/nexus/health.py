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
        self.quarantined = Counter("nexus_ticks_quarantined", "Events PostgreSQL refused as data, kept in "
                                   "nexus_quarantine", registry=r)
        self.malformed = Counter("nexus_events_malformed", "Events from the gateway that failed validation", registry=r)


# A slow or silent HTTP client holds a thread for at most this long, and only this many at once.
REQUEST_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 16


class BoundedHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a cap on concurrent connections: past it, new ones are closed."""

    daemon_threads = True

    def __init__(self, address, handler, max_connections=MAX_CONNECTIONS):
        self.slots = threading.BoundedSemaphore(max_connections)
        ThreadingHTTPServer.__init__(self, address, handler)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            ThreadingHTTPServer.process_request(self, request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            ThreadingHTTPServer.process_request_thread(self, request, client_address)
        finally:
            self.slots.release()


def serve(listen, health_fn, metrics, log):
    """Start the HTTP endpoint in a daemon thread. ``health_fn()`` returns (http_code, dict)."""
    host, dummy, port = listen.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S  # socket timeout: an unfinished request is dropped

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
        server = BoundedHTTPServer((host or "127.0.0.1", int(port)), Handler)
    except OSError as e:
        raise ServiceError("health: cannot listen on %s: %s" % (listen, "port already in use" if e.errno == errno.EADDRINUSE else e))
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
