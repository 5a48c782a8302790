"""mt5mesh-nexus: the sync daemon on INF (gateway -> proxy, PostgreSQL, Redis, HUB)."""
import json
import sys

import psycopg2

from mt5mesh.nexus.daemon import Nexus
from mt5mesh.nexus.schema import HUB_SCHEMA, INF_SCHEMA, TABLES
from mt5mesh.nexus.stores import init_schema, pg_connect, pg_where
from mt5mesh.service import ServiceError, parse_args, run, setup_logging, stop_event_on_signals
from mt5mesh.wire import protocol

DEFAULTS = {
    "gateway_req": "tcp://127.0.0.1:%d" % protocol.DEFAULT_REP_PORT,
    "gateway_sub": "tcp://127.0.0.1:%d" % protocol.DEFAULT_PUB_PORT,
    "xpub": protocol.DEFAULT_XPUB_URL,
    "pg_host": "127.0.0.1", "pg_port": 5432, "pg_db": "mt5_crs", "pg_user": "trader", "pg_password": None,
    "redis_url": "redis://127.0.0.1:6379/0",
    "hub_pg_host": None, "hub_pg_port": 5432, "hub_pg_db": "mt5_features", "hub_pg_user": "trader",
    "hub_pg_password": None,
    "hub_redis_url": "redis://127.0.0.1:6379/1",
    "health_listen": "127.0.0.1:9110",
    "spool_dir": "/var/lib/mt5mesh-nexus/spool",
    "spool_max_bytes": 512 * 1024 * 1024,
    "batch_size": 5000,
    "flush_interval": 0.05,
    "queue_batches": 64,
    "request_timeout": 1.0,
    "request_retries": 3,
    "breaker_threshold": 3,
    "breaker_reset": 2.0,
    "heartbeat_timeout": 3.0,
    "max_lag": 1.0,
    "gap_alarm_s": 300.0,
    "curve_client_key": None,
    "curve_server_key": None,
}
SECRET_KEYS = ("pg_password", "hub_pg_password")


def add_arguments(p):
    p.add_argument("--gateway-req", help="gateway REQ/REP URL")
    p.add_argument("--gateway-sub", help="gateway PUB URL to subscribe to")
    p.add_argument("--xpub", help="local re-publish bind URL (default %s)" % protocol.DEFAULT_XPUB_URL)
    for prefix, what in (("pg", "INF PostgreSQL"), ("hub-pg", "HUB PostgreSQL")):
        p.add_argument("--%s-host" % prefix, help="%s host" % what)
        p.add_argument("--%s-port" % prefix, type=int)
        p.add_argument("--%s-db" % prefix)
        p.add_argument("--%s-user" % prefix)
        p.add_argument("--%s-password" % prefix, help="prefer the config file: argv is visible in ps")
    p.add_argument("--redis-url")
    p.add_argument("--hub-redis-url")
    p.add_argument("--health-listen", help="HOST:PORT for /healthz and /metrics")
    p.add_argument("--spool-dir")
    p.add_argument("--spool-max-bytes", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--flush-interval", type=float)
    p.add_argument("--queue-batches", type=int)
    p.add_argument("--request-timeout", type=float)
    p.add_argument("--request-retries", type=int)
    p.add_argument("--breaker-threshold", type=int)
    p.add_argument("--breaker-reset", type=float)
    p.add_argument("--heartbeat-timeout", type=float)
    p.add_argument("--max-lag", type=float)
    p.add_argument("--gap-alarm-s", type=float)
    p.add_argument("--curve-client-key", help="client secret key file; enables CURVE")
    p.add_argument("--curve-server-key", help="gateway public key file")
    p.add_argument("--init-schema", action="store_true", default=None,
                   help="create the INF (and HUB) tables if missing, print JSON, exit")


def init_all(cfg):
    created = {}
    for name, prefix, ddl in (("inf", "pg_", INF_SCHEMA), ("hub", "hub_pg_", HUB_SCHEMA)):
        if name == "hub" and not cfg.get("hub_pg_host"):
            continue
        try:
            conn = pg_connect(cfg, prefix)
        except psycopg2.Error as e:
            raise ServiceError("init-schema: cannot connect to %s: %s" % (pg_where(cfg, prefix), str(e).strip()))
        try:
            created[name] = init_schema(conn, ddl, TABLES[name])
        finally:
            conn.close()
    print(json.dumps({"changed": any(created.values()), "created": created}))


def main(argv=None):
    cfg = parse_args(__doc__, DEFAULTS, add_arguments, argv)
    log = setup_logging("mt5mesh-nexus", cfg["log_level"])

    def go():
        if cfg.get("init_schema"):
            init_all(cfg)
            return
        stop = stop_event_on_signals()
        Nexus(cfg, stop).run()

    return run(go, log)


if __name__ == "__main__":
    sys.exit(main())
