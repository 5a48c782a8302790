"""The gateway's side of a broker's terminal, part by part, on the strict terminal in process and
an injected clock: the clock offset learned or given, filling per symbol, deals by order ticket,
failing calls per symbol, reconnect and giving up, and the plain values the mt5linux link sends."""
import datetime
import json

import pytest

from mt5mesh.gateway import main as gateway_main
from mt5mesh.gateway import trading
from mt5mesh.gateway.journal import Loaded
from mt5mesh.gateway.orderlog import OrderLog
from mt5mesh.gateway.schema import problems
from mt5mesh.gateway.terminal import (RECONNECT_AFTER, RECONNECT_GIVE_UP_S, TerminalError, TerminalSource, api,
                                      offset_from, parse_offset, remote, strict)
from mt5mesh.gateway.trading import Limits, Trader

T0 = 1767225600.0  # 2026-01-01 00:00:00 UTC
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY"]


class Clock:
    def __init__(self, t=T0):
        self.t = t

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


def terminal(clock, **kw):
    kw.setdefault("rate", 20.0)
    t = strict.StrictTerminal(clock=clock, sleep=clock.sleep, **kw)
    assert t.initialize()
    return t


def source(clock, mt5, **kw):
    return TerminalSource("strict", mt5, SYMBOLS, poll_interval=0.01, clock=clock, **kw)


def follow(src, clock, seconds, step=0.05):
    out, now = [], 1000.0
    for _i in range(int(seconds / step)):
        clock.t += step
        now += step
        out.extend(src.due(now))
    return out


# --- the clock offset -----------------------------------------------------------------------
@pytest.mark.parametrize("delta, expected", [(7200.4, 7200), (7199.0, 7200), (-18000.2, -18000), (20700.0, 20700),
                                             (0.3, 0), (7200 + 59, 7200), (-59.0, 0)])
def test_the_offset_is_the_fresh_ticks_distance_from_utc_rounded_to_a_quarter_hour(delta, expected):
    assert offset_from(int((T0 + delta) * 1000), T0) == expected


@pytest.mark.parametrize("delta", [7200 - 61, 61.0, -3 * 3600 - 400])
def test_a_tick_too_old_or_too_far_off_a_quarter_hour_teaches_no_offset(delta):
    assert offset_from(int((T0 + delta) * 1000), T0) is None


@pytest.mark.parametrize("tick_msc, expected", [(int((T0 + 14 * 3600) * 1000), 14 * 3600),
                                                (int((T0 - 14 * 3600) * 1000), -14 * 3600),
                                                (int((T0 + 14 * 3600 + 900) * 1000), None),
                                                (int((T0 - 14 * 3600 - 900) * 1000), None),
                                                (int(round(T0 / 900) * 900 * 1000) - int(T0 * 1000) + 30000, None)])
def test_no_offset_beyond_14_hours_from_utc_is_learned_not_even_from_a_tick_at_time_zero(tick_msc, expected):
    assert offset_from(tick_msc, T0) == expected


@pytest.mark.parametrize("text, seconds", [(None, None), ("", None), ("7200", 7200), ("-18000", -18000),
                                           ("+02:00", 7200), ("-05:00", -18000), ("+05:45", 20700), ("0", 0)])
def test_a_configured_offset_is_seconds_or_plus_hours_and_minutes(text, seconds):
    assert parse_offset(text) == seconds


def test_an_offset_beyond_14_hours_is_refused_by_the_config_naming_the_value():
    with pytest.raises(ValueError, match=r"terminal_utc_offset \+15:00 is more than 14 hours from UTC"):
        parse_offset("+15:00")
    assert problems({"terminal_utc_offset": "90000"}) == "terminal_utc_offset 90000 is more than 14 hours from UTC"
    assert problems({"terminal_utc_offset": "+03:00"}) is None


def test_ticks_of_a_utc_plus_2_server_are_published_in_utc_with_the_raw_time_kept():
    clock = Clock()
    src = source(clock, terminal(clock, server_offset=7200))
    assert (src.offset, src.offset_source) == (7200, "learned")
    got = follow(src, clock, 3.0)
    assert {row[0] for row in got} == set(SYMBOLS) and len(got) > 60
    for _symbol, _bid, _ask, ts, extra in got:
        assert abs(ts - clock.t) < 5.0 and extra["time_msc"] == pytest.approx(ts * 1000 + 7200 * 1000, abs=1)


