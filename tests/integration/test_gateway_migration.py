"""Several gateways share INF and HUB: every row names its gateway, uniqueness is
(gateway, epoch, seq), and tables from a single-gateway mesh are migrated in place with every
row kept (they become the one gateway's), on real PostgreSQL."""
import json
import re
import subprocess
import sys

import psycopg2
import pytest

from mt5mesh.nexus.schema import GATEWAY_MIGRATION, HUB_SCHEMA, INF_SCHEMA
from mt5mesh.nexus.migrations import init_schema
from mt5mesh.nexus.stores import HubFeeder, TickStore


def single_gateway(ddl, which):
    """The schema as it was before several gateways, from today's: no gateway column, the old
    primary keys (schema.GATEWAY_MIGRATION), checkpoints keyed by ``stream``. The lab upgrade test
    (tests/lab/test_upgrade_lab.py) deploys the released code itself; this is the store part alone."""
    lines = [line for line in ddl.splitlines() if not re.match(r"\s+gateway\s+text\s+NOT NULL,?$", line)]
    ddl = "\n".join(lines).replace("gateway    text PRIMARY KEY", "stream     text PRIMARY KEY")
    for _table, old_key, new_key in GATEWAY_MIGRATION[which]:
        if old_key:
            ddl = ddl.replace("PRIMARY KEY " + new_key, "PRIMARY KEY " + old_key)
    return re.sub(r",\n\)", "\n)", ddl)  # the gateway column was the last of its table


OLD_INF, OLD_HUB = single_gateway(INF_SCHEMA, "inf"), single_gateway(HUB_SCHEMA, "hub")


def cfg_for(pg, redis_server, gateway):
    return {"pg_host": "127.0.0.1", "pg_port": pg.port, "pg_db": "mt5_crs", "pg_user": "trader",
            "pg_password": pg.PASSWORD, "hub_pg_host": "127.0.0.1", "hub_pg_port": pg.port,
            "hub_pg_db": "mt5_features", "hub_pg_user": "trader", "hub_pg_password": pg.PASSWORD,
            "hub_redis_url": redis_server.url(1), "redis_url": redis_server.url(0), "gateway": gateway}


def connect(pg, db):
    return psycopg2.connect(host="127.0.0.1", port=pg.port, dbname=db, user="trader", password=pg.PASSWORD)


def rows(conn, query):
    with conn.cursor() as cur:
        cur.execute(query)
        out = cur.fetchall()
    conn.rollback()
    return out


def old_mesh(pg):
    """A single-gateway INF and HUB with ticks, an order, a deal, both checkpoints and a bar."""
    inf, hub = connect(pg, "mt5_crs"), connect(pg, "mt5_features")
    with inf.cursor() as cur:
        cur.execute(OLD_INF)
        cur.execute("INSERT INTO ticks VALUES (7, 1, 'EURUSD', 1700000000.1, 1.1, 1.2), (7, 2, 'EURUSD', 1700000000.2, 1.1, 1.2)")
        cur.execute("INSERT INTO orders (epoch, seq, ts, symbol, kind) VALUES (7, 3, 1700000000.3, 'EURUSD', 'fill')")
        cur.execute("INSERT INTO deals (ticket, order_ticket, symbol, volume, price, epoch, seq) "
                    "VALUES (500, 400, 'EURUSD', 0.1, 1.2, 7, 3)")
        cur.execute("INSERT INTO nexus_checkpoint (stream, epoch, seq) VALUES ('gateway', 7, 3)")
        cur.execute("INSERT INTO nexus_discontinuity (kind, epoch) VALUES ('epoch_change', 7)")
    inf.commit()
    with hub.cursor() as cur:
        cur.execute(OLD_HUB)
        cur.execute("INSERT INTO bars_1s (symbol, bucket, open, high, low, close, spread_sum, ticks) "
                    "VALUES ('EURUSD', 1700000000, 1.15, 1.15, 1.15, 1.15, 0.2, 2)")
        cur.execute("INSERT INTO hub_checkpoint (stream, epoch, seq) VALUES ('gateway', 7, 2)")
    hub.commit()
    return inf, hub


