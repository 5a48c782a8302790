"""Logging helpers of the nexus threads."""
import logging
import time

from mt5mesh.wire.errors import first_line  # noqa: F401  (re-exported for the nexus modules)

__all__ = ["RateLimitedLog", "first_line", "redact"]

log = logging.getLogger("mt5mesh-nexus")


class RateLimitedLog:
    """Log a repeated condition at most once per ``every`` seconds. One per thread."""

    def __init__(self, every=5.0):
        self.every, self.last = every, {}

    def __call__(self, key, level, msg, *args):
        now = time.monotonic()
        if now - self.last.get(key, -1e9) >= self.every:
            self.last[key] = now
            log.log(level, msg, *args)


def redact(url):
    """redis://:secret@host -> redis://***@host, for logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return scheme + "://***@" + rest.rsplit("@", 1)[1]
    return url
