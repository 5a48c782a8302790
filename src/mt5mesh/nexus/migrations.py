"""The stores' schema applied, and older stores brought up to it: one ordered list of migrations.

The tables themselves are defined once, in ``schema.py``. A store carries no version number (the
meshes from before several gateways have none), so each migration looks at the store and does
its work only where the store still has the shape before it. They run in ``MIGRATIONS`` order,
before the schema's ``CREATE TABLE IF NOT EXISTS``, in the one transaction of ``init_schema``.
A new migration goes at the end; one that has shipped is never edited or moved.
"""
from psycopg2 import sql

from mt5mesh.nexus.schema import CHECKPOINTS, GATEWAY_MIGRATION, HUB_SCHEMA, INF_SCHEMA, OLD_STREAM, TABLES

SCHEMAS = {"inf": INF_SCHEMA, "hub": HUB_SCHEMA}
# Held for the whole schema transaction: one nexus per gateway may start at once, and two
# concurrent CREATE TABLE IF NOT EXISTS (or migrations) of the same table collide.
SCHEMA_LOCK = 0x6d74356d


def init_schema(conn, which, gateway):
    """Create missing tables of the ``which`` store ("inf" or "hub") and bring tables from
    before several gateways up to date, in one transaction. Rows from before belong to
    ``gateway``: the one gateway of that mesh. Returns (tables created, tables migrated)."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        existing = {r[0] for r in cur.fetchall()}
        migrated = migrate(cur, which, gateway, existing)
        cur.execute(SCHEMAS[which])
    conn.commit()
    return [t for t in TABLES[which] if t not in existing], migrated


def migrate(cur, which, gateway, existing):
    """Every migration in order; the tables each changed, in that order."""
    migrated = []
    for _what, step in MIGRATIONS:
        migrated += step(cur, which, gateway, existing)
    return migrated


def _columns(cur, table):
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s", (table,))
    return {r[0] for r in cur.fetchall()}


def _gateway_column(cur, which, gateway, existing):
    migrated = []
    for table, old_key, new_key in GATEWAY_MIGRATION[which]:
        if table not in existing or "gateway" in _columns(cur, table):
            continue
        # The rows already there are the one gateway's; new rows must name theirs (no default).
        cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN gateway text NOT NULL DEFAULT {}").format(
            sql.Identifier(table), sql.Literal(gateway)))
        cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN gateway DROP DEFAULT").format(sql.Identifier(table)))
        if old_key:
            cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}, ADD PRIMARY KEY " + new_key).format(
                sql.Identifier(table), sql.Identifier(table + "_pkey")))
        migrated.append(table)
    return migrated


def _checkpoint_by_gateway(cur, which, gateway, existing):
    checkpoint = CHECKPOINTS[which]
    if checkpoint not in existing or "stream" not in _columns(cur, checkpoint):
        return []
    cur.execute(sql.SQL("ALTER TABLE {} RENAME COLUMN stream TO gateway").format(sql.Identifier(checkpoint)))
    cur.execute(sql.SQL("UPDATE {} SET gateway = %s WHERE gateway = %s").format(sql.Identifier(checkpoint)),
                (gateway, OLD_STREAM))
    return [checkpoint]


# Oldest first: (what it changes, the step).
MIGRATIONS = (
    ("several gateways: each table's rows name their gateway, and the keys include it", _gateway_column),
    ("several gateways: each checkpoint is keyed by its gateway, not by one stream", _checkpoint_by_gateway),
)
