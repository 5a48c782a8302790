"""What both services share: stdout logging, clean SIGTERM, and clear errors for ports already
in use (configuration is mt5mesh.config)."""
import errno
import logging
import signal
import sys
import threading

import zmq


class ServiceError(Exception):
    """A startup problem reported as one clear line and a non-zero exit."""


def setup_logging(name, level):
    logging.basicConfig(stream=sys.stdout, level=getattr(logging, str(level or "INFO").upper(), logging.INFO),
                        format="%(asctime)s " + name + " %(levelname)s %(message)s")
    return logging.getLogger(name)


def bind(sock, url, what):
    try:
        sock.bind(url)
    except zmq.ZMQError as e:
        if e.errno == errno.EADDRINUSE:
            raise ServiceError("%s: port already in use: %s" % (what, url))
        raise ServiceError("%s: cannot bind %s: %s" % (what, url, e))


def stop_event_on_signals():
    """An Event set by SIGTERM/SIGINT; the main loops poll it and exit 0."""
    stop = threading.Event()

    def handler(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def notify_ready(environ=None):
    """Tell systemd the service is serving (Type=notify): `systemctl start` returns only then.
    A no-op outside systemd; never raises (readiness is a courtesy, not a dependency)."""
    import os
    import socket
    path = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):
        path = "\0" + path[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(path)
            sock.sendall(b"READY=1")
        return True
    except OSError:
        return False


def run(main_fn, log):
    try:
        main_fn()
    except ServiceError as e:
        log.error("%s", e)
        sys.exit(2)
    return 0
