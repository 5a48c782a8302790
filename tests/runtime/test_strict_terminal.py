"""The strict terminal (mt5mesh.gateway.terminal.strict): each rule it takes from the official
MetaTrader5 documentation, one test each, on an injected clock (no sleeping); one loopback test
serves it over rpyc's classic protocol as mt5linux serves the real module."""
import collections
import datetime
import os
import subprocess
import sys
import time

import pytest

from mt5mesh.gateway.terminal import api, strict
from mt5mesh.gateway.terminal.strict import StrictTerminal, SymbolSpec

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(os.path.dirname(HERE), "support", "strict_rpyc_server.py")
T0 = 1767225600.0  # 2026-01-01 00:00:00 UTC


class Clock:
    def __init__(self, t=T0):
        self.t, self.slept = t, []

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.t += seconds


def terminal(clock=None, **kw):
    clock = clock or Clock()
    t = StrictTerminal(clock=clock, sleep=clock.sleep, **kw)
    assert t.initialize()
    return t


def market(t, symbol, side=api.ORDER_TYPE_BUY, volume=0.1, filling=api.ORDER_FILLING_FOK, **extra):
    tick = t.symbol_info_tick(symbol)
    req = {"action": api.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume, "type": side,
           "price": tick.ask if side == api.ORDER_TYPE_BUY else tick.bid, "deviation": 10, "type_filling": filling}
    req.update(extra)
    return t.order_send(req)


# --- filling and execution modes ------------------------------------------------------------
def test_the_acceptance_profile_has_the_documented_execution_and_filling_modes():
    t = terminal()
    got = {s: (t.symbol_info(s).trade_exemode, t.symbol_info(s).filling_mode) for s in ("EURUSD", "GBPUSD", "USDJPY")}
    assert got == {"EURUSD": (strict.SYMBOL_TRADE_EXECUTION_INSTANT, strict.SYMBOL_FILLING_FOK),
                   "GBPUSD": (strict.SYMBOL_TRADE_EXECUTION_MARKET, strict.SYMBOL_FILLING_IOC),
                   "USDJPY": (strict.SYMBOL_TRADE_EXECUTION_MARKET, strict.SYMBOL_FILLING_FOK | strict.SYMBOL_FILLING_IOC)}


def test_an_ioc_order_on_a_fok_only_symbol_is_refused_with_10030():
    t = terminal()
    r = market(t, "EURUSD", filling=api.ORDER_FILLING_IOC)
    assert (r.retcode, r.deal, r.order) == (strict.TRADE_RETCODE_INVALID_FILL, 0, 0)
    assert t.positions_get() == () and market(t, "EURUSD").retcode == api.TRADE_RETCODE_DONE


def test_a_fok_order_on_an_ioc_only_symbol_is_refused_with_10030():
    t = terminal()
    assert market(t, "GBPUSD", filling=api.ORDER_FILLING_FOK).retcode == strict.TRADE_RETCODE_INVALID_FILL
    assert market(t, "GBPUSD", filling=api.ORDER_FILLING_IOC).retcode == api.TRADE_RETCODE_DONE


def test_a_missing_type_filling_is_fok_and_refused_on_an_ioc_only_symbol():
    t = terminal()
    assert t.order_send({"action": 1, "symbol": "GBPUSD", "volume": 0.1, "type": 0}).retcode == strict.TRADE_RETCODE_INVALID_FILL


@pytest.mark.parametrize("exemode,flags,allowed", [
    (strict.SYMBOL_TRADE_EXECUTION_INSTANT, strict.SYMBOL_FILLING_IOC, {api.ORDER_FILLING_FOK}),
    (strict.SYMBOL_TRADE_EXECUTION_REQUEST, 3, {api.ORDER_FILLING_FOK}),
    (strict.SYMBOL_TRADE_EXECUTION_MARKET, 3, {api.ORDER_FILLING_FOK, api.ORDER_FILLING_IOC}),
    (strict.SYMBOL_TRADE_EXECUTION_EXCHANGE, strict.SYMBOL_FILLING_IOC, {api.ORDER_FILLING_IOC, strict.ORDER_FILLING_RETURN}),
])
def test_return_only_under_exchange_execution_and_instant_or_request_fill_or_kill_only(exemode, flags, allowed):
    t = terminal(symbols=[SymbolSpec("EURUSD", exemode, flags)])
    for filling in (api.ORDER_FILLING_FOK, api.ORDER_FILLING_IOC, strict.ORDER_FILLING_RETURN):
        ok = market(t, "EURUSD", filling=filling).retcode == api.TRADE_RETCODE_DONE
        assert ok == (filling in allowed), filling


