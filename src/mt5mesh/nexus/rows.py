"""The rows nexus hands from its follower to the stores, named and told apart by their type,
never by their length: a column added to ``Tick`` reaches the INF ``ticks`` table (COPY and
INSERT take Tick's fields, the COPY table its annotations) without touching the trade path. The INF schema must have the
column first (``nexus/schema.py``).
"""
from typing import Any, Dict, NamedTuple


class Tick(NamedTuple):
    epoch: int
    seq: int
    symbol: str
    ts: float
    bid: float
    ask: float


class Trade(NamedTuple):
    epoch: int
    seq: int
    symbol: str
    ts: float
    event: Dict[str, Any]  # the whole trade event; its fields go to orders and deals


# A row field's SQL type, from its annotation (the temporary COPY table's columns).
SQL_TYPES = {int: "bigint", float: "double precision", str: "text"}


def sql_columns(row_type):
    """[(column, SQL type)] of a row type, in its field order."""
    return [(name, SQL_TYPES[row_type.__annotations__[name]]) for name in row_type._fields]


def tick_of(ev):
    """A tick event (checked by the wire protocol) as its row."""
    return Tick(*(ev[name] for name in Tick._fields))


def trade_of(ev):
    return Trade(ev["epoch"], ev["seq"], ev["symbol"], ev["ts"], ev)


def of_event(ev):
    """An accepted event's row: a trade event (it carries ``trade``) or a tick. The one place the
    two are told apart, for live events and replayed ones alike."""
    return trade_of(ev) if "trade" in ev else tick_of(ev)


def to_json(row):
    """A row as the spool keeps it: a JSON list with its row type ("tick" or "trade") first."""
    return ["trade" if isinstance(row, Trade) else "tick"] + list(row)


def from_json(item):
    """A row from the spool; lists spooled before rows were typed (6 values a tick, 7 a trade
    with its event last) are read too. ValueError for anything else."""
    if not isinstance(item, list) or not item:
        raise ValueError("a spooled row must be a non-empty list")
    if item[0] in ("tick", "trade"):
        row_type, values = (Tick if item[0] == "tick" else Trade), item[1:]
    elif len(item) == 6:
        row_type, values = Tick, item
    elif len(item) == 7:
        row_type, values = Trade, item[:4] + item[6:]
    else:
        raise ValueError("not a spooled row: %d values" % len(item))
    if len(values) != len(row_type._fields):
        raise ValueError("a spooled %s needs %d values, not %d" % (row_type.__name__.lower(), len(row_type._fields), len(values)))
    return row_type(*values)
