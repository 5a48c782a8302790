"""mt5mesh-nexus: the sync daemon on INF (gateway -> proxy, PostgreSQL, Redis, HUB)."""
import json
import sys

import psycopg2

from mt5mesh.nexus.daemon import Nexus
from mt5mesh.config import load
from mt5mesh.nexus.schema_config import SCHEMA, problems
from mt5mesh.nexus.migrations import init_schema
from mt5mesh.nexus.pg import pg_connect, pg_where
from mt5mesh.service import ServiceError, run, setup_logging, stop_event_on_signals


SWITCH_INTERVAL_S = 0.0005


def add_actions(p):
    p.add_argument("--init-schema", action="store_true",
                   help="create the INF (and HUB) tables if missing, migrate single-gateway tables "
                        "(their rows become this gateway's), print JSON, exit")


def init_all(cfg):
    created, migrated = {}, {}
    for name, prefix in (("inf", "pg_"), ("hub", "hub_pg_")):
        if name == "hub" and not cfg.get("hub_pg_host"):
            continue
        try:
            conn = pg_connect(cfg, prefix)
        except psycopg2.Error as e:
            raise ServiceError("init-schema: cannot connect to %s: %s" % (pg_where(cfg, prefix), str(e).strip()))
        try:
            created[name], migrated[name] = init_schema(conn, name, cfg["gateway"])
        finally:
            conn.close()
    print(json.dumps({"changed": any(created.values()) or any(migrated.values()), "created": created,
                      "migrated": migrated}))


def main(argv=None):
    cfg, args = load(__doc__, SCHEMA, argv, add_actions, cross=problems)
    log = setup_logging("mt5mesh-nexus", cfg["log_level"])

    def go():
        if args.init_schema:
            init_all(cfg)
            return
        stop = stop_event_on_signals()
        # The follower re-publishes each tick to strategies the moment it is accepted, while the
        # writer and HUB threads format COPY rows holding the GIL. With CPython's default 5 ms
        # switch interval a tick could wait that long for the follower to run again (the p99 of
        # tick-to-strategy latency); 0.5 ms bounds that wait (docs/benchmarks.md, tick latency).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        Nexus(cfg, stop).run()

    return run(go, log)


if __name__ == "__main__":
    sys.exit(main())