# --- price: requotes under Instant/Request execution --------------------------------------------
def test_instant_execution_requotes_a_price_beyond_deviation_with_10004():
    t = terminal()
    ask = t.symbol_info_tick("EURUSD").ask
    r = market(t, "EURUSD", price=round(ask + 0.00011, 5))  # 11 points away, deviation 10
    assert (r.retcode, r.deal, r.ask) == (strict.TRADE_RETCODE_REQUOTE, 0, ask)
    assert market(t, "EURUSD", price=round(ask + 0.0001, 5)).retcode == api.TRADE_RETCODE_DONE


def test_instant_execution_without_a_price_is_an_invalid_price():
    t = terminal()
    assert market(t, "EURUSD", price=0.0).retcode == api.TRADE_RETCODE_INVALID_PRICE


def test_market_execution_ignores_the_price_and_fills_at_the_market():
    t = terminal()
    r = market(t, "USDJPY", price=1.0, deviation=0)
    assert (r.retcode, r.price) == (api.TRADE_RETCODE_DONE, t.symbol_info_tick("USDJPY").ask)


# --- switches --------------------------------------------------------------------------------
def test_autotrading_off_refuses_with_10027_and_terminal_info_says_so():
    t = terminal()
    t.autotrading = False
    assert t.terminal_info().trade_allowed is False
    assert market(t, "USDJPY").retcode == strict.TRADE_RETCODE_CLIENT_DISABLES_AT


def test_a_closed_market_refuses_with_10018_and_brings_no_new_ticks():
    clock = Clock()
    t = terminal(clock)
    t.closed.add("USDJPY")
    before = t.symbol_info_tick("USDJPY")
    clock.t += 60
    assert market(t, "USDJPY").retcode == api.TRADE_RETCODE_MARKET_CLOSED
    assert t.symbol_info_tick("USDJPY") == before
    t.closed.clear()
    clock.t += 5
    assert t.symbol_info_tick("USDJPY").time_msc > before.time_msc


def test_a_disabled_symbol_refuses_with_10017_and_symbol_info_says_so():
    t = terminal()
    t.disabled.add("GBPUSD")
    assert t.symbol_info("GBPUSD").trade_mode == api.SYMBOL_TRADE_MODE_DISABLED
    assert market(t, "GBPUSD", filling=api.ORDER_FILLING_IOC).retcode == api.TRADE_RETCODE_TRADE_DISABLED


def test_stops_closer_than_the_stops_level_are_refused_with_10016():
    t = terminal()  # EURUSD: trade_stops_level 10 points
    assert t.symbol_info("EURUSD").trade_stops_level == 10
    bid = t.symbol_info_tick("EURUSD").bid
    assert market(t, "EURUSD", sl=round(bid - 0.00009, 5)).retcode == api.TRADE_RETCODE_INVALID_STOPS
    assert market(t, "EURUSD", tp=round(bid - 0.0001, 5)).retcode == api.TRADE_RETCODE_INVALID_STOPS
    assert market(t, "EURUSD", sl=round(bid - 0.0001, 5), tp=round(bid + 0.0001, 5)).retcode == api.TRADE_RETCODE_DONE


def test_volume_off_the_step_or_limits_is_refused_with_10014():
    t = terminal()
    for volume in (0.015, 0.0, 101.0):
        assert market(t, "USDJPY", volume=volume).retcode == api.TRADE_RETCODE_INVALID_VOLUME