def test_a_configured_offset_wins_over_what_the_ticks_say():
    clock = Clock()
    src = source(clock, terminal(clock, server_offset=7200), utc_offset=3600)
    assert (src.offset, src.offset_source) == (3600, "configured")
    assert src.status(now=1.0)["utc_offset_s"] == 3600


def test_a_closed_market_keeps_the_journals_offset_until_a_fresh_tick_teaches_it():
    clock = Clock()
    mt5 = terminal(clock, server_offset=-18000)
    mt5.closed = set(SYMBOLS)
    clock.t += 3600 + 1234  # over an hour without ticks: the newest is too old to say
    src = source(clock, mt5, saved_offset=-18000)
    assert (src.offset, src.offset_source) == (-18000, "journal")
    mt5.closed = set()
    follow(src, clock, 2.0)
    assert (src.offset, src.offset_source) == (-18000, "learned")


def test_the_journal_shows_the_offset_of_its_newest_tick():
    tick = json.dumps({"epoch": 1, "seq": 2, "ts": T0, "symbol": "EURUSD", "bid": 1.0, "ask": 1.1,
                       "time_msc": int((T0 + 10800.2) * 1000)}).encode()
    trade = b'{"trade":"fill","time_msc":5,"ts":1}'
    assert gateway_main.offset_from_journal(Loaded(1, [(1, tick), (2, trade)], {}, {}, [])) == 10800
    assert gateway_main.offset_from_journal(Loaded(1, [(1, trade)], {}, {}, [])) is None
    assert gateway_main.offset_from_journal(None) is None


# --- failing calls, reconnect, giving up ----------------------------------------------------
def test_a_call_failing_for_one_symbol_keeps_the_others_ticks_and_loses_none_of_its_own():
    clock = Clock()
    mt5 = terminal(clock)
    src = source(clock, mt5)
    got = follow(src, clock, 1.0)
    n = mt5.calls["copy_ticks_from"]
    for k in (3, 6, 7):  # the round's last symbol raises; then one returns None with last_error() set
        mt5.inject("copy_ticks_from", n + k, "raise" if k != 7 else "none")
    got += follow(src, clock, 4.0)
    assert src.errors == 3 and src.next_reconnect is None
    for s in SYMBOLS:
        mine = [row[-1]["time_msc"] for row in got if row[0] == s]
        held = [t.time_msc for t in mt5.history[s]]
        start = held.index(mine[0])
        assert mine == held[start:start + len(mine)] and mine[-1] == held[-1], s


def test_a_terminal_that_goes_away_is_reconnected_and_its_ticks_of_the_outage_come_after():
    clock = Clock()
    mt5 = terminal(clock)
    src = source(clock, mt5)
    got = follow(src, clock, 1.0)
    mt5.go_away()  # every call: None and (-10004, 'No IPC connection') until initialize()
    got += follow(src, clock, 2.0)
    assert src.reconnects >= 1 and src.next_reconnect is None and src.status(now=5000.0)["connected"] is True
    got += follow(src, clock, 1.0)
    for s in SYMBOLS:
        mine = [row[-1]["time_msc"] for row in got if row[0] == s]
        held = [t.time_msc for t in mt5.history[s]]
        start = held.index(mine[0])
        assert mine == held[start:start + len(mine)] and mine[-1] == held[-1], s


class Unreachable:
    """A terminal whose link is gone for good: every call raises, and so does reconnecting."""

    def __init__(self, mt5):
        self.mt5, self.broken, self.tries = mt5, False, 0

    def __getattr__(self, name):
        if self.broken:
            def fail(*_a, **_kw):
                raise EOFError("stream has been closed")
            return fail
        return getattr(self.mt5, name)

    def reconnect(self):
        self.tries += 1
        raise ConnectionRefusedError("connection refused")


def test_a_terminal_gone_for_good_ends_the_gateway_after_backing_off_naming_the_last_error():
    clock = Clock()
    mt5 = Unreachable(terminal(clock))
    src = source(clock, mt5)
    follow(src, clock, 0.5)
    mt5.broken = True
    now = 2000.0
    for _i in range(RECONNECT_AFTER):
        now += 0.02
        src.due(now)
    assert src.next_reconnect == now and src.status(now=now)["reconnecting"] is True
    with pytest.raises(TerminalError, match=r"terminal strict: lost for 1[23]\d s and every reconnect failed "
                                            r"\(last: ConnectionRefusedError: connection refused\)"):
        for _i in range(int(RECONNECT_GIVE_UP_S * 15)):
            now += 0.1
            src.due(now)
    assert 50 <= mt5.tries <= 70  # one try every 2 s at most, not one per round