def test_migration_keeps_every_single_gateway_row_as_that_gateways(clean_stores):
    pg, _redis = clean_stores
    inf, hub = old_mesh(pg)
    created, migrated = init_schema(inf, "inf", "gtw")
    assert created == [] and sorted(migrated) == ["deals", "nexus_checkpoint", "nexus_discontinuity",
                                                  "nexus_quarantine", "orders", "ticks"]
    assert rows(inf, "SELECT gateway, epoch, seq FROM ticks ORDER BY seq") == [("gtw", 7, 1), ("gtw", 7, 2)]
    assert rows(inf, "SELECT gateway, epoch, seq FROM orders") == [("gtw", 7, 3)]
    assert rows(inf, "SELECT gateway, ticket FROM deals") == [("gtw", 500)]
    assert rows(inf, "SELECT gateway, epoch, seq FROM nexus_checkpoint") == [("gtw", 7, 3)]
    assert rows(inf, "SELECT gateway, kind FROM nexus_discontinuity") == [("gtw", "epoch_change")]
    assert init_schema(hub, "hub", "gtw") == ([], ["bars_1s", "hub_checkpoint"])
    assert rows(hub, "SELECT gateway, symbol, ticks FROM bars_1s") == [("gtw", "EURUSD", 2)]
    assert rows(hub, "SELECT gateway, epoch, seq FROM hub_checkpoint") == [("gtw", 7, 2)]


def test_migration_makes_gateway_epoch_seq_the_key_so_two_gateways_share_seq_numbers(clean_stores):
    pg, _redis = clean_stores
    inf, _hub = old_mesh(pg)
    init_schema(inf, "inf", "gtw")
    assert rows(inf, "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                     "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'ticks'::regclass AND i.indisprimary "
                     "ORDER BY array_position(i.indkey, a.attnum)") == [("gateway",), ("epoch",), ("seq",)]
    with inf.cursor() as cur:
        cur.execute("INSERT INTO ticks VALUES (7, 1, 'EURUSD', 1700000000.5, 1.3, 1.4, 'gtw2')")
        with pytest.raises(psycopg2.errors.NotNullViolation):  # a row must name its gateway
            cur.execute("INSERT INTO ticks (epoch, seq, symbol, ts, bid, ask) VALUES (7, 9, 'X', 1.0, 1.0, 1.0)")
    inf.rollback()


def test_migration_runs_once_a_second_start_changes_nothing(clean_stores):
    pg, _redis = clean_stores
    inf, hub = old_mesh(pg)
    init_schema(inf, "inf", "gtw")
    init_schema(hub, "hub", "gtw")
    assert init_schema(inf, "inf", "gtw2") == ([], [])
    assert init_schema(hub, "hub", "gtw2") == ([], [])
    assert rows(inf, "SELECT DISTINCT gateway FROM ticks") == [("gtw",)]


def test_two_gateways_with_the_same_epoch_and_seq_are_both_kept_each_with_its_checkpoint_and_bars(clean_stores):
    pg, redis_server = clean_stores
    stores = {}
    for gw, price in (("gtw", 1.1), ("gtw2", 2.2)):
        store = TickStore(cfg_for(pg, redis_server, gw))
        store.write([(5, s, "EURUSD", 1700000000.0 + s / 10.0, price, price + 0.1) for s in range(1, 4)])
        store.write([(5, 2, "EURUSD", 1.0, 9.9, 9.9)])  # a replayed seq: never doubled, never overwritten,
        # and the checkpoint stays at the newest seq
        stores[gw] = store
    inf = connect(pg, "mt5_crs")
    assert rows(inf, "SELECT gateway, count(*), min(bid), max(bid) FROM ticks GROUP BY gateway ORDER BY gateway") == [
        ("gtw", 3, 1.1, 1.1), ("gtw2", 3, 2.2, 2.2)]
    assert stores["gtw"].checkpoint() == (5, 3) and stores["gtw2"].checkpoint() == (5, 3)
    for gw in ("gtw", "gtw2"):
        feeder = HubFeeder(cfg_for(pg, redis_server, gw))
        assert feeder.step() == 3  # its own three ticks, not the other gateway's
        feeder.drop()
    hub = connect(pg, "mt5_features")
    assert rows(hub, "SELECT gateway, sum(ticks) FROM bars_1s GROUP BY gateway ORDER BY gateway") == [
        ("gtw", 3), ("gtw2", 3)]
    for store in stores.values():
        store.drop()


def test_init_schema_cli_reports_the_migration_then_no_change(clean_stores, tmp_path):
    pg, redis_server = clean_stores
    old_mesh(pg)
    cfg = dict(cfg_for(pg, redis_server, "gtw"))
    path = tmp_path / "nexus.yml"
    path.write_text(json.dumps(cfg))
    cmd = [sys.executable, "-m", "mt5mesh.nexus.main", "--config", str(path), "--init-schema"]
    first = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    assert first["changed"] is True and "ticks" in first["migrated"]["inf"] and first["migrated"]["hub"]
    second = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    assert second == {"changed": False, "created": {"inf": [], "hub": []}, "migrated": {"inf": [], "hub": []}}
