"""/healthz (JSON) and /metrics (Prometheus text via prometheus-client) on a local port, for
nexus and the gateway: a daemon thread that only reads what the service publishes."""
import errno
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mt5mesh.service import ServiceError

# A slow or silent HTTP client holds a thread for at most this long per read, and this long for the
# whole request whatever it trickles (a byte every few seconds never ends a per-read timeout);
# only this many at once.
REQUEST_TIMEOUT_S = 5.0
REQUEST_DEADLINE_S = 2.0
MAX_CONNECTIONS = 16


class BoundedHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a cap on concurrent connections (past it, new ones are closed) and
    a whole-request deadline kept by one watcher thread, so a connection costs one thread, not two."""

    daemon_threads = True

    def __init__(self, address, handler, max_connections=MAX_CONNECTIONS):
        self.slots = threading.BoundedSemaphore(max_connections)
        self._deadlines = {}
        self._deadlines_lock = threading.Lock()
        self._stopped = threading.Event()
        ThreadingHTTPServer.__init__(self, address, handler)
        threading.Thread(target=self._watch_deadlines, name="health-deadlines", daemon=True).start()

    def watch(self, conn):
        with self._deadlines_lock:
            self._deadlines[conn] = time.monotonic() + REQUEST_DEADLINE_S

    def unwatch(self, conn):
        with self._deadlines_lock:
            self._deadlines.pop(conn, None)

    def _watch_deadlines(self):
        while not self._stopped.wait(0.1):
            now = time.monotonic()
            with self._deadlines_lock:
                late = [c for c, t in self._deadlines.items() if t <= now]
                for conn in late:
                    del self._deadlines[conn]
            for conn in late:
                # Shut, not closed: the handler thread owns the socket and closes it itself.
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def shutdown(self):
        self._stopped.set()
        ThreadingHTTPServer.shutdown(self)

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

        def setup(self):
            BaseHTTPRequestHandler.setup(self)
            # The whole-request deadline: past it the connection is shut, its slot freed.
            self.server.watch(self.connection)

        def finish(self):
            self.server.unwatch(self.connection)
            try:
                BaseHTTPRequestHandler.finish(self)
            except OSError:
                pass

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