# --- orders against the strict terminal -----------------------------------------------------
def trader(clock, mt5):
    t = Trader(mt5, lambda symbol, fields: events.append((symbol, fields)), OrderLog(clock=clock), True,
               Limits(SYMBOLS, max_orders_per_s=1000), allow_insecure=True)
    t.sleep = clock.sleep
    return t


events = []


@pytest.mark.parametrize("exemode, mask, filling", [
    (strict.SYMBOL_TRADE_EXECUTION_INSTANT, strict.SYMBOL_FILLING_FOK | strict.SYMBOL_FILLING_IOC, api.ORDER_FILLING_FOK),
    (strict.SYMBOL_TRADE_EXECUTION_REQUEST, strict.SYMBOL_FILLING_IOC, api.ORDER_FILLING_FOK),
    (strict.SYMBOL_TRADE_EXECUTION_MARKET, strict.SYMBOL_FILLING_IOC, api.ORDER_FILLING_IOC),
    (strict.SYMBOL_TRADE_EXECUTION_MARKET, strict.SYMBOL_FILLING_FOK | strict.SYMBOL_FILLING_IOC, api.ORDER_FILLING_FOK),
    (strict.SYMBOL_TRADE_EXECUTION_EXCHANGE, 0, api.ORDER_FILLING_RETURN),
])
def test_the_filling_mode_is_the_one_the_symbol_allows(exemode, mask, filling):
    info = type("Info", (), {"trade_exemode": exemode, "filling_mode": mask})()
    assert trading.filling_for(info) == filling


def test_orders_on_each_acceptance_symbol_fill_and_name_the_position_positions_get_shows():
    clock = Clock()
    mt5 = terminal(clock, server_offset=7200)
    t = trader(clock, mt5)
    t.utc_offset = lambda: 7200
    for i, (symbol, side) in enumerate((("EURUSD", "buy"), ("GBPUSD", "sell"), ("USDJPY", "buy"))):
        del events[:]
        r = t.handle({"cmd": "order_send", "id": str(i), "symbol": symbol, "side": side, "volume": 0.1})
        assert r["ok"] and r["retcode"] == api.TRADE_RETCODE_DONE, r
        assert r["position"] == mt5.positions_get(symbol=symbol)[0].ticket and r["position"] != r["deal"]
        deal = mt5.deals[-1]
        assert events[-1][1]["time_msc"] == deal.time_msc - 7200 * 1000 == int(clock.t * 1000)


def test_a_placed_order_is_reported_with_the_deal_that_comes_after_the_reply():
    clock = Clock()
    mt5 = terminal(clock, placed_delay=0.12)
    t = trader(clock, mt5)
    beats = []
    t.idle = lambda: beats.append(clock.t)
    del events[:]
    r = t.handle({"cmd": "order_send", "id": "p", "symbol": "USDJPY", "side": "buy", "volume": 0.1})
    assert r["ok"] and r["retcode"] == api.TRADE_RETCODE_PLACED and r["deal"] and r["price"] > 0, r
    assert r["position"] == mt5.positions_get(symbol="USDJPY")[0].ticket and len(beats) >= 2
    assert events[-1][1]["trade"] == "fill" and events[-1][1]["deal"] == r["deal"]


def test_a_placed_order_whose_deal_never_shows_is_an_ok_reply_and_a_placed_event():
    clock = Clock()
    mt5 = terminal(clock, placed_delay=3600)
    t = trader(clock, mt5)
    del events[:]
    r = t.handle({"cmd": "order_send", "id": "p", "symbol": "USDJPY", "side": "buy", "volume": 0.1})
    assert r["ok"] and r["deal"] == 0 and r["position"] == 0 and events[-1][1]["trade"] == "placed", r
    mt5.placed_delay = 0.0
    opened = t.handle({"cmd": "order_send", "id": "o", "symbol": "USDJPY", "side": "buy", "volume": 0.1})
    mt5.placed_delay = 3600
    closing = t.handle({"cmd": "order_close", "id": "c", "position": opened["position"]})
    assert closing["ok"] and closing["deal"] == 0 and closing["position"] == opened["position"], closing


