"""What nexus/stores.py sends to PostgreSQL and Redis, on fake connections (unit level): COPY
text, one transaction per batch with its checkpoint, bisection of refused rows, quarantine,
trade rows, HUB bars. The same code against a real PostgreSQL: tests/integration/test_runtime.py
and tests/integration/test_stores_process.py."""
import json
from typing import NamedTuple

import psycopg2
import pytest

from mt5mesh.nexus import migrations, pg, rows, stores
from mt5mesh.nexus.schema_config import SCHEMA
from mt5mesh.nexus.pg import is_data_error, pg_where
from mt5mesh.nexus.stores import (checkpoint_sql, HUB_LOCK_SQL, HUB_READ_SQL, HubFeeder, LatestTicks, TickStore, copy_field,
                                  copy_line, latest_tick_key, bar_key, write_trade)
from mt5mesh.wire import protocol


class DataError(psycopg2.DataError):
    pgcode = "22003"


class Cur:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def execute(self, statement, params=None):
        self.conn.log.append((statement, params))
        fail = self.conn.fail_on(statement, params)
        if fail is not None:
            raise fail

    def copy_from(self, buf, table, columns=None):
        self.conn.log.append(("COPY " + table, (buf.read(), columns)))

    def fetchone(self):
        return self.conn.results.pop(0)

    def fetchall(self):
        return self.conn.results.pop(0)


class Conn:
    def __init__(self, results=(), fail_on=None):
        self.log, self.results = [], list(results)
        self.fail_on = fail_on or (lambda statement, params: None)
        self.commits = self.rollbacks = 0
        self.closed = False

    def cursor(self):
        return Cur(self)

    def commit(self):
        self.commits += 1
        self.log.append(("COMMIT", None))

    def rollback(self):
        self.rollbacks += 1
        self.log.append(("ROLLBACK", None))

    def close(self):
        self.closed = True

    def statements(self):
        return [s for s, _p in self.log]


def cfg(**kw):
    out = {o.name: o.default for o in SCHEMA}
    out.update(kw)
    return out


def store(conn):
    s = TickStore(cfg(gateway="gw1"))
    s.conn = conn
    return s


def tick_row(seq, symbol="EURUSD"):
    return (3, seq, symbol, 1767139200.25, 1.1, 1.1002)


# --- COPY text -----------------------------------------------------------------------------

def test_a_plain_tick_row_is_one_copy_line_with_numbers_as_numbers():
    assert copy_line(tick_row(7)) == "3\t7\tEURUSD\t1767139200.25\t1.1\t1.1002\n"


def test_tabs_newlines_backslashes_and_nul_in_text_cannot_start_a_column_or_row():
    line = copy_line((1, 2, "A\tB\nC\\D\rE\x00F", 1.0, 2, 3))
    assert line == "1\t2\tA\\tB\\nC\\\\D\\rEF\t1.0\t2\t3\n"
    assert copy_field("x\ty\x00") == "x\\ty"


def test_odd_rows_fall_back_to_one_field_at_a_time_with_the_same_text():
    assert copy_line((True, 2, "S", 1.0, 2.0, 3.0)) == "true\t2\tS\t1.0\t2.0\t3.0\n"
    assert copy_line((1, 2, "S", None, 2.0, 3.0)) == "1\t2\tS\t\\N\t2.0\t3.0\n"
    assert copy_line((1, 2, "S", "1.5", 2.0, 3.0)) == "1\t2\tS\t1.5\t2.0\t3.0\n"
    assert copy_line((1, 2, "S", 1.0, 2.0)) == "1\t2\tS\t1.0\t2.0\n"
    # Each exact type check matters: a bool in any numeric place takes the slow path.
    for i in (1, 3, 4, 5):
        row = list(tick_row(1))
        row[i] = False
        assert copy_line(tuple(row)).split("\t")[i].strip() == "false"
    assert copy_line((1, 2, 3, 1.0, 2.0, 3.0)) == "1\t2\t3\t1.0\t2.0\t3.0\n"
    assert copy_field(False) == "false" and copy_field(10 ** 20) == str(10 ** 20) and copy_field(0.1) == "0.1"