def test_an_order_beyond_free_margin_is_refused_with_10019():
    t = terminal(balance=100.0)
    assert market(t, "USDJPY", volume=1.0).retcode == api.TRADE_RETCODE_NO_MONEY


def test_order_check_reports_the_same_refusals_without_executing():
    t = terminal()
    req = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": 1.0, "type_filling": 1}
    assert t.order_check(req).retcode == strict.TRADE_RETCODE_INVALID_FILL
    ok = t.order_check(dict(req, type_filling=0))
    assert (ok.retcode, ok.comment) == (0, "Done") and t.positions_get() == () and len(t.history_deals_get(0, 2 ** 31)) == 1


# --- server time ---------------------------------------------------------------------------
def test_every_time_is_the_server_clock_utc_plus_the_offset():
    clock = Clock()
    t = terminal(clock, server_offset=7200)
    tick = t.symbol_info_tick("USDJPY")
    assert T0 + 7200 - 60 <= tick.time <= T0 + 7200 and tick.time == tick.time_msc // 1000
    r = market(t, "USDJPY")
    deal = t.history_deals_get(ticket=r.order)[0]
    position = t.positions_get()[0]
    assert deal.time == position.time == int(T0) + 7200 and deal.time_msc == position.time_msc == int(T0 + 7200) * 1000


def test_date_arguments_are_read_on_the_server_clock():
    t = terminal(server_offset=7200)
    market(t, "USDJPY")
    utc = datetime.datetime.fromtimestamp(T0, tz=datetime.timezone.utc)
    minute = datetime.timedelta(minutes=1)
    # The last minute asked in UTC finds nothing: every tick is stamped two hours later.
    assert t.copy_ticks_range("USDJPY", utc - minute, utc, api.COPY_TICKS_ALL) == []
    server_now = utc + datetime.timedelta(hours=2)
    assert len(t.copy_ticks_range("USDJPY", server_now - minute, server_now, api.COPY_TICKS_ALL)) > 10
    assert t.history_deals_get(utc - datetime.timedelta(minutes=5), utc + datetime.timedelta(minutes=5)) == ()
    server = utc + datetime.timedelta(hours=2)
    assert len(t.history_deals_get(server - datetime.timedelta(minutes=5), server)) == 1


def test_date_from_is_taken_in_whole_seconds():
    t = terminal(server_offset=0)
    ticks = t.copy_ticks_from("USDJPY", 0, 100000, api.COPY_TICKS_ALL)
    probe = next(x for x in ticks if x.time_msc % 1000 > 0)
    at = datetime.datetime.fromtimestamp(probe.time_msc / 1000.0, tz=datetime.timezone.utc)
    got = t.copy_ticks_from("USDJPY", at, 100000, api.COPY_TICKS_ALL)
    assert got[0].time_msc == min(x.time_msc for x in ticks if x.time == probe.time)


def test_copy_ticks_trade_is_empty_on_an_fx_feed_and_info_has_every_quote_tick():
    t = terminal()
    assert t.copy_ticks_from("EURUSD", 0, 1000, api.COPY_TICKS_TRADE) == []
    assert t.copy_ticks_from("EURUSD", 0, 1000, api.COPY_TICKS_INFO) == t.copy_ticks_from("EURUSD", 0, 1000, -1)


# --- tickets and history --------------------------------------------------------------------
def test_order_deal_and_position_tickets_are_separate_and_the_position_is_its_opening_order():
    t = terminal()
    r = market(t, "USDJPY")
    p = t.positions_get()[0]
    assert r.deal != r.order and p.ticket == p.identifier == r.order


def test_history_deals_get_ticket_selects_by_order_ticket_not_deal_ticket():
    t = terminal()
    r = market(t, "USDJPY")
    assert t.history_deals_get(ticket=r.deal) == ()
    assert [d.ticket for d in t.history_deals_get(ticket=r.order)] == [r.deal]


