"""The nexus configuration schema: the one list of its settings, types, ranges and defaults
(the role template renders these keys; tests/integration/test_config_schema.py checks that)."""
import re

from mt5mesh.config import HOST_PORT, LEVELS, URL, ZMQ_URL, Option
from mt5mesh.wire import protocol

HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}")
# PostgreSQL hosts: one, or an HA pair (or more) in libpq's list form, tried in order for the writer.
PG_HOSTS = re.compile(r"%s(,%s){0,7}" % (HOST.pattern, HOST.pattern))
IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# A gateway's name is in keys, Redis key names and topics (<gateway>.tick.<SYMBOL>): no dots.
GATEWAY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")


def _pg(prefix, what, host_default):
    return (
        Option(prefix + "host", str, host_default, "%s host, or hosts (comma-separated; the one that takes writes "
               "is used)" % what, pattern=PG_HOSTS, what="host names or addresses, comma-separated",
               optional=host_default is None),
        Option(prefix + "port", int, 5432, "%s port" % what, low=1, high=65535),
        Option(prefix + "db", str, "mt5_crs" if prefix == "pg_" else "mt5_features", "%s database" % what,
               pattern=IDENT, what="a lower-case identifier"),
        Option(prefix + "user", str, "trader", "%s user" % what, pattern=IDENT, what="a lower-case identifier"),
        Option(prefix + "password", str, None, "%s password (prefer the config file: argv is visible in ps)" % what,
               optional=True, secret=True),
    )


SCHEMA = (
    Option("gateway", str, "gtw", "the name of the gateway this nexus follows (its rows, keys and topics carry it)",
           pattern=GATEWAY_NAME, what="letters, digits, _ and - (no dots), up to 63"),
    Option("gateway_req", str, "tcp://127.0.0.1:%d" % protocol.DEFAULT_REP_PORT, "gateway REQ/REP URL",
           pattern=ZMQ_URL, what="a ZeroMQ URL"),
    Option("gateway_sub", str, "tcp://127.0.0.1:%d" % protocol.DEFAULT_PUB_PORT, "gateway PUB URL to subscribe to",
           pattern=ZMQ_URL, what="a ZeroMQ URL"),
    Option("xpub", str, protocol.DEFAULT_XPUB_URL, "local re-publish bind URL", pattern=ZMQ_URL, what="a ZeroMQ URL"),
) + _pg("pg_", "INF PostgreSQL", "127.0.0.1") + (
    Option("redis_url", str, "redis://127.0.0.1:6379/0", "INF Redis URL", pattern=URL, what="a redis:// URL", secret=True),
) + _pg("hub_pg_", "HUB PostgreSQL", None) + (
    Option("hub_redis_url", str, "redis://127.0.0.1:6379/1", "HUB Redis URL", pattern=URL, what="a redis:// URL",
           secret=True),
    Option("health_listen", str, "127.0.0.1:9110", "HOST:PORT for /healthz and /metrics", pattern=HOST_PORT,
           what="HOST:PORT"),
    Option("spool_dir", str, "/var/lib/mt5mesh-nexus/spool", "on-disk spool while PostgreSQL is down"),
    Option("spool_max_bytes", int, 512 * 1024 * 1024, "spool size limit, bytes", low=1024 * 1024, high=2 ** 40),
    Option("batch_size", int, 5000, "ticks per INF commit", low=1, high=1000000),
    Option("flush_interval", float, 0.05, "seconds a partial batch may wait", low=0.001, high=10),
    Option("queue_batches", int, 64, "batches queued for the writer", low=1, high=100000),
    Option("request_timeout", float, 1.0, "seconds per gateway request", low=0.01, high=60),
    Option("request_retries", int, 3, "Lazy Pirate attempts per request", low=1, high=100),
    Option("breaker_threshold", int, 3, "failed calls that open the circuit", low=1, high=1000),
    Option("breaker_reset", float, 2.0, "seconds before a half-open probe", low=0.01, high=3600),
    Option("heartbeat_timeout", float, 3.0, "gateway silence that triggers a probe, seconds", low=0.1, high=3600),
    Option("max_lag", float, 1.0, "lag above which /healthz is degraded, seconds", low=0.001, high=3600),
    Option("gap_alarm_s", float, 300.0, "seconds an unrecoverable gap keeps /healthz degraded", low=0, high=10 ** 7),
    Option("curve_client_key", str, None, "client secret key file; enables CURVE", optional=True),
    Option("curve_server_key", str, None, "gateway public key file", optional=True),
    Option("log_level", str, "INFO", "log level", choices=LEVELS),
)
SECRET_KEYS = tuple(o.name for o in SCHEMA if o.secret)


def problems(cfg):
    """What is wrong with a valid nexus config as a whole (pure): one message, or None.
    CURVE needs both keys: the client's secret key alone (or the gateway's public key alone)
    would fail deep in the socket set-up with a traceback, long after the config was read."""
    client, server = cfg.get("curve_client_key"), cfg.get("curve_server_key")
    if bool(client) != bool(server):
        given, missing = ("curve_client_key", "curve_server_key") if client else ("curve_server_key", "curve_client_key")
        return "%s: CURVE needs both keys; %s is set but %s is not" % (missing, given, missing)
    return None
