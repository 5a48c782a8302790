"""The stores nexus writes: INF PostgreSQL (ticks + checkpoint in one transaction), INF Redis
(latest tick per symbol), and the HUB feature store (1-second bars + its own checkpoint).
Connecting is in ``pg.py``, the schema and its migrations in ``migrations.py``."""
import io
import json
import logging
from typing import Any

import psycopg2
import psycopg2.extras
import redis

from mt5mesh.nexus import rows
from mt5mesh.nexus.migrations import init_schema
from mt5mesh.nexus.pg import is_data_error, pg_connect
from mt5mesh.wire import protocol
from mt5mesh.wire.errors import first_line

log = logging.getLogger("mt5mesh-nexus")
BIGINT_MAX = 2 ** 63 - 1
_COPY_ESCAPES = {ord("\\"): "\\\\", ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"}


# HUB's read of INF, from its checkpoint on. The equality on the key's first column and the row
# comparison on the rest make the primary key scan start at the checkpoint. With the whole key
# in the row comparison *and* the equality, PostgreSQL started at the gateway's first row and
# filtered its way forward: 1.4 s per read at 12 M rows, which grew nexus's lag in the soak
# (p99 2.7 s at 20 000 ticks/s); 22 ms with this form.
HUB_READ_SQL = ("SELECT epoch, seq, symbol, ts, bid, ask FROM ticks WHERE gateway = %s AND (epoch, seq) > (%s, %s) "
                "ORDER BY gateway, epoch, seq LIMIT %s")
# The checkpoint only grows, whoever writes it: with a nexus on each of two INF hosts, the one that
# lags (or replays after a failover) must not move it back. Epochs are the gateway's start times,
# so a new epoch is a greater one.
CHECKPOINT_SQL = ("INSERT INTO %(table)s (gateway, epoch, seq) VALUES (%%s, %%s, %%s) ON CONFLICT (gateway) DO UPDATE "
                  "SET epoch = EXCLUDED.epoch, seq = EXCLUDED.seq, updated_at = now() "
                  "WHERE (%(table)s.epoch, %(table)s.seq) < (EXCLUDED.epoch, EXCLUDED.seq)")


def ticks_in_sql():
    """The batch's own table: rows.Tick's columns (the gateway is this nexus's, added on INSERT)."""
    return "CREATE TEMP TABLE IF NOT EXISTS ticks_in (%s) ON COMMIT DELETE ROWS" % ", ".join(
        "%s %s" % column for column in rows.sql_columns(rows.Tick))


def ticks_insert_sql():
    columns = ", ".join(rows.Tick._fields)
    return "INSERT INTO ticks (%s, gateway) SELECT %s, %%s FROM ticks_in ON CONFLICT DO NOTHING" % (columns, columns)


# Held until the HUB transaction ends (commit or rollback), whatever happens to the client.
HUB_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext(%s))"


def checkpoint_sql(table):
    """The upsert of `table`'s (gateway, epoch, seq), moving it forward only."""
    return CHECKPOINT_SQL % {"table": table}