def test_history_deals_get_position_selects_every_deal_of_the_position():
    t = terminal()
    opened = market(t, "USDJPY")
    closed = market(t, "USDJPY", side=api.ORDER_TYPE_SELL, position=opened.order)
    deals = t.history_deals_get(position=opened.order)
    assert [(d.ticket, d.entry) for d in deals] == [(opened.deal, api.DEAL_ENTRY_IN), (closed.deal, api.DEAL_ENTRY_OUT)]
    assert t.positions_get() == ()


def test_the_history_starts_with_the_deposit_as_a_balance_deal_and_books_credit_commission_charge():
    t = terminal(balance=5000.0)
    first = t.history_deals_get(0, 2 ** 31)[0]
    assert (first.type, first.order, first.position_id, first.symbol, first.profit) == (strict.DEAL_TYPE_BALANCE, 0, 0, "", 5000.0)
    t.deposit(100.0, "Credit", deal_type=strict.DEAL_TYPE_CREDIT)
    t.deposit(-7.0, "Commission", deal_type=strict.DEAL_TYPE_COMMISSION)
    t.deposit(-3.0, "Charge", deal_type=strict.DEAL_TYPE_CHARGE)
    a = t.account_info()
    assert (a.balance, a.credit) == (4990.0, 100.0)
    assert [d.type for d in t.history_deals_get(0, 2 ** 31)] == [2, 3, 7, 4]


def test_history_deals_get_group_includes_then_excludes():
    t = terminal()
    market(t, "USDJPY")
    market(t, "GBPUSD", filling=api.ORDER_FILLING_IOC)
    assert [d.symbol for d in t.history_deals_get(0, 2 ** 31, group="*USD*,!*JPY*")] == ["GBPUSD"]
    assert [d.symbol for d in t.history_deals_get(0, 2 ** 31, group="*JPY")] == ["USDJPY"]


def test_history_deals_get_without_dates_or_ticket_is_invalid_arguments():
    t = terminal()
    assert t.history_deals_get() is None and t.last_error() == (-2, "Invalid arguments")


# --- hedging and netting ------------------------------------------------------------------------
def test_hedging_keeps_opposite_positions_on_one_symbol():
    t = terminal()
    market(t, "USDJPY")
    market(t, "USDJPY", side=api.ORDER_TYPE_SELL)
    assert t.account_info().margin_mode == strict.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
    assert sorted(p.type for p in t.positions_get(symbol="USDJPY")) == [0, 1]


def test_hedging_refuses_a_close_beyond_the_position_volume_and_a_closed_position():
    t = terminal()
    opened = market(t, "USDJPY")
    r = market(t, "USDJPY", side=api.ORDER_TYPE_SELL, volume=0.2, position=opened.order)
    assert r.retcode == strict.TRADE_RETCODE_INVALID_CLOSE_VOLUME
    market(t, "USDJPY", side=api.ORDER_TYPE_SELL, position=opened.order)
    again = market(t, "USDJPY", side=api.ORDER_TYPE_SELL, position=opened.order)
    assert again.retcode == api.TRADE_RETCODE_POSITION_CLOSED


def test_netting_adds_reduces_and_reverses_with_an_inout_deal():
    t = terminal(margin_mode=strict.ACCOUNT_MARGIN_MODE_RETAIL_NETTING)
    first = market(t, "USDJPY", volume=0.1)
    market(t, "USDJPY", volume=0.1)
    assert [(p.ticket, p.volume) for p in t.positions_get()] == [(first.order, 0.2)]
    market(t, "USDJPY", side=api.ORDER_TYPE_SELL, volume=0.05)
    reverse = market(t, "USDJPY", side=api.ORDER_TYPE_SELL, volume=0.25)
    p = t.positions_get()
    # "Position reversal changes position's identifier to the ticket of the order that led to the
    # reversal"; the INOUT deal itself stays with the old position.
    assert [(x.type, x.volume, x.identifier) for x in p] == [(api.POSITION_TYPE_SELL, 0.1, reverse.order)]
    deals = t.history_deals_get(position=first.order)
    assert [d.entry for d in deals] == [api.DEAL_ENTRY_IN, api.DEAL_ENTRY_IN, api.DEAL_ENTRY_OUT, strict.DEAL_ENTRY_INOUT]