def test_history_labels_the_deposit_as_balance_and_times_in_utc():
    clock = Clock()
    mt5 = terminal(clock, server_offset=7200)
    t = trader(clock, mt5)
    t.utc_offset = lambda: 7200
    mt5.deposit(-2.5, "fee", deal_type=strict.DEAL_TYPE_COMMISSION)
    got = t.handle({"cmd": "history_deals", "from": T0 - 2 * 86400, "to": T0 + 10})["deals"]
    want = [("balance", "in", 10000.0), ("commission", "in", -2.5)]
    assert [(d["type"], d["entry"], d["profit"]) for d in got] == want
    assert got[1]["time_msc"] == int(T0 * 1000) and got[1]["terminal_time_msc"] == int((T0 + 7200) * 1000)


def test_deal_types_and_entries_are_named_by_the_official_enums():
    assert [trading.label(api.DEAL_TYPE_NAMES, v) for v in (0, 1, 2, 3, 4, 7, 17, 18, -1)] == [
        "buy", "sell", "balance", "credit", "charge", "commission", "tax", "type_18", "type_-1"]
    assert [trading.label(api.DEAL_ENTRY_NAMES, v) for v in (0, 1, 2, 3, 4)] == ["in", "out", "inout", "out_by",
                                                                                 "type_4"]


# --- the mt5linux link: plain values, one round trip --------------------------------------------
def test_only_plain_values_cross_to_the_terminal():
    assert remote.plain((1, 2.5, "x", None, True, [3])) == (1, 2.5, "x", None, True, (3,))
    for bad in ({"a": 1}, datetime.datetime(2026, 1, 1), object()):
        with pytest.raises(TypeError, match="not a plain value for the terminal"):
            remote.plain(bad)


def test_records_from_the_terminal_read_by_field_name():
    got = remote.records([{"__record__": {"ticket": 5, "request": {"__record__": {"symbol": "EURUSD"}}}}, 3])
    assert got[0].ticket == 5 and got[0].request.symbol == "EURUSD" and got[1] == 3
    assert got[0]._asdict()["ticket"] == 5 and remote.records({"plain": 1}) == {"plain": 1}


class TimingOut:
    """A terminal whose trade server does not answer in time: 10012, outcome unknown."""

    def __init__(self, mt5):
        self.mt5 = mt5

    def __getattr__(self, name):
        return getattr(self.mt5, name)

    def order_send(self, request):
        return api.OrderSendResult(api.TRADE_RETCODE_TIMEOUT, 0, 0, 0.0, 0.0, 0.0, 0.0, "Request timeout", 1, 0,
                                   dict(request))


def test_a_timed_out_order_is_an_unknown_outcome_never_a_reject_and_never_sent_again():
    clock = Clock()
    t = trader(clock, TimingOut(terminal(clock)))
    del events[:]
    req = {"cmd": "order_send", "id": "t", "symbol": "USDJPY", "side": "buy", "volume": 0.1}
    r = t.handle(req)
    assert not r["ok"] and r["retcode"] == api.TRADE_RETCODE_TIMEOUT and r["error"] == (
        "terminal answered TRADE_RETCODE_TIMEOUT (Request timeout): the outcome is unknown and the order is not sent "
        "again; check positions and history_deals")
    assert [e[1]["trade"] for e in events] == ["unknown"]
    assert t.handle(req) == r and len(events) == 1  # a retry gets the same answer; nothing is sent


# --- exact edges of the order path (what mutation checks) ------------------------------------
class Scripted:
    """A terminal whose order_send answers from a script of retcodes, counting every call."""

    def __init__(self, mt5, retcodes, deals=None):
        self.mt5, self.retcodes, self.sent, self.lookups = mt5, list(retcodes), [], []
        self.deals = deals

    def __getattr__(self, name):
        return getattr(self.mt5, name)

    def order_send(self, request):
        self.sent.append(dict(request))
        code = self.retcodes.pop(0)
        if code == api.TRADE_RETCODE_DONE:
            return self.mt5.order_send(request)
        return api.OrderSendResult(code, 0, 99, 0.0, 0.0, 0.0, 0.0, "Requote", 1, 0, dict(request))

    def history_deals_get(self, *args, **kwargs):
        self.lookups.append(kwargs)
        return self.deals if self.deals is not None else self.mt5.history_deals_get(*args, **kwargs)