def test_only_sqlstate_classes_22_and_23_blame_the_data():
    class Integrity(psycopg2.IntegrityError):
        pgcode = "23505"

    class Other(psycopg2.OperationalError):
        pgcode = "57014"
    assert is_data_error(DataError("x")) and is_data_error(Integrity("x"))
    assert not is_data_error(Other("x")) and not is_data_error(psycopg2.OperationalError("x"))


def test_an_error_without_a_pgcode_blames_the_server_not_the_data():
    assert is_data_error(ValueError("not from PostgreSQL")) is False


def test_where_names_user_host_port_and_database_but_never_the_password():
    c = cfg(pg_password="s3cret")
    assert pg_where(c, "pg_") == "postgresql trader@127.0.0.1:5432/mt5_crs"


def test_redis_keys_name_the_gateway():
    assert latest_tick_key("gw1") == "mt5:tick:latest:gw1"
    assert bar_key("gw1", "EURUSD") == "mt5:bar:1s:gw1:EURUSD"


# --- one transaction per batch ---------------------------------------------------------------

def test_a_batch_is_copied_inserted_and_checkpointed_in_one_commit():
    conn = Conn()
    store(conn).write([tick_row(1), tick_row(2)])
    (copy, (text, columns)), (insert, params), (cp, cp_params), commit = conn.log
    assert copy == "COPY ticks_in" and text == copy_line(tick_row(1)) + copy_line(tick_row(2))
    assert columns == ("epoch", "seq", "symbol", "ts", "bid", "ask")
    assert "ON CONFLICT DO NOTHING" in insert and params == ("gw1",)
    assert cp == checkpoint_sql("nexus_checkpoint") and cp_params == ("gw1", 3, 2)
    assert commit == ("COMMIT", None)


def test_a_batch_of_trades_only_copies_nothing_and_still_moves_the_checkpoint():
    conn = Conn()
    ev = {"epoch": 3, "seq": 9, "ts": 1.5, "symbol": "EURUSD", "trade": "reject", "retcode": 10019}
    store(conn).write([rows.Trade(3, 9, "EURUSD", 1.5, ev)])
    statements = conn.statements()
    assert not any(s.startswith("COPY") for s in statements)
    assert statements[0].startswith("INSERT INTO orders") and conn.log[1][1] == ("gw1", 3, 9)


def test_a_data_error_rolls_back_and_keeps_the_connection():
    conn = Conn(fail_on=lambda s, p: DataError("numeric field overflow") if s.startswith("INSERT INTO ticks") else None)
    s = store(conn)
    with pytest.raises(DataError):
        s.write([tick_row(1)])
    assert conn.rollbacks == 1 and s.conn is conn and not conn.closed


def test_any_other_error_drops_the_connection():
    conn = Conn(fail_on=lambda s, p: psycopg2.OperationalError("server closed the connection"))
    s = store(conn)
    with pytest.raises(psycopg2.OperationalError):
        s.write([tick_row(1)])
    assert s.conn is None and conn.closed and conn.rollbacks == 0


def test_the_checkpoint_is_read_for_this_gateway_and_none_without_a_row():
    conn = Conn(results=[(4, 40), None])
    s = store(conn)
    assert s.checkpoint() == (4, 40)
    assert conn.log[0] == ("SELECT epoch, seq FROM nexus_checkpoint WHERE gateway = %s", ("gw1",))
    assert s.checkpoint() is None and conn.commits == 2


# --- refused rows ------------------------------------------------------------------------------

def refusing(*bad_seqs):
    """A connection whose INSERT fails as data when the copied batch holds one of ``bad_seqs``."""
    state = {}

    def fail_on(statement, params):
        if statement.startswith("INSERT INTO ticks"):
            seqs = [int(line.split("\t")[1]) for line in state["copied"].splitlines()]
            if any(s in bad_seqs for s in seqs):
                return DataError("value out of range\nCONTEXT: COPY")
        return None
    conn = Conn(fail_on=fail_on)
    orig = Cur.copy_from

    class C(Cur):
        def copy_from(self, buf, table, columns=None):
            state["copied"] = buf.getvalue()
            orig(self, buf, table, columns)
    conn.cursor = lambda: C(conn)
    return conn