def copy_field(value):
    """One value in COPY text format. Text is escaped (a tab or newline in it cannot start a
    new column or row); numbers are written as numbers; anything else as escaped text, which
    PostgreSQL then refuses as a data error for a numeric column."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return str(value).translate(_COPY_ESCAPES).replace("\x00", "")


_NUMBER = (int, float)


def copy_line(row):
    # The common row (int, int, str, three numbers; bools excluded by the exact type checks) in
    # one format call: the same text copy_field gives, at half the cost on the ingest path.
    if (len(row) == 6 and type(row[0]) is int and type(row[1]) is int and type(row[2]) is str  # pylint: disable=unidiomatic-typecheck
            and type(row[3]) in _NUMBER and type(row[4]) in _NUMBER and type(row[5]) in _NUMBER):  # pylint: disable=unidiomatic-typecheck
        text = row[2].translate(_COPY_ESCAPES).replace("\x00", "")
        return "%d\t%d\t%s\t%r\t%r\t%r\n" % (row[0], row[1], text, row[3], row[4], row[5])
    return "\t".join(map(copy_field, row)) + "\n"


def _fits_bigint(value):
    return isinstance(value, int) and not isinstance(value, bool) and -BIGINT_MAX <= value <= BIGINT_MAX


class TickStore:
    """INF PostgreSQL: COPY into a temp table, then INSERT ... ON CONFLICT DO NOTHING so a
    replayed or re-spooled batch can never duplicate, with the checkpoint in the same commit."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.gateway = cfg["gateway"]
        self.conn = None

    def connect(self):
        if self.conn is None or self.conn.closed:
            self.conn = pg_connect(self.cfg, "pg_")
            init_schema(self.conn, "inf", self.gateway)
            with self.conn.cursor() as cur:
                cur.execute(ticks_in_sql())
            self.conn.commit()
        return self.conn

    def drop(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
        self.conn = None

    def checkpoint(self):
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT epoch, seq FROM nexus_checkpoint WHERE gateway = %s", (self.gateway,))
            row = cur.fetchone()
        conn.commit()
        return tuple(row) if row else None

    def write(self, batch):
        """batch: nexus/rows.py's Tick and Trade rows, in stream order; ticks go to the ticks table
        (rows.Tick's columns), trades to orders (and deals)."""
        conn = self.connect()
        ticks = [r for r in batch if not isinstance(r, rows.Trade)]
        trades = [r.event for r in batch if isinstance(r, rows.Trade)]
        buf = io.StringIO("".join(copy_line(r) for r in ticks))
        try:
            with conn.cursor() as cur:
                if ticks:
                    cur.copy_from(buf, "ticks_in", columns=rows.Tick._fields)
                    cur.execute(ticks_insert_sql(), (self.gateway,))
                for ev in trades:
                    write_trade(cur, ev, self.gateway)
                last = batch[-1]
                cur.execute(checkpoint_sql("nexus_checkpoint"), (self.gateway, last[0], last[1]))
            conn.commit()
        except psycopg2.Error as e:
            if is_data_error(e) and not conn.closed:
                conn.rollback()  # the connection is fine; the rows are not
            else:
                self.drop()
            raise

    def write_checked(self, batch):
        """Write the batch; rows PostgreSQL refuses as data (SQLSTATE class 22 or 23) are split off
        by bisection and quarantined with the reason, everything else is written in order.
        Returns [(row, reason)] quarantined. Any other error raises: the store is down."""
        try:
            self.write(batch)
            return []
        except psycopg2.Error as e:
            if not is_data_error(e):
                raise
            if len(batch) == 1:
                reason = first_line(e)
                self.quarantine(batch[0], reason)
                return [(batch[0], reason)]
        mid = len(batch) // 2
        return self.write_checked(batch[:mid]) + self.write_checked(batch[mid:])

    def quarantine(self, row, reason):
        """Keep a refused row (as JSON text) with the reason; the checkpoint moves past it in
        the same commit, so the stream goes on and a restart does not retry it."""
        conn = self.connect()
        epoch, seq = (row[0], row[1]) if len(row) > 1 else (None, None)
        epoch, seq = (epoch, seq) if _fits_bigint(epoch) and _fits_bigint(seq) else (None, None)
        event = json.dumps(list(row), default=repr)
        try:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO nexus_quarantine (epoch, seq, reason, event, gateway) "
                            "VALUES (%s, %s, %s, %s, %s)", (epoch, seq, reason[:1000], event[:10000], self.gateway))
                if epoch is not None:
                    cur.execute(checkpoint_sql("nexus_checkpoint"), (self.gateway, epoch, seq))
            conn.commit()
        except psycopg2.Error:
            self.drop()
            raise

    def record(self, kind, epoch, from_seq=None, to_seq=None, detail=""):
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute("INSERT INTO nexus_discontinuity (kind, epoch, from_seq, to_seq, detail, gateway) "
                        "VALUES (%s, %s, %s, %s, %s, %s)", (kind, epoch, from_seq, to_seq, detail, self.gateway))
        conn.commit()


def write_trade(cur, ev, gateway):
    """One trade event: its orders row (unique by gateway, epoch, seq) and, for a fill, its deals
    row (unique by gateway, ticket: two terminals may number deals alike), both idempotent so a
    replayed or re-spooled batch cannot double them."""
    get = ev.get
    # orders.client_id holds the event's client_ref (a salted hash: the stream never carries a
    # client's id); rows recorded before gateways hashed ids hold the id itself.
    cur.execute("INSERT INTO orders (epoch, seq, ts, symbol, kind, cmd, client_id, side, volume, price, retcode, "
                "retcode_name, order_ticket, deal_ticket, position, error, gateway) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (ev["epoch"], ev["seq"], ev["ts"], ev["symbol"], ev["trade"], get("cmd"), get("client_ref", get("client_id")), get("side"),
                 get("volume"), get("price"), get("retcode"), get("retcode_name"), get("order"), get("deal"),
                 get("position"), get("error"), gateway))
    if ev["trade"] == "fill" and get("deal"):
        cur.execute("INSERT INTO deals (ticket, order_ticket, position, symbol, side, entry, volume, price, profit, "
                    "time_msc, epoch, seq, gateway) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (ev["deal"], get("order") or 0, get("position"), ev["symbol"], get("side"), get("entry"),
                     get("volume") or 0.0, get("price") or 0.0, get("profit"), get("time_msc"), ev["epoch"], ev["seq"],
                     gateway))


def latest_tick_key(gateway):
    """The INF Redis hash of one gateway's latest tick per symbol (field: the symbol)."""
    return "mt5:tick:latest:" + gateway


def bar_key(gateway, symbol):
    """The HUB Redis hash of one gateway's current 1-second bar of a symbol."""
    return "mt5:bar:1s:%s:%s" % (gateway, symbol)


