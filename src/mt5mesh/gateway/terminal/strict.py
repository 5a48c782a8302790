"""The strict terminal: the MetaTrader5 Python API as a broker's real terminal enforces it, written
from the official documentation (the mql5.com text that mt5linux carries as docstrings, and the
mql5.com / metatrader5.com pages named beside each rule). Where paper.py forgives, this refuses:

* arguments are type-checked as the C extension checks them, builtins only: a dict or datetime
  proxied by rpyc classic (a netref) gets None and last_error() (-2, 'Invalid arguments');
* every symbol has an execution mode and a filling bitmask; a request outside them gets 10030,
  and Instant/Request execution requote (10004) a price outside `deviation`;
* every time is the trade server's clock (UTC + server_offset), the date arguments included;
* order, deal and position tickets are separate numbers, history_deals_get(ticket=) selects by
  ORDER ticket, and the history starts with the deposit (a BALANCE deal);
* hedging or netting accounts, PLACED orders whose deal comes later, partial fills, stops level;
* latency, injected faults, and a terminal that goes away until initialize() is called again.

Everything that moves is driven by the injected clock (UTC seconds) and sleep: tests are
deterministic. Functions take the official names and argument order; results are ``api`` records
except where the official record has more than ``api`` keeps (``SymbolInfo``, ``TradeRequest``,
``TradeOrder`` below carry the official fields, in the official order).
"""
import bisect
import collections
import datetime
import fnmatch
import functools
import random
import threading
import time
from typing import NamedTuple

from mt5mesh.gateway.terminal import api

# --- constants api.py does not carry, numbered as the official module numbers them ----------
SYMBOL_TRADE_EXECUTION_REQUEST = 0
SYMBOL_TRADE_EXECUTION_INSTANT = 1
SYMBOL_TRADE_EXECUTION_MARKET = 2
SYMBOL_TRADE_EXECUTION_EXCHANGE = 3
SYMBOL_FILLING_FOK = 1
SYMBOL_FILLING_IOC = 2
ORDER_FILLING_RETURN = 2
TRADE_ACTION_PENDING = 5
TRADE_ACTION_SLTP = 6
DEAL_TYPE_BALANCE = 2
DEAL_TYPE_CREDIT = 3
DEAL_TYPE_CHARGE = 4
DEAL_TYPE_COMMISSION = 7
DEAL_ENTRY_INOUT = 2
DEAL_REASON_EXPERT = 3
ORDER_STATE_PLACED = 1
ORDER_STATE_PARTIAL = 3
ACCOUNT_MARGIN_MODE_RETAIL_NETTING = 0
ACCOUNT_MARGIN_MODE_RETAIL_HEDGING = 2
TRADE_RETCODE_REQUOTE = 10004
TRADE_RETCODE_DONE_PARTIAL = 10010
TRADE_RETCODE_CLIENT_DISABLES_AT = 10027
TRADE_RETCODE_INVALID_FILL = 10030
TRADE_RETCODE_INVALID_CLOSE_VOLUME = 10038
RES_E_INTERNAL_FAIL_CONNECT = -10004  # the docs' last_error table prints -10003 twice; terminals say -10004