def test_refused_rows_are_bisected_out_quarantined_with_the_first_line_of_the_reason_and_the_rest_written():
    conn = refusing(3, 6)
    s = store(conn)
    refused = s.write_checked([tick_row(i) for i in range(1, 9)])
    assert refused == [(tick_row(3), "value out of range"), (tick_row(6), "value out of range")]
    written = [p for st, p in conn.log if st.startswith("INSERT INTO nexus_quarantine")]
    assert [(p[0], p[1], p[2], p[4]) for p in written] == [(3, 3, "value out of range", "gw1"), (3, 6, "value out of range", "gw1")]
    assert json.loads(written[0][3]) == list(tick_row(3))
    # Every good row was committed exactly once, in order.
    copied = [st_p[1][0] for st_p in conn.log if st_p[0] == "COPY ticks_in"]
    committed = []
    for i, (st, _p) in enumerate(conn.log):
        if st == "COPY ticks_in" and conn.log[i + 3][0] == "COMMIT":
            committed += [int(line.split("\t")[1]) for line in conn.log[i][1][0].splitlines()]
    assert committed == [1, 2, 4, 5, 7, 8] and len(copied) > 2


def test_a_down_store_raises_instead_of_quarantining():
    conn = Conn(fail_on=lambda s, p: psycopg2.OperationalError("gone"))
    with pytest.raises(psycopg2.OperationalError):
        store(conn).write_checked([tick_row(1), tick_row(2)])


def test_a_quarantined_row_moves_the_checkpoint_past_it_in_the_same_commit():
    conn = Conn()
    store(conn).quarantine(tick_row(5), "r" * 2000)
    (ins, p), (cp, cp_p), commit = conn.log
    assert len(p[2]) == 1000 and cp == checkpoint_sql("nexus_checkpoint") and cp_p == ("gw1", 3, 5) and commit[0] == "COMMIT"


@pytest.mark.parametrize("row", [("x", "y", "S"), (True, 1, "S"), (2 ** 63, 1, "S"), ("only",)])
def test_a_row_without_a_usable_epoch_and_seq_is_kept_without_moving_the_checkpoint(row):
    conn = Conn()
    store(conn).quarantine(row, "bad")
    (ins, p), commit = conn.log
    assert p[0] is None and p[1] is None and commit[0] == "COMMIT"


def test_a_huge_refused_row_is_cut_to_10000_characters():
    conn = Conn()
    store(conn).quarantine((1, 2, "S" * 20000), "bad")
    assert len(conn.log[0][1][3]) == 10000


def test_a_failing_quarantine_drops_the_connection():
    conn = Conn(fail_on=lambda s, p: psycopg2.OperationalError("gone"))
    s = store(conn)
    with pytest.raises(psycopg2.OperationalError):
        s.quarantine(tick_row(1), "bad")
    assert s.conn is None


def test_a_record_names_its_kind_range_detail_and_gateway():
    conn = Conn()
    store(conn).record("gap_unrecoverable", 3, 10, 20, "gone")
    assert conn.log[0][1] == ("gap_unrecoverable", 3, 10, 20, "gone", "gw1") and conn.commits == 1


# --- trades ------------------------------------------------------------------------------------

def test_a_fill_writes_its_order_row_with_the_client_ref_and_its_deal_row():
    cur = Conn().cursor()
    ev = {"epoch": 3, "seq": 9, "ts": 1.5, "symbol": "EURUSD", "trade": "fill", "cmd": "order_send",
          "client_ref": "abcd", "side": "buy", "volume": 0.1, "price": 1.1, "retcode": 10009,
          "retcode_name": "DONE", "order": 11, "deal": 22, "position": 33, "entry": "in", "profit": 0.0,
          "time_msc": 1767139200123}
    write_trade(cur, ev, "gw1")
    (orders_sql, o), (deals_sql, d) = cur.conn.log
    assert o == (3, 9, 1.5, "EURUSD", "fill", "order_send", "abcd", "buy", 0.1, 1.1, 10009, "DONE", 11, 22, 33, None, "gw1")
    assert d == (22, 11, 33, "EURUSD", "buy", "in", 0.1, 1.1, 0.0, 1767139200123, 3, 9, "gw1")
    assert "ON CONFLICT DO NOTHING" in orders_sql and "ON CONFLICT DO NOTHING" in deals_sql