# --- asynchronous and partial fills -------------------------------------------------------------
def test_a_placed_order_gets_its_deal_after_the_delay():
    clock = Clock()
    t = terminal(clock, placed_delay=0.5)
    r = market(t, "USDJPY")
    assert (r.retcode, r.deal) == (api.TRADE_RETCODE_PLACED, 0) and t.positions_get() == ()
    assert [o.ticket for o in t.orders_get()] == [r.order] and t.history_deals_get(ticket=r.order) == ()
    clock.t += 0.5
    assert len(t.history_deals_get(ticket=r.order)) == 1 and t.positions_get()[0].ticket == r.order
    assert t.orders_get() == ()


def test_ioc_beyond_the_liquidity_fills_partially_with_10010_and_fok_is_rejected():
    t = terminal(symbols=[SymbolSpec("USDJPY", mid=150.0, digits=3, liquidity=0.3)])
    r = market(t, "USDJPY", volume=0.5, filling=api.ORDER_FILLING_IOC)
    assert (r.retcode, r.volume) == (strict.TRADE_RETCODE_DONE_PARTIAL, 0.3) and t.orders_get() == ()
    assert market(t, "USDJPY", volume=0.5).retcode == api.TRADE_RETCODE_REJECT


def test_a_return_order_beyond_the_liquidity_keeps_its_rest_working():
    clock = Clock()
    t = terminal(clock, symbols=[SymbolSpec("SBER", strict.SYMBOL_TRADE_EXECUTION_EXCHANGE, 3, 1.0, liquidity=0.3)])
    r = market(t, "SBER", volume=0.5, filling=strict.ORDER_FILLING_RETURN)
    assert (r.retcode, r.volume) == (strict.TRADE_RETCODE_DONE_PARTIAL, 0.3)
    assert [(o.ticket, o.volume_current) for o in t.orders_get()] == [(r.order, 0.2)]
    clock.t += 1
    assert [d.volume for d in t.history_deals_get(ticket=r.order)] == [0.3, 0.2] and t.orders_get() == ()


# --- arguments -----------------------------------------------------------------------------
def test_a_request_that_is_not_exactly_a_dict_gets_none_and_invalid_arguments():
    t = terminal()
    req = {"action": 1, "symbol": "USDJPY", "volume": 0.1, "type": 0}
    for fake in (collections.OrderedDict(req), collections.UserDict(req), list(req.items())):
        assert t.order_send(fake) is None and t.last_error() == (-2, "Invalid arguments")
        assert t.order_check(fake) is None
    assert t.order_send(req).retcode == api.TRADE_RETCODE_DONE and t.last_error() == (1, "Success")


def test_a_request_field_of_the_wrong_type_or_a_long_comment_names_the_field():
    t = terminal()
    req = {"action": 1, "symbol": "USDJPY", "volume": 0.1, "type": 0}
    assert t.order_send(dict(req, volume="0.1")) is None and t.last_error() == (-2, 'Invalid "volume" argument')
    assert t.order_send(dict(req, magic=1.0)) is None and t.last_error() == (-2, 'Invalid "magic" argument')
    assert t.order_send(dict(req, comment="x" * 32)) is None and t.last_error() == (-2, 'Invalid "comment" argument')


def test_a_date_that_is_not_a_datetime_or_int_gets_invalid_arguments():
    t = terminal()
    for date in (float(T0), str(int(T0)), datetime.date(2026, 1, 1), True):
        assert t.copy_ticks_from("EURUSD", date, 10, api.COPY_TICKS_ALL) is None
        assert t.last_error() == (-2, "Invalid arguments")
    assert t.history_deals_get(float(T0), T0 + 10) is None
    assert t.copy_ticks_from("EURUSD", int(T0), 10, api.COPY_TICKS_ALL) is not None


def test_an_unknown_symbol_is_not_found():
    t = terminal()
    assert t.symbol_info("XAUUSD") is None and t.last_error() == (-4, "Terminal: Not found")