def test_a_requoted_market_order_is_sent_again_at_the_new_price_at_most_three_times():
    clock = Clock()
    mt5 = Scripted(terminal(clock), [api.TRADE_RETCODE_REQUOTE, api.TRADE_RETCODE_PRICE_CHANGED,
                                     api.TRADE_RETCODE_DONE])
    t = trader(clock, mt5)
    beats = []
    t.idle = lambda: beats.append(1)
    r = t.handle({"cmd": "order_send", "id": "q", "symbol": "EURUSD", "side": "buy", "volume": 0.1})
    assert r["ok"] and r["retcode"] == api.TRADE_RETCODE_DONE and len(mt5.sent) == 3 and len(beats) == 2
    mt5.retcodes = [api.TRADE_RETCODE_PRICE_OFF] * 4
    r = t.handle({"cmd": "order_send", "id": "q2", "symbol": "EURUSD", "side": "buy", "volume": 0.1})
    assert r["retcode"] == api.TRADE_RETCODE_PRICE_OFF and len(mt5.sent) == 6 and not r["ok"]
    mt5.retcodes = [api.TRADE_RETCODE_NO_MONEY, api.TRADE_RETCODE_DONE]
    r = t.handle({"cmd": "order_send", "id": "q3", "symbol": "EURUSD", "side": "buy", "volume": 0.1})
    assert r["retcode"] == api.TRADE_RETCODE_NO_MONEY and len(mt5.sent) == 7  # a refusal is final
    assert mt5.lookups == [{"ticket": mt5.mt5.deals[-1].order}]  # only the fill's deal was looked up


def test_a_placed_order_is_looked_up_exactly_six_times_fifty_ms_apart_before_the_reply_goes_without_it():
    clock = Clock()
    mt5 = terminal(clock, placed_delay=3600)
    spy = Scripted(mt5, [api.TRADE_RETCODE_DONE], deals=())
    t = trader(clock, spy)
    slept = []
    t.sleep = slept.append
    t.handle({"cmd": "order_send", "id": "p", "symbol": "USDJPY", "side": "buy", "volume": 0.1})
    assert len(spy.lookups) == trading.DEAL_LOOKUPS + 1 == 6 and slept == [0.05] * 5
    assert spy.lookups[0] == {"ticket": mt5.orders_get()[0].ticket}


def test_an_order_without_a_ticket_is_never_looked_up_and_the_matching_deal_is_preferred():
    no_order = api.OrderSendResult(api.TRADE_RETCODE_DONE, 7, 0, 0.1, 1.0, 1.0, 1.0, "", 1, 0, {})
    asked = []
    t = Trader(type("M", (), {"history_deals_get": lambda self, **kw: asked.append(kw)})(), lambda *a: None)
    assert t._deal_of(no_order) is None and asked == []  # pylint: disable=protected-access
    first = api.TradeDeal(7, 9, 0, 0, 0, 0, 0, 11, 0, 0.05, 1.0, 0.0, 0.0, 0.0, 0.0, "X", "", "")
    second = first._replace(ticket=8, volume=0.05)
    t.mt5 = type("M", (), {"history_deals_get": lambda self, **kw: (first, second)})()
    with_order = no_order._replace(order=9)
    assert t._deal_of(with_order) is first  # pylint: disable=protected-access
    assert t._deal_of(with_order._replace(deal=0)) is second  # pylint: disable=protected-access


def test_filling_defaults_and_labels_of_what_a_terminal_leaves_out():
    assert trading.filling_for(None) == api.ORDER_FILLING_FOK
    exchange = type("Info", (), {"trade_exemode": api.SYMBOL_TRADE_EXECUTION_EXCHANGE})()
    assert trading.filling_for(exchange) == api.ORDER_FILLING_FOK
    assert trading.label(api.DEAL_ENTRY_NAMES, "1") == "type_1" and trading.label(api.DEAL_ENTRY_NAMES, None) == "type_None"
    full = remote.Record({"ticket": 1, "order": 2, "position_id": 3, "symbol": "X", "type": 7, "entry": 3, "volume": 0.0,
                          "price": 0.0, "profit": 0.0, "commission": -1.5, "swap": 0.25, "comment": "fee",
                          "time_msc": 0})
    got = trading._deal(full)  # pylint: disable=protected-access
    want = ("commission", "out_by", -1.5, 0.25, "fee")
    assert (got["type"], got["entry"], got["commission"], got["swap"], got["comment"]) == want
    bare = remote.Record({"ticket": 1, "order": 2, "position_id": 3, "symbol": "X", "type": 2, "entry": 0, "volume": 0.0,
                          "price": 0.0, "profit": 5.0, "time_msc": 10000})
    assert trading._deal(bare, 2) == {  # pylint: disable=protected-access
        "ticket": 1, "order": 2, "position": 3, "symbol": "X", "type": "balance", "entry": "in", "volume": 0.0,
        "price": 0.0, "profit": 5.0, "commission": 0.0, "swap": 0.0, "comment": "", "time_msc": 8000,
        "terminal_time_msc": 10000}