def test_an_old_event_with_a_client_id_keeps_it_and_a_fill_without_a_deal_has_no_deal_row():
    cur = Conn().cursor()
    write_trade(cur, {"epoch": 1, "seq": 2, "ts": 1.0, "symbol": "S", "trade": "fill", "client_id": "old"}, "g")
    assert cur.conn.log[0][1][6] == "old" and len(cur.conn.log) == 1


def test_a_deal_without_order_volume_or_price_gets_zeros_not_nulls():
    cur = Conn().cursor()
    write_trade(cur, {"epoch": 1, "seq": 2, "ts": 1.0, "symbol": "S", "trade": "fill", "deal": 5}, "g")
    d = cur.conn.log[1][1]
    assert (d[1], d[6], d[7]) == (0, 0.0, 0.0)


def test_a_reject_writes_no_deal_even_with_a_deal_ticket():
    cur = Conn().cursor()
    write_trade(cur, {"epoch": 1, "seq": 2, "ts": 1.0, "symbol": "S", "trade": "reject", "deal": 5}, "g")
    assert len(cur.conn.log) == 1


# --- Redis ---------------------------------------------------------------------------------------

class Pipe:
    def __init__(self):
        self.calls, self.executed = [], False

    def hset(self, key, field=None, value=None, mapping=None):
        self.calls.append((key, field, value, mapping))

    def execute(self):
        self.executed = True


def test_latest_ticks_are_one_pipelined_round_trip_with_bytes_kept_and_dicts_encoded():
    pipe = Pipe()
    lt = LatestTicks("redis://127.0.0.1:1/0", "gw1")
    lt.client = type("R", (), {"pipeline": lambda self, transaction: pipe})()
    tick = {"epoch": 1, "seq": 1, "ts": 1.0, "symbol": "B", "bid": 1.0, "ask": 1.1}
    lt.write({"A": b"raw", "B": tick})
    assert pipe.calls == [("mt5:tick:latest:gw1", "A", b"raw", None), ("mt5:tick:latest:gw1", "B", protocol.encode(tick), None)]
    assert pipe.executed


def test_latest_ticks_connect_with_two_second_timeouts_and_pipeline_without_a_transaction(monkeypatch):
    """A stuck Redis costs a batch two seconds, not a hang; the latest ticks need no MULTI/EXEC."""
    seen, pipes = {}, []
    client = type("R", (), {"pipeline": lambda self, **kw: pipes.append(kw) or Pipe()})()
    monkeypatch.setattr(stores.redis.Redis, "from_url", lambda url, **kw: seen.update(kw, url=url) or client)
    lt = LatestTicks("redis://10.0.0.1:6379/0", "gw1")
    assert lt.client is client and seen == {"url": "redis://10.0.0.1:6379/0", "socket_timeout": 2, "socket_connect_timeout": 2}
    lt.write({"A": b"raw"})
    assert pipes == [{"transaction": False}]


# --- HUB bars ---------------------------------------------------------------------------------

def feeder(inf_rows, checkpoint=(2, 5)):
    f = HubFeeder(cfg(gateway="gw1", hub_pg_host="127.0.0.1"))
    f.inf = Conn(results=[inf_rows])
    f.hub = Conn(results=[checkpoint, [("EURUSD", 100, 1.0, 1.2, 0.9, 1.1, 0.0002, 3)]])
    f.redis = type("R", (), {"pipeline": lambda self, transaction: f._pipe})()
    f._pipe = Pipe()
    return f


@pytest.fixture
def merged(monkeypatch):
    """execute_values needs a real connection to render SQL: its statement and rows are kept."""
    calls = []
    monkeypatch.setattr(stores.psycopg2.extras, "execute_values",
                        lambda cur, statement, argslist, page_size=None: calls.append((statement, argslist, page_size)))
    return calls


