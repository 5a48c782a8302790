"""HUB's read of INF starts at its checkpoint, not at the gateway's first row (real PostgreSQL).

The soak found it: with the redundant form of the query, each read scanned the gateway's whole
history before the checkpoint, and nexus's lag grew with the table."""
import json

from mt5mesh.nexus.schema import INF_SCHEMA
from mt5mesh.nexus.stores import HUB_READ_SQL

ROWS = 200000


def plan(cur, checkpoint_seq):
    cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + HUB_READ_SQL, ("gtw", 7, checkpoint_seq, 1000))
    return cur.fetchone()[0][0]["Plan"]


def pages(node):
    return node["Shared Hit Blocks"] + node["Shared Read Blocks"]


def test_hub_read_from_a_late_checkpoint_touches_a_few_pages_not_the_whole_history(clean_stores):
    pg, _redis = clean_stores
    conn = pg.connect("mt5_crs")
    try:
        with conn.cursor() as cur:
            cur.execute(INF_SCHEMA)
            cur.execute("INSERT INTO ticks (gateway, epoch, seq, symbol, ts, bid, ask) "
                        "SELECT g, 7, s, 'EURUSD', 1.7e9, 1.1, 1.2 FROM generate_series(1, %s) s, "
                        "(VALUES ('gtw'), ('gtw2')) AS gw(g)", (ROWS,))
            cur.execute("ANALYZE ticks")
            early, late = plan(cur, 0), plan(cur, ROWS - 1000)
        conn.commit()
    finally:
        conn.close()
    # Both read 1 000 rows; from a late checkpoint the scan must not walk the 199 000 before it
    # (that walk is about 600 index pages here; a start at the checkpoint is a few dozen).
    assert early["Actual Rows"] == late["Actual Rows"] == 1000, (early, late)
    assert pages(late) <= 2 * pages(early) + 20, json.dumps(late)[:2000]