def test_close_all_beats_between_positions_and_names_what_stayed_open():
    clock = Clock()
    mt5 = terminal(clock)
    t = trader(clock, mt5)
    for i in range(3):
        assert t.handle({"cmd": "order_send", "id": str(i), "symbol": "USDJPY", "side": "buy", "volume": 0.1})["ok"]
    beats = []
    t.idle = lambda: beats.append(1)
    mt5.closed = {"USDJPY"}
    r = t.handle({"cmd": "close_all", "id": "k"})
    first = r["failed"][0]["position"]
    assert len(beats) == 2 and not r["ok"] and r["error"] == (
        "close_all: 3 of 3 positions are still open; the first: position %d: terminal refused the order: "
        "TRADE_RETCODE_MARKET_CLOSED (Market is closed)" % first)


class Silent(Scripted):
    """order_send returns None (the terminal did not take the call), symbol_info knows nothing."""

    def order_send(self, request):
        self.sent.append(dict(request))
        return None

    def symbol_info(self, symbol):
        return None if self.retcodes == ["no info"] else self.mt5.symbol_info(symbol)


def test_a_send_the_terminal_returns_none_for_is_an_unknown_event_with_its_side():
    clock = Clock()
    t = trader(clock, Silent(terminal(clock), []))
    del events[:]
    r = t.handle({"cmd": "order_send", "id": "n", "symbol": "USDJPY", "side": "sell", "volume": 0.1})
    assert not r["ok"] and r["retcode"] is None and r["error"].startswith("terminal: order_send failed: ")
    assert (events[-1][1]["trade"], events[-1][1]["side"]) == ("unknown", "sell")


def test_close_all_closes_buys_with_sells_and_sells_with_buys_at_the_default_deviation():
    clock = Clock()
    mt5 = Scripted(terminal(clock), [api.TRADE_RETCODE_DONE] * 4)
    t = trader(clock, mt5)
    for i, side in enumerate(("buy", "sell")):
        assert t.handle({"cmd": "order_send", "id": str(i), "symbol": "USDJPY", "side": side, "volume": 0.1})["ok"]
    r = t.handle({"cmd": "close_all", "id": "k"})
    assert r["ok"] and len(r["closed"]) == 2 and mt5.positions_get() == ()
    assert [(q["type"], q["deviation"]) for q in mt5.sent[2:]] == [(api.ORDER_TYPE_SELL, 10), (api.ORDER_TYPE_BUY, 10)]


def test_a_close_with_no_symbol_info_goes_at_price_zero_the_terminal_then_decides():
    clock = Clock()
    mt5 = Silent(terminal(clock), [])
    t = trader(clock, mt5)
    mt5.retcodes = ["no info"]
    p = remote.Record({"ticket": 5, "symbol": "USDJPY", "type": api.POSITION_TYPE_BUY, "volume": 0.1, "magic": 0})
    t._close("k", {"cmd": "close_all", "id": "k"}, p)  # pylint: disable=protected-access
    assert mt5.sent[0]["price"] == 0.0 and mt5.sent[0]["type_filling"] == api.ORDER_FILLING_FOK


def test_a_close_the_terminal_returns_none_for_is_an_unknown_event_naming_the_closing_side():
    clock = Clock()
    mt5 = Silent(terminal(clock), [])
    t = trader(clock, mt5)
    p = remote.Record({"ticket": 5, "symbol": "USDJPY", "type": api.POSITION_TYPE_BUY, "volume": 0.1, "magic": 0})
    del events[:]
    t._close("k", {"cmd": "close_all", "id": "k"}, p)  # pylint: disable=protected-access
    assert (events[-1][1]["trade"], events[-1][1]["side"]) == ("unknown", "sell")