def test_hub_reads_past_its_checkpoint_and_merges_in_one_hub_commit(merged):
    rows = [(2, 6, "EURUSD", 100.1, 1.0, 1.0002), (2, 7, "EURUSD", 100.5, 1.2, 1.2002),
            (2, 8, "EURUSD", 100.9, 0.9, 0.9002), (2, 9, "GBPUSD", 101.0, 1.3, 1.3004)]
    f = feeder(rows)
    assert f.step(limit=10) == 4
    # The gateway's HUB lock first, then the checkpoint, in the one transaction the merge commits.
    assert f.hub.log[:2] == [(HUB_LOCK_SQL, ("hub_bars:gw1",)),
                             ("SELECT epoch, seq FROM hub_checkpoint WHERE gateway = %s", ("gw1",))]
    assert f.inf.log[0] == (HUB_READ_SQL, ("gw1", 2, 5, 10)) and f.inf.rollbacks == 1
    (statement, argslist, page_size), = merged
    assert statement.startswith("INSERT INTO bars_1s") and "ticks = b.ticks + EXCLUDED.ticks" in statement
    assert page_size == 5000 and len(argslist) == 2
    assert f.hub.commits == 1 and f.hub.rollbacks == 0 and f.hub.statements()[-1] == "COMMIT"


def test_hub_lock_is_released_by_a_rollback_when_nothing_is_new_or_the_inf_read_fails():
    f = feeder([])
    assert f.step() == 0
    assert f.hub.statements()[0] == HUB_LOCK_SQL and f.hub.statements()[-1] == "ROLLBACK" and f.hub.commits == 0
    f = feeder([])
    f.inf = Conn(fail_on=lambda statement, params: psycopg2.OperationalError("gone") if statement == HUB_READ_SQL else None)
    with pytest.raises(psycopg2.OperationalError):
        f.step()
    assert f.hub.statements()[-1] == "ROLLBACK" and f.hub.commits == 0


def test_hub_bars_hold_open_high_low_close_spread_and_count(merged):
    rows = [(2, 6, "EURUSD", 100.1, 1.0, 1.0002), (2, 7, "EURUSD", 100.5, 1.2, 1.2002),
            (2, 8, "EURUSD", 100.9, 0.9, 0.9002), (2, 9, "GBPUSD", 101.0, 1.3, 1.3004),
            (2, 10, "EURUSD", 101.2, 2.0, 2.0002)]
    f = feeder(rows)
    f.step()
    bars = {(r[1], r[2]): r for r in merged[0][1]}
    g, s, b, o, h, lo, c, spread, n = bars[("EURUSD", 100)]
    assert (g, o, h, lo, c, n) == ("gw1", 1.0001, 1.2001, 0.9001, 0.9001, 3)
    assert spread == pytest.approx(0.0006)
    assert bars[("GBPUSD", 101)][8] == 1 and bars[("EURUSD", 101)][3] == pytest.approx(2.0001)
    # The checkpoint moves to the last tick read, in the same transaction.
    cps = [p for s_, p in f.hub.log if s_ == checkpoint_sql("hub_checkpoint")]
    assert cps == [("gw1", 2, 10)]
    # Redis gets each symbol's newest bar, read back after the merge.
    assert f._pipe.calls[0][0] == "mt5:bar:1s:gw1:EURUSD" and f._pipe.calls[0][3]["ticks"] == 3


def test_hub_skips_rows_no_bar_can_hold_and_still_moves_its_checkpoint(merged):
    rows = [(2, 6, "EURUSD", float("nan"), 1.0, 1.0002), (2, 7, "EURUSD", 100.0, -1.0, 1.0),
            (2, 8, "EURUSD", 100.0, 1.0, 2e9)]
    f = feeder(rows)
    f.hub.results = [(2, 5), []]
    assert f.step() == 3 and f.skipped == 3
    assert merged == []
    assert [p for s, p in f.hub.log if s == checkpoint_sql("hub_checkpoint")] == [("gw1", 2, 8)]


def test_hub_with_nothing_new_writes_nothing_and_starts_at_0_0_without_a_checkpoint():
    f = feeder([], checkpoint=None)
    assert f.step() == 0
    assert f.inf.log[0][1] == ("gw1", 0, 0, 50000) and f.hub.commits == 0


def test_a_failing_hub_transaction_drops_both_connections(merged):
    rows = [(2, 6, "EURUSD", 100.1, 1.0, 1.0002)]
    f = feeder(rows)
    inf, hub = f.inf, f.hub
    hub.fail_on = lambda s, p: psycopg2.OperationalError("gone") if isinstance(s, str) and s.startswith("SELECT symbol") else None
    with pytest.raises(psycopg2.OperationalError):
        f.step()
    assert f.inf is None and f.hub is None and inf.closed and hub.closed