# Trade server return codes: descriptions from "Trade Server Return Codes" (mql5.com), except
# DONE, whose comment the order_send example shows as "Request executed".
COMMENTS = {
    TRADE_RETCODE_REQUOTE: "Requote",
    api.TRADE_RETCODE_REJECT: "Request rejected",
    api.TRADE_RETCODE_PLACED: "Order placed",
    api.TRADE_RETCODE_DONE: "Request executed",
    TRADE_RETCODE_DONE_PARTIAL: "Only part of the request was completed",
    api.TRADE_RETCODE_INVALID: "Invalid request",
    api.TRADE_RETCODE_INVALID_VOLUME: "Invalid volume in the request",
    api.TRADE_RETCODE_INVALID_PRICE: "Invalid price in the request",
    api.TRADE_RETCODE_INVALID_STOPS: "Invalid stops in the request",
    api.TRADE_RETCODE_TRADE_DISABLED: "Trade is disabled",
    api.TRADE_RETCODE_MARKET_CLOSED: "Market is closed",
    api.TRADE_RETCODE_NO_MONEY: "There is not enough money to complete the request",
    TRADE_RETCODE_CLIENT_DISABLES_AT: "Autotrading disabled by client terminal",
    TRADE_RETCODE_INVALID_FILL: "Invalid order filling type",
    api.TRADE_RETCODE_POSITION_CLOSED: "Position with the specified POSITION_IDENTIFIER has already been closed",
    TRADE_RETCODE_INVALID_CLOSE_VOLUME: "A close volume exceeds the current position volume",
}
INVALID_ARGS = (api.RES_E_INVALID_PARAMS, "Invalid arguments")
NO_IPC = (RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
SUCCESS = (api.RES_S_OK, "Success")
COMMENT_MAX = 31  # longer comments: (-2, 'Invalid "comment" argument'); terminals were seen refusing from 28 on
HISTORY_TICKS = 200000
ORDER_TICKETS, DEAL_TICKETS = 557400001, 535000001  # two sequences, as in the docs' examples

# --- the official records api.py keeps shorter or lacks (field order of the docs' examples) -----
# symbol_info(): "Show symbol_info("EURJPY")._asdict()" in the docs lists these, in this order.
_SYMBOL_FIELDS = (
    "custom chart_mode select visible session_deals session_buy_orders session_sell_orders volume volumehigh "
    "volumelow time digits spread spread_float ticks_bookdepth trade_calc_mode trade_mode start_time "
    "expiration_time trade_stops_level trade_freeze_level trade_exemode swap_mode swap_rollover3days "
    "margin_hedged_use_leg expiration_mode filling_mode order_mode order_gtc_mode option_mode option_right "
    "bid bidhigh bidlow ask askhigh asklow last lasthigh lastlow volume_real volumehigh_real volumelow_real "
    "option_strike point trade_tick_value trade_tick_value_profit trade_tick_value_loss trade_tick_size "
    "trade_contract_size trade_accrued_interest trade_face_value trade_liquidity_rate volume_min volume_max "
    "volume_step volume_limit swap_long swap_short margin_initial margin_maintenance session_volume "
    "session_turnover session_interest session_buy_orders_volume session_sell_orders_volume session_open "
    "session_close session_aw session_price_settlement session_price_limit_min session_price_limit_max "
    "margin_hedged price_change price_volatility price_theoretical price_greeks_delta price_greeks_theta "
    "price_greeks_gamma price_greeks_vega price_greeks_rho price_greeks_omega price_sensitivity basis "
    "category currency_base currency_profit currency_margin bank description exchange formula isin name page "
    "path").split()
# mypy types a namedtuple only from a literal field list; these official fields are listed once, above.
SymbolInfo = collections.namedtuple("SymbolInfo", _SYMBOL_FIELDS)  # type: ignore[misc]
_BOOLS = {"custom", "select", "visible", "spread_float", "margin_hedged_use_leg"}
_SYMBOL_DEFAULTS = {f: (False if f in _BOOLS else 0 if i < _SYMBOL_FIELDS.index("bid")
                        else 0.0 if i < _SYMBOL_FIELDS.index("basis") else "")
                    for i, f in enumerate(_SYMBOL_FIELDS)}
# order_send()'s result carries the request as TradeRequest(action=1, magic=..., ...): these fields.
TradeRequest = collections.namedtuple("TradeRequest", "action magic order symbol volume price stoplimit sl tp "
                                                      "deviation type type_filling type_time expiration comment "
                                                      "position position_by")
# orders_get(): TradeOrder(ticket=..., time_setup=..., ...), as in its example.
TradeOrder = collections.namedtuple("TradeOrder", "ticket time_setup time_setup_msc time_done time_done_msc "
                                                  "time_expiration type type_time type_filling state magic "
                                                  "position_id position_by_id reason volume_initial volume_current "
                                                  "price_open sl tp price_current price_stoplimit symbol comment "
                                                  "external_id")
_FLOAT_FIELDS = {"volume", "price", "stoplimit", "sl", "tp"}
_STR_FIELDS = {"symbol", "comment"}


class SymbolSpec(NamedTuple):
    """One symbol as the broker configures it. `liquidity`: lots fillable at once (0: any)."""
    name: str
    exemode: int = SYMBOL_TRADE_EXECUTION_MARKET
    filling: int = SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC
    mid: float = 1.1
    digits: int = 5
    spread: int = 12  # points
    stops_level: int = 0  # points
    contract: float = 100000.0
    volume_min: float = 0.01
    volume_max: float = 100.0
    volume_step: float = 0.01
    liquidity: float = 0.0


def acceptance_symbols():
    """EURUSD Instant execution FOK only; GBPUSD Market execution IOC only; USDJPY Market FOK or IOC."""
    return [SymbolSpec("EURUSD", SYMBOL_TRADE_EXECUTION_INSTANT, SYMBOL_FILLING_FOK, 1.08, stops_level=10),
            SymbolSpec("GBPUSD", SYMBOL_TRADE_EXECUTION_MARKET, SYMBOL_FILLING_IOC, 1.27, spread=15),
            SymbolSpec("USDJPY", SYMBOL_TRADE_EXECUTION_MARKET, SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC, 151.0,
                       digits=3, spread=14)]


class InjectedFault(RuntimeError):
    """What an injected "raise" fault throws (an IPC or rpyc failure, seen by the caller)."""


def _exact(value, *kinds):
    """The C extension's PyDict_Check/PyLong_Check/PyDateTime_Check...: the builtin type itself,
    so an rpyc netref that only behaves like one is refused (bool is not taken for int)."""
    return type(value) in kinds


def _is_date(x):
    # copy_ticks_from: "Set by the 'datetime' object or as a number of seconds elapsed since
    # 1970.01.01": a real datetime or int, nothing that merely behaves like one.
    return _exact(x, datetime.datetime, int)


def _seconds(date):
    """Whole seconds on the server's scale. A naive datetime is local time to Python (the docs:
    "When creating the 'datetime' object, Python uses the local time zone")."""
    return int(date.timestamp()) if _exact(date, datetime.datetime) else date


def _group_match(group, symbol):
    """history_deals_get/positions_get `group`: comma separated masks with '*', '!' excludes;
    "conditions are applied sequentially" (inclusions first, then exclusions)."""
    selected = False
    for cond in (c.strip() for c in group.split(",")):
        if cond.startswith("!"):
            selected = selected and not fnmatch.fnmatchcase(symbol, cond[1:])
        elif cond and fnmatch.fnmatchcase(symbol, cond):
            selected = True
    return selected


def _api(fail=None, trade=False, connected=True):
    """Every API function: counted, faults injected, latency for trade calls, and None (or `fail`)
    with last_error() set while the terminal is not connected."""

    def wrap(fn):
        name = fn.__name__

        @functools.wraps(fn)
        def call(self, *args, **kwargs):
            with self.lock:
                self.calls[name] += 1
                fault = self.faults.pop((name, self.calls[name]), None)
            if trade and self.latency[1] > 0:
                self.sleep(self.latency_rng.uniform(*self.latency))  # outside the lock: reads go on
            if fault == "raise":
                raise InjectedFault("injected fault: %s call %d" % (name, self.calls[name]))
            with self.lock:
                if fault == "none":
                    self.error = (api.RES_E_FAIL, "Terminal: Call failed")
                    return fail
                if connected and not self.connected:
                    self.error = NO_IPC
                    return fail
                if self.connected:
                    self._advance()
                    self._settle()
                self.error = SUCCESS
                return fn(self, *args, **kwargs)
        return call
    return wrap


class StrictTerminal:
    """One account at a strict broker. Thread-safe (rpyc serves calls from threads).

    Switches (plain attributes, flip them at any time): `autotrading` (the terminal's AutoTrading
    button), `closed` (symbols whose market is closed), `disabled` (symbols whose trade mode is
    DISABLED), `placed_delay` (seconds from 10008 PLACED to the deal; 0: fill at once)."""

    def __init__(self, symbols=None, *, clock=time.time, sleep=time.sleep, seed=7, server_offset=7200,
                 margin_mode=ACCOUNT_MARGIN_MODE_RETAIL_HEDGING, balance=10000.0, leverage=100, rate=2.0,
                 latency=(0.0, 0.0), placed_delay=0.0, commission=0.0, numpy_ticks=False, anchor=None):
        self.specs = collections.OrderedDict((s.name, s) for s in (symbols or acceptance_symbols()))
        self.clock, self.sleep, self.offset = clock, sleep, int(server_offset)
        self.margin_mode, self.leverage, self.rate = margin_mode, int(leverage), float(rate)
        self.latency, self.latency_rng = (float(latency[0]), float(latency[1])), random.Random(seed)
        self.placed_delay, self.commission, self.numpy_ticks = float(placed_delay), float(commission), numpy_ticks
        self.lock = threading.RLock()
        self.connected, self.error = False, NO_IPC
        self.autotrading, self.closed, self.disabled, self.selected = True, set(), set(), set()
        self.calls, self.faults = collections.Counter(), {}
        self.balance, self.credit = 0.0, 0.0
        self.positions = collections.OrderedDict()
        self.orders = collections.OrderedDict()  # active orders: placed, or the rest of a RETURN fill
        self.pending = []  # (due UTC seconds, order ticket, volume): deals still to come
        self.deals = []
        self.next_order, self.next_deal, self.request_id = ORDER_TICKETS, DEAL_TICKETS, 0
        # Ticks are a seeded walk from `anchor` (UTC seconds; default now): a terminal restarted
        # with the same seed and anchor holds the very same history, as a real one keeps its own.
        start = self.clock() if anchor is None else float(anchor)
        self.mid = {s.name: s.mid for s in self.specs.values()}
        self.rngs = {s.name: random.Random("%s-%s" % (seed, s.name)) for s in self.specs.values()}
        self.history = {s: collections.deque(maxlen=HISTORY_TICKS) for s in self.specs}
        self.keys = {s: collections.deque(maxlen=HISTORY_TICKS) for s in self.specs}  # time_msc per tick
        self.next_tick = {s: start - 60.0 for s in self.specs}  # a minute of history before the start
        self.deposit(float(balance), "Deposit", at=start - 86400)

    # --- the broker's side (tests call these) -----------------------------------------------
    def deposit(self, amount, comment="Deposit", deal_type=DEAL_TYPE_BALANCE, at=None):
        """A balance operation, as the broker books it: BALANCE/CHARGE/COMMISSION change the
        balance, CREDIT the credit; each is a deal without order, position or symbol (the
        history_deals_get example's first row: order=0, type=2, position_id=0, symbol '')."""
        with self.lock:
            t = self.clock() if at is None else at
            self._add_deal(0, t, deal_type, api.DEAL_ENTRY_IN, 0, 0, 0.0, 0.0, amount, "", comment, reason=0)
            if deal_type == DEAL_TYPE_CREDIT:
                self.credit += amount
            else:
                self.balance += amount

    def inject(self, function, nth, fault="raise"):
        """The `nth` call (1-based, counted from the terminal's creation) of `function` raises
        (fault "raise") or returns None with last_error() set (fault "none")."""
        with self.lock:
            self.faults[(function, int(nth))] = fault

    def go_away(self):
        """The terminal is gone (closed, crashed, Wine died): every call returns None and
        last_error() says (-10004, 'No IPC connection') until initialize() succeeds again."""
        with self.lock:
            self.connected = False

    # --- session ---------------------------------------------------------------------------
    @_api(fail=False, connected=False)
    def initialize(self, path=None, *, login=None, password=None, server=None, timeout=None, portable=False):
        for value, expected in ((path, str), (login, int), (password, str), (server, str), (timeout, int)):
            if value is not None and not _exact(value, expected):
                self.error = INVALID_ARGS
                return False
        if not _exact(portable, bool):
            self.error = INVALID_ARGS
            return False
        self.connected = True
        self._advance()
        return True

    @_api(fail=True, connected=False)
    def shutdown(self):
        self.connected = False
        return True

    def last_error(self):
        return self.error

    # --- market ----------------------------------------------------------------------------
    def _advance(self):
        """Ticks due by now: a seeded walk per symbol, `rate` a second, one in ten in the same
        millisecond as the one before (bursts, as real feeds have). A closed market has none."""
        now = self.clock()
        for name, spec in self.specs.items():
            if name in self.closed:
                self.next_tick[name] = now
                continue
            t = max(self.next_tick[name], now - 3600)  # a terminal away for long gets the last hour
            rng, point = self.rngs[name], 10.0 ** -spec.digits
            while t <= now:
                self.mid[name] *= 1.0 + rng.gauss(0.0, 0.00004)
                bid = round(self.mid[name] - spec.spread * point / 2, spec.digits)
                ask = round(bid + spec.spread * point, spec.digits)
                last = self.history[name][-1] if self.history[name] else None
                flags = ((api.TICK_FLAG_BID if not last or last.bid != bid else 0)
                         | (api.TICK_FLAG_ASK if not last or last.ask != ask else 0))
                if flags:  # a tick is a change of Bid and/or Ask (TICK_FLAG_BID, TICK_FLAG_ASK)
                    # Tick times are the trade server's clock: UTC + the server's offset.
                    msc = max(int((t + self.offset) * 1000), self.keys[name][-1] if self.keys[name] else 0)
                    self.history[name].append(api.Tick(msc // 1000, bid, ask, 0.0, 0, msc, flags, 0.0))
                    self.keys[name].append(msc)
                t += 0.0 if rng.random() < 0.1 else rng.expovariate(self.rate)
            self.next_tick[name] = t

    def _last(self, symbol):
        return self.history[symbol][-1]

    def _symbol(self, symbol):
        """The spec of a known symbol, else None with last_error() set as the terminal sets it."""
        if not _exact(symbol, str):
            self.error = INVALID_ARGS
            return None
        if symbol not in self.specs:
            self.error = (api.RES_E_NOT_FOUND, "Terminal: Not found")
            return None
        return self.specs[symbol]

    @_api()
    def symbol_info(self, symbol):
        spec = self._symbol(symbol)
        if spec is None:
            return None
        last, point = self._last(symbol), 10.0 ** -spec.digits
        fields = dict(_SYMBOL_DEFAULTS, select=symbol in self.selected, visible=symbol in self.selected,
                      time=last.time, digits=spec.digits, spread=int(round((last.ask - last.bid) / point)),
                      spread_float=True, trade_mode=(api.SYMBOL_TRADE_MODE_DISABLED if symbol in self.disabled
                                                     else api.SYMBOL_TRADE_MODE_FULL),
                      trade_stops_level=spec.stops_level, trade_exemode=spec.exemode, filling_mode=spec.filling,
                      expiration_mode=15, order_mode=127, bid=last.bid, ask=last.ask, point=point,
                      trade_tick_size=point, trade_contract_size=spec.contract, volume_min=spec.volume_min,
                      volume_max=spec.volume_max, volume_step=spec.volume_step, currency_base=symbol[:3],
                      currency_profit=symbol[3:6], currency_margin=symbol[:3], description="strict " + symbol,
                      name=symbol, path="Forex\\" + symbol)
        return SymbolInfo(**fields)

    @_api(fail=False)
    def symbol_select(self, symbol, enable=True):
        if not _exact(enable, bool):
            self.error = INVALID_ARGS
            return False
        if self._symbol(symbol) is None:
            return False
        (self.selected.add if enable else self.selected.discard)(symbol)
        return True

    @_api()
    def symbol_info_tick(self, symbol):
        if self._symbol(symbol) is None:
            return None
        return self._last(symbol)

    def _ticks(self, symbol, flags, lo, hi, count):
        keys, hist = self.keys[symbol], self.history[symbol]
        i = bisect.bisect_left(keys, lo)
        out = []
        while i < len(hist) and hist[i].time_msc <= hi and len(out) < count:
            t = hist[i]
            # COPY_TICKS_INFO: "ticks with Bid and/or Ask changes"; COPY_TICKS_TRADE: Last and Volume
            # changes (an FX feed has none of those).
            if flags == api.COPY_TICKS_ALL or (flags == api.COPY_TICKS_INFO and t.flags & 6):
                out.append(t)
            i += 1
        if self.numpy_ticks:
            import numpy  # pylint: disable=import-outside-toplevel
            dtype = [("time", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"), ("volume", "<u8"),
                     ("time_msc", "<i8"), ("flags", "<u4"), ("volume_real", "<f8")]
            return numpy.array([tuple(t) for t in out], dtype=dtype)
        return out

    @staticmethod
    def _flags_ok(flags):
        return _exact(flags, int) and flags in (api.COPY_TICKS_ALL, api.COPY_TICKS_INFO, api.COPY_TICKS_TRADE)

    @_api()
    def copy_ticks_from(self, symbol, date_from, count, flags):
        # date_from is whole seconds (a datetime's fraction is dropped), on the server's clock.
        if not (_is_date(date_from) and _exact(count, int) and self._flags_ok(flags)):
            self.error = INVALID_ARGS
            return None
        if self._symbol(symbol) is None:
            return None
        return self._ticks(symbol, flags, _seconds(date_from) * 1000, float("inf"), count)

    @_api()
    def copy_ticks_range(self, symbol, date_from, date_to, flags):
        if not (_is_date(date_from) and _is_date(date_to) and self._flags_ok(flags)):
            self.error = INVALID_ARGS
            return None
        if self._symbol(symbol) is None:
            return None
        return self._ticks(symbol, flags, _seconds(date_from) * 1000, _seconds(date_to) * 1000, HISTORY_TICKS)

    # --- account ---------------------------------------------------------------------------
    @_api()
    def terminal_info(self):
        # trade_allowed is the AutoTrading button; connected: the terminal has its trade server.
        return api.TerminalInfo(False, False, True, False, self.autotrading, False, False, False, False, False, 4755,
                                100000, 0, 60000, 0.0, 0.0, "Strict Broker Ltd", "MetaTrader 5", "English",
                                "C:\\Program Files\\MetaTrader 5", "", "")

    def _to_account(self, symbol, amount_in_profit_ccy, price):
        """An amount in the symbol's profit currency in the account's (USD)."""
        return amount_in_profit_ccy if symbol[3:6] == "USD" else amount_in_profit_ccy / price

    def _profit(self, p, price=None):
        last = self._last(p.symbol)
        price = price if price is not None else (last.bid if p.type == api.POSITION_TYPE_BUY else last.ask)
        diff = price - p.price_open if p.type == api.POSITION_TYPE_BUY else p.price_open - price
        return round(self._to_account(p.symbol, diff * self.specs[p.symbol].contract * p.volume, price), 2)

    def _margin_of(self, symbol, volume, price):
        lots = self.specs[symbol].contract * volume / self.leverage
        return lots if symbol[:3] == "USD" else lots * price

    def _margin(self):
        return round(sum(self._margin_of(p.symbol, p.volume, p.price_open) for p in self.positions.values()), 2)

    def _equity(self):
        return round(self.balance + self.credit + sum(self._profit(p) for p in self.positions.values()), 2)

    @_api()
    def account_info(self):
        equity, margin = self._equity(), self._margin()
        return api.AccountInfo(5200001, api.ACCOUNT_TRADE_MODE_DEMO, self.leverage, 200, 0, True, True, self.margin_mode,
                               2, False, round(self.balance, 2), round(self.credit, 2),
                               round(equity - self.balance - self.credit, 2), equity, margin, round(equity - margin, 2),
                               round(100.0 * equity / margin, 2) if margin else 0.0, 50.0, 30.0, 0.0, 0.0, 0.0, 0.0,
                               0.0, "Strict Tester", "StrictBroker-Server", "USD", "Strict Broker Ltd")

    def _select(self, records, symbol, group, ticket):
        """positions_get/orders_get filters: "If a symbol is specified, the ticket parameter is ignored"."""
        for value, expected in ((symbol, str), (group, str), (ticket, int)):
            if value is not None and not _exact(value, expected):
                self.error = INVALID_ARGS
                return None
        return tuple(r for r in records if (symbol is None or r.symbol == symbol)
                     and (group is None or _group_match(group, r.symbol))
                     and (symbol is not None or ticket is None or r.ticket == ticket))

    @_api()
    def positions_get(self, *, symbol=None, group=None, ticket=None):
        now = [p._replace(price_current=(self._last(p.symbol).bid if p.type == api.POSITION_TYPE_BUY
                                         else self._last(p.symbol).ask), profit=self._profit(p))
               for p in self.positions.values()]
        return self._select(now, symbol, group, ticket)

    @_api()
    def positions_total(self):
        return len(self.positions)

    @_api()
    def orders_get(self, *, symbol=None, group=None, ticket=None):
        return self._select(self.orders.values(), symbol, group, ticket)

    @_api()
    def history_deals_get(self, date_from=None, date_to=None, *, group=None, ticket=None, position=None):
        """Three documented calls: (date_from, date_to[, group]) by time on the server's clock;
        ticket=: "all deals having the specified order ticket in the DEAL_ORDER property";
        position=: "all deals having the specified position ticket in the DEAL_POSITION_ID"."""
        if ticket is not None or position is not None:
            key = ticket if ticket is not None else position
            if not _exact(key, int) or date_from is not None or date_to is not None:
                self.error = INVALID_ARGS
                return None
            field = "order" if ticket is not None else "position_id"
            return tuple(d for d in self.deals if getattr(d, field) == key)
        if not (_is_date(date_from) and _is_date(date_to)) or (group is not None and not _exact(group, str)):
            self.error = INVALID_ARGS
            return None
        lo, hi = _seconds(date_from), _seconds(date_to)
        return tuple(d for d in self.deals if lo <= d.time <= hi and (group is None or _group_match(group, d.symbol)))

    # --- trading ---------------------------------------------------------------------------
    def _request(self, request):
        """The request as the C extension reads it: exactly a dict of builtins, missing fields
        zero; None (last_error set) when it cannot be read."""
        if not _exact(request, dict):
            self.error = INVALID_ARGS
            return None
        fields = dict.fromkeys(TradeRequest._fields, 0)
        fields.update(dict.fromkeys(_FLOAT_FIELDS, 0.0), symbol="", comment="")
        for key, value in request.items():
            if key not in fields:
                continue
            kinds = (str,) if key in _STR_FIELDS else (int, float) if key in _FLOAT_FIELDS else (int,)
            if key == "expiration" and _exact(value, datetime.datetime):
                value = _seconds(value)
            if not _exact(value, *kinds) or (key == "comment" and len(value) > COMMENT_MAX):
                self.error = (api.RES_E_INVALID_PARAMS, 'Invalid "%s" argument' % key)
                return None
            fields[key] = float(value) if key in _FLOAT_FIELDS else value
        return TradeRequest(**fields)

    def _filling_ok(self, spec, filling):
        """The fill policy table (metatrader5.com, Trading Principles > Fill Policy): Instant and
        Request execution: Fill or Kill only ("In the Request and Instant execution modes the Fill
        or Kill policy is always used for market orders"); Market: FOK and IOC as the symbol's
        SYMBOL_FILLING_MODE flags allow; "For market orders, the Return policy is used only in the
        Exchange Execution mode" (ENUM_ORDER_TYPE_FILLING: "Return orders are not allowed in the
        Market Execution mode")."""
        if spec.exemode in (SYMBOL_TRADE_EXECUTION_INSTANT, SYMBOL_TRADE_EXECUTION_REQUEST):
            return filling == api.ORDER_FILLING_FOK
        if filling == ORDER_FILLING_RETURN:
            return spec.exemode == SYMBOL_TRADE_EXECUTION_EXCHANGE
        return filling in (api.ORDER_FILLING_FOK, api.ORDER_FILLING_IOC) and bool(spec.filling & (filling + 1))

    def _check(self, req, send):
        """(retcode, fill price, position or None) of a market request, the stages in the order a
        trade server runs them; `send` adds what only the server sees (requotes, liquidity)."""
        if not self.autotrading:
            return TRADE_RETCODE_CLIENT_DISABLES_AT, 0.0, None
        spec = self.specs.get(req.symbol)
        if req.action != api.TRADE_ACTION_DEAL or req.type not in (api.ORDER_TYPE_BUY, api.ORDER_TYPE_SELL) \
                or spec is None:
            return api.TRADE_RETCODE_INVALID, 0.0, None
        if req.symbol in self.disabled:
            return api.TRADE_RETCODE_TRADE_DISABLED, 0.0, None
        if req.symbol in self.closed:
            return api.TRADE_RETCODE_MARKET_CLOSED, 0.0, None
        steps = req.volume / spec.volume_step
        if not spec.volume_min <= req.volume <= spec.volume_max or abs(steps - round(steps)) > 1e-7:
            return api.TRADE_RETCODE_INVALID_VOLUME, 0.0, None
        if not self._filling_ok(spec, req.type_filling):
            return TRADE_RETCODE_INVALID_FILL, 0.0, None
        last, point, buy = self._last(req.symbol), 10.0 ** -spec.digits, req.type == api.ORDER_TYPE_BUY
        price = last.ask if buy else last.bid
        # Stops ("Requirements and Limitations in Making Trades"): a Buy is closed at Bid, so
        # Bid-SL and TP-Bid must be at least SYMBOL_TRADE_STOPS_LEVEL points; a Sell's at Ask.
        close_at, level = (last.bid if buy else last.ask), spec.stops_level * point - point / 10
        for stop, below in ((req.sl, buy), (req.tp, not buy)):
            if stop and ((close_at - stop if below else stop - close_at) < level or stop <= 0):
                return api.TRADE_RETCODE_INVALID_STOPS, 0.0, None
        position = self._position_for(req)
        if isinstance(position, int):
            return position, 0.0, None
        if spec.exemode in (SYMBOL_TRADE_EXECUTION_INSTANT, SYMBOL_TRADE_EXECUTION_REQUEST):
            # Instant/Request execution deal at the requested price: none is an invalid price,
            # one more than `deviation` points from the current price is requoted.
            if req.price <= 0:
                return api.TRADE_RETCODE_INVALID_PRICE, 0.0, None
            if send and abs(req.price - price) > req.deviation * point + point / 10:
                return TRADE_RETCODE_REQUOTE, 0.0, None
            price = req.price
        opening = position is None or (self.margin_mode == ACCOUNT_MARGIN_MODE_RETAIL_NETTING
                                       and position.type == req.type)
        if opening and self._equity() - self._margin() < self._margin_of(req.symbol, req.volume, price):
            return api.TRADE_RETCODE_NO_MONEY, 0.0, None
        if send and spec.liquidity and req.volume > spec.liquidity + 1e-9 and req.type_filling == api.ORDER_FILLING_FOK:
            # FOK: "If the necessary amount ... is currently unavailable in the market, the order
            # will not be executed."
            return api.TRADE_RETCODE_REJECT, 0.0, None
        return api.TRADE_RETCODE_DONE, round(price, spec.digits), position

    def _position_for(self, req):
        """The position the request acts on (None: a new one), or the retcode that refuses it."""
        if req.position:
            p = self.positions.get(req.position)
            if p is None or p.symbol != req.symbol:
                return api.TRADE_RETCODE_POSITION_CLOSED
            if p.type == req.type and self.margin_mode == ACCOUNT_MARGIN_MODE_RETAIL_HEDGING:
                return api.TRADE_RETCODE_INVALID
            if req.volume > p.volume + 1e-9 and self.margin_mode == ACCOUNT_MARGIN_MODE_RETAIL_HEDGING:
                return TRADE_RETCODE_INVALID_CLOSE_VOLUME
            return p
        if self.margin_mode == ACCOUNT_MARGIN_MODE_RETAIL_NETTING:
            # Netting: "only one position per symbol"; every order on the symbol acts on it.
            return next((p for p in self.positions.values() if p.symbol == req.symbol), None)
        return None

    def _result(self, retcode, req, order=0, deal=0, volume=0.0, price=0.0):
        last = self._last(req.symbol) if req.symbol in self.specs else None
        self.request_id += 1
        return api.OrderSendResult(retcode, deal, order, volume, price, last.bid if last else 0.0,
                                   last.ask if last else 0.0, COMMENTS.get(retcode, ""), self.request_id, 0, req)

    @_api()
    def order_check(self, request):
        req = self._request(request)
        if req is None:
            return None
        retcode, price, _position = self._check(req, send=False)
        equity, margin = self._equity(), self._margin()
        if retcode == api.TRADE_RETCODE_DONE:
            margin = round(margin + self._margin_of(req.symbol, req.volume, price), 2)
        # The order_check example: retcode=0 and comment "Done" for a request that would pass.
        return api.OrderCheckResult(0 if retcode == api.TRADE_RETCODE_DONE else retcode, round(self.balance, 2),
                                    equity, round(equity - self.balance - self.credit, 2), margin,
                                    round(equity - margin, 2), round(100.0 * equity / margin, 2) if margin else 0.0,
                                    "Done" if retcode == api.TRADE_RETCODE_DONE else COMMENTS.get(retcode, ""), req)

    @_api(trade=True)
    def order_send(self, request):
        req = self._request(request)
        if req is None:
            return None
        retcode, price, _position = self._check(req, send=True)
        if retcode != api.TRADE_RETCODE_DONE:
            return self._result(retcode, req)
        order = self.next_order
        self.next_order += 1
        now, spec = self.clock(), self.specs[req.symbol]
        self.orders[order] = TradeOrder(order, int(now + self.offset), int((now + self.offset) * 1000), 0, 0, 0,
                                        req.type, req.type_time, req.type_filling, ORDER_STATE_PLACED, req.magic,
                                        req.position, 0, DEAL_REASON_EXPERT, req.volume, req.volume, price, req.sl,
                                        req.tp, price, 0.0, req.symbol, req.comment, "")
        if self.placed_delay > 0:
            # 10008: the server took the order; its deal arrives later (history_deals_get, positions_get).
            self.pending.append((now + self.placed_delay, order, req.volume))
            return self._result(api.TRADE_RETCODE_PLACED, req, order, 0, req.volume, 0.0)
        volume = req.volume
        if spec.liquidity and volume > spec.liquidity + 1e-9:
            volume = spec.liquidity  # IOC: the rest is canceled; RETURN: the rest is "processed further"
            if req.type_filling == ORDER_FILLING_RETURN:
                self.pending.append((now + 1.0, order, round(req.volume - volume, 8)))
        deal = self._fill(order, volume, price)
        if order in self.orders and not any(p[1] == order for p in self.pending):
            del self.orders[order]
        return self._result(api.TRADE_RETCODE_DONE if volume == req.volume else TRADE_RETCODE_DONE_PARTIAL, req,
                            order, deal, volume, price)

    def _settle(self):
        """Deals of PLACED orders and RETURN remainders whose time has come, at the price then."""
        now = self.clock()
        due = [p for p in self.pending if p[0] <= now]
        self.pending = [p for p in self.pending if p[0] > now]
        for _due, order, volume in due:
            o = self.orders.get(order)
            if o is None:
                continue
            last = self._last(o.symbol)
            self._fill(order, volume, last.ask if o.type == api.ORDER_TYPE_BUY else last.bid)
            if not any(p[1] == order for p in self.pending):
                del self.orders[order]

    def _add_deal(self, order, t, deal_type, entry, position_id, magic, volume, price, profit, symbol, comment,
                  reason=DEAL_REASON_EXPERT, commission=0.0):
        deal = self.next_deal
        self.next_deal += 1
        # Deal times are the trade server's clock, as tick times are.
        self.deals.append(api.TradeDeal(deal, order, int(t + self.offset), int((t + self.offset) * 1000), deal_type, entry,
                                        magic, position_id, reason, volume, price, commission, 0.0, round(profit, 2),
                                        0.0, symbol, comment, ""))
        return deal

    def _fill(self, order, volume, price):
        """One deal of `order` for `volume` at `price`, and what it does to the positions:
        ENUM_DEAL_ENTRY IN (opens or adds), OUT (closes or reduces), INOUT (netting: reverses)."""
        o, now = self.orders[order], self.clock()
        t, tm = int(now + self.offset), int((now + self.offset) * 1000)
        req = TradeRequest(1, o.magic, 0, o.symbol, volume, price, 0.0, o.sl, o.tp, 0, o.type, o.type_filling, 0, 0,
                           o.comment, o.position_id, 0)
        p = self._position_for(req)
        if isinstance(p, int):  # the position it was to close went away before its deal: no deal
            del self.orders[order]
            return 0
        commission = -round(self.commission * volume, 2) if self.commission else 0.0
        entry, profit, position_id = api.DEAL_ENTRY_IN, 0.0, order
        if p is None:
            self.positions[order] = api.TradePosition(order, t, tm, t, tm, o.type, o.magic, order, DEAL_REASON_EXPERT,
                                                      volume, price, o.sl, o.tp, price, 0.0, 0.0, o.symbol, o.comment, "")
        elif p.type == o.type:  # netting: the same direction adds to the position, at the average price
            total = round(p.volume + volume, 8)
            avg = round((p.price_open * p.volume + price * volume) / total, self.specs[o.symbol].digits)
            self.positions[p.ticket] = p._replace(volume=total, price_open=avg, time_update=t, time_update_msc=tm)
            position_id = p.identifier
        else:
            closed = min(volume, p.volume)
            profit = self._profit(p._replace(volume=closed), price)
            position_id, rest = p.identifier, round(p.volume - volume, 8)
            entry = api.DEAL_ENTRY_OUT
            del self.positions[p.ticket]
            if rest > 0:
                self.positions[p.ticket] = p._replace(volume=rest, time_update=t, time_update_msc=tm)
            elif rest < 0:
                # "Position reversal changes position's identifier to the ticket of the order that
                # led to the reversal"; the INOUT deal itself belongs to the old position.
                entry = DEAL_ENTRY_INOUT
                self.positions[order] = api.TradePosition(order, t, tm, t, tm, o.type, o.magic, order,
                                                          DEAL_REASON_EXPERT, -rest, price, o.sl, o.tp, price, 0.0,
                                                          0.0, o.symbol, o.comment, "")
        self.balance += profit + commission
        if o.volume_current > volume + 1e-9:
            self.orders[order] = o._replace(volume_current=round(o.volume_current - volume, 8), state=ORDER_STATE_PARTIAL)
        return self._add_deal(order, now, o.type, entry, position_id, o.magic, volume, price, profit, o.symbol,
                              o.comment, commission=commission)