class LatestTicks:
    """INF Redis: the latest tick per symbol, one pipelined round trip per batch."""

    def __init__(self, url, gateway):
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.key = latest_tick_key(gateway)

    def write(self, latest):
        """latest: {symbol: payload bytes or the decoded tick}."""
        pipe = self.client.pipeline(transaction=False)
        for symbol, payload in latest.items():
            pipe.hset(self.key, symbol, payload if isinstance(payload, bytes) else protocol.encode(payload))
        pipe.execute()


class HubFeeder:
    """Builds 1-second bars of mid price in the HUB feature store from INF ticks.

    It reads INF ``ticks`` past the HUB checkpoint and merges bars in the same HUB transaction
    that advances that checkpoint: exactly once, whatever restarts or outages happen."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.gateway = cfg["gateway"]
        self.inf = self.hub = None
        self.skipped = 0
        self.redis = redis.Redis.from_url(cfg["hub_redis_url"], socket_timeout=2, socket_connect_timeout=2)

    def _conns(self):
        if self.inf is None or self.inf.closed:
            self.inf = pg_connect(self.cfg, "pg_")
        if self.hub is None or self.hub.closed:
            self.hub = pg_connect(self.cfg, "hub_pg_")
            init_schema(self.hub, "hub", self.gateway)
        return self.inf, self.hub

    def drop(self):
        for c in (self.inf, self.hub):
            if c is not None:
                try:
                    c.close()
                except psycopg2.Error:
                    pass
        self.inf = self.hub = None

    def step(self, limit=50000):
        """Move up to ``limit`` ticks into bars. Returns the number of ticks consumed."""
        inf, hub = self._conns()
        # Two nexus instances (an INF pair) feed the same HUB: each holds this gateway's lock from
        # reading the checkpoint to committing the bars past it, so no tick is counted twice.
        with hub.cursor() as cur:
            cur.execute(HUB_LOCK_SQL, ("hub_bars:" + self.gateway,))
            cur.execute("SELECT epoch, seq FROM hub_checkpoint WHERE gateway = %s", (self.gateway,))
            row = cur.fetchone()
        epoch, seq = row if row else (0, 0)
        try:
            with inf.cursor() as cur:
                cur.execute(HUB_READ_SQL, (self.gateway, epoch, seq, limit))
                ticks = cur.fetchall()
            inf.rollback()
        except psycopg2.Error:
            hub.rollback()
            raise
        if not ticks:
            hub.rollback()
            return 0
        bars: dict[Any, Any] = {}
        for _e, _s, symbol, ts, bid, ask in ticks:
            # Rows written before INF validated ticks may hold values no bar can: skip them
            # (the checkpoint still moves) instead of freezing HUB on an out-of-range bucket.
            if not (protocol.finite(ts, 0, protocol.MAX_TS) and protocol.finite(bid, 0, protocol.MAX_PRICE)
                    and protocol.finite(ask, 0, protocol.MAX_PRICE)):
                self.skipped += 1
                continue
            mid, key = (bid + ask) / 2.0, (symbol, int(ts))
            b = bars.get(key)
            if b is None:
                bars[key] = [mid, mid, mid, mid, ask - bid, 1]
            else:
                b[1] = max(b[1], mid)
                b[2] = min(b[2], mid)
                b[3] = mid
                b[4] += ask - bid
                b[5] += 1
        last = ticks[-1]
        try:
            with hub.cursor() as cur:
                if bars:
                    psycopg2.extras.execute_values(
                        cur,
                        "INSERT INTO bars_1s AS b (gateway, symbol, bucket, open, high, low, close, spread_sum, ticks) "
                        "VALUES %s ON CONFLICT (gateway, symbol, bucket) DO UPDATE SET high = GREATEST(b.high, EXCLUDED.high), "
                        "low = LEAST(b.low, EXCLUDED.low), close = EXCLUDED.close, "
                        "spread_sum = b.spread_sum + EXCLUDED.spread_sum, ticks = b.ticks + EXCLUDED.ticks",
                        [(self.gateway, k[0], k[1], *v) for k, v in bars.items()], page_size=5000)
                cur.execute(checkpoint_sql("hub_checkpoint"), (self.gateway, last[0], last[1]))
                latest: dict[Any, Any] = {}
                for symbol, bucket in bars:
                    if bucket >= latest.get(symbol, -1):
                        latest[symbol] = bucket
                stored = []
                if latest:
                    cur.execute("SELECT symbol, bucket, open, high, low, close, spread_mean, ticks FROM bars_1s "
                                "WHERE gateway = %s AND (symbol, bucket) IN %s", (self.gateway, tuple(latest.items())))
                    stored = cur.fetchall()
            hub.commit()
        except psycopg2.Error:
            self.drop()
            raise
        pipe = self.redis.pipeline(transaction=False)
        for symbol, bucket, o, h, lo, c, spread, n in stored:
            pipe.hset(bar_key(self.gateway, symbol), mapping={"bucket": bucket, "open": o, "high": h, "low": lo,
                                                              "close": c, "spread_mean": spread, "ticks": n})
        pipe.execute()
        return len(ticks)