# --- schema and migration ----------------------------------------------------------------------

def render(statement):
    """A psycopg2.sql composition as text, without a server (for the fake cursor's log)."""
    from psycopg2 import sql as psql
    if isinstance(statement, str):
        return statement
    if isinstance(statement, psql.Composed):
        return "".join(render(s) for s in statement.seq)
    if isinstance(statement, psql.SQL):
        return statement.string
    if isinstance(statement, psql.Identifier):
        return ".".join('"%s"' % s for s in statement.strings)
    if isinstance(statement, psql.Literal):
        return repr(statement.wrapped)
    raise TypeError(statement)


def test_a_fresh_database_gets_every_table_under_the_schema_lock_in_one_commit():
    conn = Conn(results=[[]])
    created, migrated = migrations.init_schema(conn, "inf", "gw1")
    assert created == list(migrations.TABLES["inf"]) and migrated == []
    assert conn.log[0] == ("SELECT pg_advisory_xact_lock(%s)", (migrations.SCHEMA_LOCK,))
    assert conn.log[1] == ("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()", None)
    assert conn.log[-2][0] == migrations.SCHEMAS["inf"] and conn.log[-1][0] == "COMMIT" and conn.commits == 1


def test_an_up_to_date_database_creates_and_migrates_nothing():
    existing = [(t,) for t in migrations.TABLES["hub"]]
    conn = Conn(results=[existing, [("gateway",)], [("gateway",)]])
    assert migrations.init_schema(conn, "hub", "gw1") == ([], [])
    assert not any(render(s).startswith("ALTER") for s in conn.statements())


def test_single_gateway_tables_become_this_gateways_with_the_new_primary_key():
    existing = [(t,) for t in migrations.TABLES["inf"]]
    no_gateway = [("epoch",), ("seq",)]
    # ticks, orders, deals, discontinuity, quarantine lack the column; the checkpoint has `stream`.
    conn = Conn(results=[existing] + [no_gateway] * 5 + [[("stream",), ("epoch",)]])
    created, migrated = migrations.init_schema(conn, "inf", "gw1")
    assert created == [] and migrated == ["ticks", "orders", "deals", "nexus_discontinuity", "nexus_quarantine",
                                          "nexus_checkpoint"]
    text = [render(s) for s in conn.statements()]
    assert "ALTER TABLE \"ticks\" ADD COLUMN gateway text NOT NULL DEFAULT 'gw1'" in text
    assert "ALTER TABLE \"ticks\" ALTER COLUMN gateway DROP DEFAULT" in text
    assert "ALTER TABLE \"ticks\" DROP CONSTRAINT \"ticks_pkey\", ADD PRIMARY KEY (gateway, epoch, seq)" in text
    assert "ALTER TABLE \"deals\" DROP CONSTRAINT \"deals_pkey\", ADD PRIMARY KEY (gateway, ticket)" in text
    assert not any("nexus_discontinuity_pkey" in t for t in text)  # no key change there
    assert "ALTER TABLE \"nexus_checkpoint\" RENAME COLUMN stream TO gateway" in text
    i = text.index("UPDATE \"nexus_checkpoint\" SET gateway = %s WHERE gateway = %s")
    assert conn.log[i][1] == ("gw1", migrations.OLD_STREAM)
    asked = [params for statement, params in conn.log if "information_schema.columns" in render(statement)]
    assert asked == [(t,) for t in ("ticks", "orders", "deals", "nexus_discontinuity", "nexus_quarantine", "nexus_checkpoint")]


def test_a_table_the_store_never_had_is_skipped_and_the_ones_after_it_are_still_migrated():
    existing = [(t,) for t in ("orders", "deals")]
    conn = Conn(results=[existing, [("epoch",)], [("ticket",)]])
    created, migrated = migrations.init_schema(conn, "inf", "gw1")
    assert migrated == ["orders", "deals"] and "ticks" in created