# --- latency, faults, a terminal that goes away ---------------------------------------------------
def test_each_order_send_takes_the_configured_latency_and_reads_take_none():
    clock = Clock()
    t = terminal(clock, latency=(0.05, 0.1))
    t.symbol_info("USDJPY")
    t.positions_get()
    assert clock.slept == []
    for _i in range(5):
        market(t, "USDJPY")
    assert len(clock.slept) == 5 and all(0.05 <= s <= 0.1 for s in clock.slept)


def test_an_injected_fault_raises_on_the_nth_call_only():
    t = terminal()
    t.inject("copy_ticks_from", 2)
    assert t.copy_ticks_from("EURUSD", 0, 1, -1) is not None
    with pytest.raises(strict.InjectedFault):
        t.copy_ticks_from("EURUSD", 0, 1, -1)
    assert t.copy_ticks_from("EURUSD", 0, 1, -1) is not None


def test_an_injected_none_returns_none_with_last_error_set():
    t = terminal()
    t.inject("symbol_info_tick", 1, "none")
    assert t.symbol_info_tick("EURUSD") is None and t.last_error()[0] == api.RES_E_FAIL
    assert t.symbol_info_tick("EURUSD") is not None and t.last_error() == (1, "Success")


def test_a_terminal_that_goes_away_answers_none_until_initialize():
    t = StrictTerminal(clock=Clock())
    assert t.account_info() is None and t.last_error() == (-10004, "No IPC connection")
    assert t.initialize()
    t.go_away()
    assert t.positions_get() is None and t.symbol_select("EURUSD") is False and t.order_send({}) is None
    assert t.last_error() == (-10004, "No IPC connection")
    assert t.initialize() and t.account_info().balance == 10000.0


def test_ticks_are_the_same_for_the_same_seed_and_clock():
    a, b = terminal(), terminal()
    c = terminal(seed=8)
    assert a.copy_ticks_from("GBPUSD", 0, 1000, -1) == b.copy_ticks_from("GBPUSD", 0, 1000, -1)
    assert a.copy_ticks_from("GBPUSD", 0, 1000, -1) != c.copy_ticks_from("GBPUSD", 0, 1000, -1)
    ticks = a.copy_ticks_from("GBPUSD", 0, 1000, -1)
    assert all(x.time_msc <= y.time_msc for x, y in zip(ticks, ticks[1:])) and all(x.flags for x in ticks)


# --- over rpyc classic, as mt5linux serves the real module ---------------------------------------
@pytest.fixture
def rpyc_mt5():
    rpyc = pytest.importorskip("rpyc")
    proc = subprocess.Popen([sys.executable, SERVER, "0", "--latency", "0,0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(proc.stdout.readline().split()[1])
        conn = None
        for _i in range(100):
            try:
                conn = rpyc.classic.connect("127.0.0.1", port)
                break
            except OSError:
                time.sleep(0.05)
        conn.execute("import MetaTrader5 as mt5")
        yield conn, conn.namespace["mt5"]
        conn.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_over_rpyc_classic_a_dict_or_datetime_by_reference_gets_none_and_plain_calls_work(rpyc_mt5):
    conn, mt5 = rpyc_mt5
    assert mt5.initialize() is True
    request = {"action": 1, "symbol": "USDJPY", "volume": 0.1, "type": 0, "type_filling": 1}
    assert mt5.order_send(request) is None  # the dict travels as a netref
    assert tuple(mt5.last_error()) == (-2, "Invalid arguments")
    assert mt5.copy_ticks_from("EURUSD", datetime.datetime.now(datetime.timezone.utc), 10, mt5.COPY_TICKS_ALL) is None
    assert tuple(mt5.last_error()) == (-2, "Invalid arguments")
    # By value (a dict built on the terminal's side, an int date) it works, as mt5linux renders calls.
    assert conn.eval("mt5.order_send(%r).retcode" % request) == api.TRADE_RETCODE_DONE
    assert len(mt5.copy_ticks_from("EURUSD", 0, 10, mt5.COPY_TICKS_ALL)) == 10
    assert mt5.symbol_info_tick("EURUSD").bid > 0 and mt5.TRADE_RETCODE_INVALID_FILL == 10030