def test_the_migrations_run_in_their_listed_order_and_each_one_s_tables_follow_the_one_before(monkeypatch):
    assert [step for _what, step in migrations.MIGRATIONS] == [migrations._gateway_column, migrations._checkpoint_by_gateway]
    assert all(what.startswith("several gateways: ") for what, _step in migrations.MIGRATIONS)
    calls = []

    def step(name, tables):
        return lambda *args: calls.append((name,) + args) or tables
    monkeypatch.setattr(migrations, "MIGRATIONS", (("a", step("a", ["t1", "t2"])), ("b", step("b", ["t3"]))))
    assert migrations.migrate("cur", "inf", "gw1", {"t1"}) == ["t1", "t2", "t3"]
    assert calls == [("a", "cur", "inf", "gw1", {"t1"}), ("b", "cur", "inf", "gw1", {"t1"})]


def test_the_columns_of_a_table_are_read_from_the_current_schema():
    conn = Conn(results=[[("a",), ("b",)]])
    with conn.cursor() as cur:
        assert migrations._columns(cur, "ticks") == {"a", "b"}
    assert conn.log == [("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                         "AND table_name = %s", ("ticks",))]


def test_a_connection_passes_the_password_apart_with_keepalives_a_statement_timeout_and_asks_for_a_writer(monkeypatch):
    seen = {}
    monkeypatch.setattr(pg.psycopg2, "connect", lambda **kw: seen.update(kw) or "conn")
    c = cfg(pg_password="s3cret", pg_port="5433")
    assert pg.pg_connect(c, "pg_") == "conn"
    assert seen == {"host": "127.0.0.1", "port": 5433, "dbname": "mt5_crs", "user": "trader", "password": "s3cret",
                    "connect_timeout": 3, "application_name": "mt5mesh-nexus", "target_session_attrs": "read-write",
                    "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
                    "options": "-c statement_timeout=15000"}
    c["pg_password"] = ""
    pg.pg_connect(c, "pg_")
    assert seen["password"] is None


def counted_connects(monkeypatch):
    """pg_connect replaced by fake connections to a fresh database; the prefixes asked, in order."""
    made = []

    def connect(cfg_, prefix):
        made.append(prefix)
        return Conn(results=[[]])
    monkeypatch.setattr(stores, "pg_connect", connect)
    return made


def test_the_tick_store_connects_once_makes_its_schema_and_temp_table_and_reconnects_when_closed(monkeypatch):
    made = counted_connects(monkeypatch)
    s = TickStore(cfg(gateway="gw1"))
    conn = s.connect()
    assert s.connect() is conn and made == ["pg_"]
    assert any(st.startswith("CREATE TEMP TABLE IF NOT EXISTS ticks_in") for st in conn.statements())
    conn.closed = True
    assert s.connect() is not conn and made == ["pg_", "pg_"]
    s.drop()
    assert s.conn is None
    s.drop()  # twice is harmless


def test_the_tick_store_connects_with_its_own_settings_and_makes_the_inf_schema_for_its_gateway(monkeypatch):
    asked, schemas = [], []
    c = cfg(gateway="gw1")
    monkeypatch.setattr(stores, "pg_connect", lambda cfg_, prefix: asked.append((cfg_, prefix)) or Conn(results=[]))
    monkeypatch.setattr(stores, "init_schema", lambda conn, which, gateway: schemas.append((which, gateway)))
    TickStore(c).connect()
    assert asked == [(c, "pg_")] and schemas == [("inf", "gw1")]


def test_the_hub_feeder_opens_inf_and_hub_and_makes_the_hub_schema(monkeypatch):
    made = counted_connects(monkeypatch)
    f = HubFeeder(cfg(gateway="gw1", hub_pg_host="127.0.0.1"))
    inf, hub = f._conns()
    assert made == ["pg_", "hub_pg_"] and migrations.SCHEMAS["hub"] in hub.statements()
    assert f._conns() == (inf, hub) and made == ["pg_", "hub_pg_"]
    f.drop()
    assert f.inf is None and f.hub is None and inf.closed and hub.closed


def test_the_checkpoint_upsert_names_its_table_and_only_moves_forward():
    assert checkpoint_sql("hub_checkpoint") == (
        "INSERT INTO hub_checkpoint (gateway, epoch, seq) VALUES (%s, %s, %s) ON CONFLICT (gateway) DO UPDATE "
        "SET epoch = EXCLUDED.epoch, seq = EXCLUDED.seq, updated_at = now() "
        "WHERE (hub_checkpoint.epoch, hub_checkpoint.seq) < (EXCLUDED.epoch, EXCLUDED.seq)")


def test_a_tick_column_added_to_rows_tick_alone_reaches_copy_insert_and_the_copy_table_and_trades_stay_as_they_were(
        monkeypatch):
    # rows.Tick with one more column, added there and nowhere else.
    with_volume = NamedTuple("Tick", [(name, rows.Tick.__annotations__[name]) for name in rows.Tick._fields]
                             + [("volume", float)])
    monkeypatch.setattr(rows, "Tick", with_volume)
    tick_ev = {"epoch": 3, "seq": 1, "symbol": "EURUSD", "ts": 1767139200.25, "bid": 1.1, "ask": 1.1002, "volume": 2.5}
    trade_ev = {"epoch": 3, "seq": 2, "ts": 1.5, "symbol": "EURUSD", "trade": "fill", "retcode": 10009, "deal": 7}
    batch = [rows.tick_of(tick_ev), rows.trade_of(trade_ev)]  # what the follower builds
    conn = Conn()
    store(conn).write(batch)
    (copy, (text, columns)), (insert, _p), (orders, _o), (deals, _d), _cp, _commit = conn.log
    assert columns == ("epoch", "seq", "symbol", "ts", "bid", "ask", "volume")
    assert text == "3\t1\tEURUSD\t1767139200.25\t1.1\t1.1002\t2.5\n"
    assert insert == ("INSERT INTO ticks (epoch, seq, symbol, ts, bid, ask, volume, gateway) SELECT epoch, seq, "
                      "symbol, ts, bid, ask, volume, %s FROM ticks_in ON CONFLICT DO NOTHING")
    assert stores.ticks_in_sql() == ("CREATE TEMP TABLE IF NOT EXISTS ticks_in (epoch bigint, seq bigint, symbol text, "
                                     "ts double precision, bid double precision, ask double precision, "
                                     "volume double precision) ON COMMIT DELETE ROWS")
    assert orders.startswith("INSERT INTO orders") and deals.startswith("INSERT INTO deals")


def test_spooled_rows_keep_their_kind_and_rows_spooled_before_typed_rows_are_still_read():
    tick, trade = rows.Tick(1, 2, "EURUSD", 1.5, 1.1, 1.2), rows.Trade(1, 3, "EURUSD", 1.5, {"trade": "fill"})
    assert [rows.from_json(rows.to_json(r)) for r in (tick, trade)] == [tick, trade]
    assert isinstance(rows.from_json(rows.to_json(trade)), rows.Trade)
    assert rows.from_json([1, 2, "EURUSD", 1.5, 1.1, 1.2]) == tick
    assert rows.from_json([1, 3, "EURUSD", 1.5, None, None, {"trade": "fill"}]) == trade
    for bad, why in (([], "a spooled row must be a non-empty list"), ({}, "a spooled row must be a non-empty list"),
                     (["tick", 1, 2], "a spooled tick needs 6 values, not 2"), ([1, 2, 3], "not a spooled row: 3 values"),
                     (["trade", 1, 2, "X", 1.0, {}, 5], "a spooled trade needs 5 values, not 6")):
        with pytest.raises(ValueError) as e:
            rows.from_json(bad)
        assert str(e.value) == why


def test_a_bigint_column_takes_exactly_the_values_from_minus_to_plus_its_maximum():
    top = stores.BIGINT_MAX
    assert stores._fits_bigint(top) and stores._fits_bigint(-top)
    assert not stores._fits_bigint(top + 1) and not stores._fits_bigint(-top - 1) and not stores._fits_bigint(True)


def test_a_row_whose_seq_is_not_an_int_is_written_as_copy_field_writes_it_not_truncated():
    row = (1, 5.5, "EURUSD", 1.0, 1.1, 1.2)
    assert copy_line(row) == "1\t5.5\tEURUSD\t1.0\t1.1\t1.2\n" == "\t".join(map(copy_field, row)) + "\n"
