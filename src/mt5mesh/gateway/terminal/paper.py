"""The paper terminal: the MetaTrader5 API surface implemented in the runtime, for the lab, the
tests and the benchmarks. Quotes are a seeded random walk, one stream per symbol, generated as
the clock advances and kept as tick history (bursts land in the same millisecond, as on a real
feed); market orders fill at ask (buy) or bid (sell) with optional slippage; the account keeps
balance, equity, margin and positions, and every fill is a deal in the history.

Functions take the official names, argument order and keywords; results are the named tuples of
``api`` (copy_ticks_* return a list of ``Tick`` rather than numpy's structured array: the gateway
reads both).
"""
import bisect
import collections
import datetime
import json
import os
import random
import threading
import time
from typing import Any, Dict, List, Optional, Tuple, Union

from mt5mesh.gateway.terminal import api

DateLike = Union[datetime.datetime, int, float]

HISTORY_TICKS = 200000  # per symbol: ticks older than this fall off the paper history
DEALS_KEPT = 100000  # the account file keeps this many of the newest deals
DIGITS = {"JPY": 3, "XAU": 2}


def _seconds(date):
    if isinstance(date, datetime.datetime):
        if date.tzinfo is None:
            date = date.replace(tzinfo=datetime.timezone.utc)
        return date.timestamp()
    return float(date)


class PaperTerminal:
    """One paper account on a random-walk market. Thread-safe (rpyc serves calls from threads)."""

    def __init__(self, symbols, rate=100.0, seed=42, balance=10000.0, leverage=100, slippage_points=0,
                 clock=time.time, burst=1, account_file=None):
        self.symbols = list(symbols)
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.clock = clock
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.connected = False
        self.error = (api.RES_S_OK, "Success")
        self.selected = set()
        self.leverage = int(leverage)
        self.slippage_points = int(slippage_points)
        self.balance = float(balance)
        self.mid = {s: 1.0 + 0.1 * i if "JPY" not in s else 150.0 + i for i, s in enumerate(self.symbols)}
        self.history = {s: collections.deque(maxlen=HISTORY_TICKS) for s in self.symbols}
        self.keys = {s: collections.deque(maxlen=HISTORY_TICKS) for s in self.symbols}  # time_msc per tick
        self.start = None
        self.generated = 0
        self.positions = collections.OrderedDict()
        self.deals = []
        self.tickets = iter(range(100001, 10 ** 12))
        self.account_file = account_file
        if account_file and os.path.exists(account_file):
            self._load_account()

    # --- the account on disk (like a real account, it outlives the gateway) ------------------
    # One appended line per fill: the deal, the position as it now stands (or its ticket when
    # closed), the balance and the next ticket. Not fsynced: a kill keeps it (page cache); for a
    # paper account a power loss costing its last trades is acceptable.
    def _load_account(self):
        positions, deals = collections.OrderedDict(), collections.deque(maxlen=DEALS_KEPT)
        with open(self.account_file, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                    deal = api.TradeDeal(*rec["deal"])
                except (ValueError, TypeError, KeyError):
                    continue  # a line torn by a kill: that fill never got its reply out either
                deals.append(deal)
                if rec.get("position"):
                    positions[rec["position"][0]] = api.TradePosition(*rec["position"])
                else:
                    positions.pop(rec.get("closed"), None)
                self.balance = float(rec["balance"])
                self.tickets = iter(range(int(rec["next_ticket"]), 10 ** 12))
        self.positions, self.deals = positions, list(deals)

    def _save_fill(self, deal, position, closed, next_ticket):
        if len(self.deals) > 2 * DEALS_KEPT:
            self.deals = self.deals[-DEALS_KEPT:]
        line = json.dumps({"deal": list(deal), "position": list(position) if position else None, "closed": closed,
                           "balance": self.balance, "next_ticket": next_ticket})
        with open(self.account_file, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    # --- session --------------------------------------------------------------------
    def initialize(self, path: Optional[str] = None, *, login: Optional[int] = None, password: Optional[str] = None,
                   server: Optional[str] = None, timeout: Optional[int] = None, portable: bool = False) -> bool:
        with self.lock:
            self.connected = True
            if self.start is None:
                self.start = self.clock()
            self.error = (api.RES_S_OK, "Success")
            return True

    def shutdown(self) -> None:
        with self.lock:
            self.connected = False

    def last_error(self) -> Tuple[int, str]:
        return self.error

    def _known(self, symbol):
        """Connected and the symbol exists; otherwise last_error() says which (MT5's own codes)."""
        if not self._need():
            return False
        if symbol not in self.mid:
            self.error = (api.RES_E_NOT_FOUND, "Terminal: Not found")
            return False
        return True

    def _need(self):
        if not self.connected:
            self.error = (api.RES_E_INTERNAL_FAIL_INIT, "IPC initialize failed, MetaTrader 5 x64 not found")
            return False
        return True

    # --- market ---------------------------------------------------------------------
    def _advance(self):
        """Generate the ticks due by now (at most one second's worth at once)."""
        now = self.clock()
        target = int((now - self.start) * self.rate)
        n = min(target - self.generated, max(1, int(self.rate)))
        if n <= 0:
            return
        self.generated = target
        msc = int(now * 1000)
        for i in range(n):
            symbol = self.symbols[self.rng.randrange(len(self.symbols))]
            m = self.mid[symbol] = max(0.0001, self.mid[symbol] * (1.0 + self.rng.gauss(0.0, 0.00005)))
            digits = self._digits(symbol)
            half = max(m * 0.00005, 10 ** -digits)
            # Ticks of one call spread over the last millisecond(s), `burst` to a millisecond.
            t_msc = max(msc - (n - 1 - i) // self.burst, self.keys[symbol][-1] if self.keys[symbol] else 0)
            tick = api.Tick(t_msc // 1000, round(m - half, digits), round(m + half, digits), 0.0, 0, t_msc,
                            api.TICK_FLAG_BID | api.TICK_FLAG_ASK, 0.0)
            self.history[symbol].append(tick)
            self.keys[symbol].append(t_msc)

    @staticmethod
    def _digits(symbol):
        for key, digits in DIGITS.items():
            if key in symbol:
                return digits
        return 5

    def symbol_info(self, symbol: str) -> Optional[api.SymbolInfo]:
        with self.lock:
            if not self._known(symbol):
                return None
            self._advance()
            last = self._last(symbol)
            digits = self._digits(symbol)
            return api.SymbolInfo(symbol, symbol in self.selected, symbol in self.selected, digits, 10 ** -digits,
                                  100.0 if "XAU" in symbol else 100000.0, api.SYMBOL_TRADE_MODE_FULL, 0.01, 100.0,
                                  0.01, last.bid, last.ask, symbol[:3], symbol[3:6], "paper " + symbol)

    def symbol_select(self, symbol: str, enable: bool = True) -> bool:
        with self.lock:
            if not self._known(symbol):
                return False
            (self.selected.add if enable else self.selected.discard)(symbol)
            return True

    def _last(self, symbol):
        if not self.history[symbol]:
            m, digits = self.mid[symbol], self._digits(symbol)
            msc = int(self.clock() * 1000)
            return api.Tick(msc // 1000, round(m, digits), round(m, digits), 0.0, 0, msc, 0, 0.0)
        return self.history[symbol][-1]

    def symbol_info_tick(self, symbol: str) -> Optional[api.Tick]:
        with self.lock:
            if not self._known(symbol):
                return None
            self._advance()
            return self._last(symbol)

    def copy_ticks_from(self, symbol: str, date_from: DateLike, count: int, flags: int) -> Optional[List[api.Tick]]:
        with self.lock:
            if not self._known(symbol):
                return None
            self._advance()
            keys = self.keys[symbol]
            i = bisect.bisect_left(keys, int(round(_seconds(date_from) * 1000)))
            hist = self.history[symbol]
            return [hist[j] for j in range(i, min(len(hist), i + int(count)))]

    def copy_ticks_range(self, symbol: str, date_from: DateLike, date_to: DateLike,
                         flags: int) -> Optional[List[api.Tick]]:
        with self.lock:
            if not self._known(symbol):
                return None
            self._advance()
            keys, hist = self.keys[symbol], self.history[symbol]
            lo = bisect.bisect_left(keys, int(round(_seconds(date_from) * 1000)))
            hi = bisect.bisect_right(keys, int(round(_seconds(date_to) * 1000)))
            return [hist[j] for j in range(lo, hi)]

    # --- account and trading ----------------------------------------------------------
    def terminal_info(self) -> Optional[api.TerminalInfo]:
        return api.TerminalInfo(False, False, self.connected, False, True, False, False, False, False, False, 4000,
                                100000, 0, 0, 0.0, 0.0, "mt5mesh", "paper terminal", "en", "", "", "")

    def _profit(self, p):
        last = self._last(p.symbol)
        size = self._contract(p.symbol) * p.volume
        return round((last.bid - p.price_open) * size if p.type == api.POSITION_TYPE_BUY
                     else (p.price_open - last.ask) * size, 2)

    def _floating(self):
        """Profit of all open positions at the current quotes."""
        return sum(self._profit(p) for p in self.positions.values())

    def _contract(self, symbol):
        return 100.0 if "XAU" in symbol else 100000.0

    def _margin(self):
        return round(sum(self._contract(p.symbol) * p.volume * p.price_open / self.leverage
                         for p in self.positions.values()), 2)

    def account_info(self) -> Optional[api.AccountInfo]:
        with self.lock:
            if not self._need():
                return None
            self._advance()
            profit = round(self._floating(), 2)
            equity, margin = round(self.balance + profit, 2), self._margin()
            return api.AccountInfo(5000001, api.ACCOUNT_TRADE_MODE_DEMO, self.leverage, 0, 0, True, True, 2, 2, False,
                                   round(self.balance, 2), 0.0, profit, equity, margin, round(equity - margin, 2),
                                   round(100.0 * equity / margin, 2) if margin else 0.0, 50.0, 30.0, 0.0, 0.0, 0.0,
                                   0.0, 0.0, "paper", "mt5mesh-paper", "USD", "mt5mesh")

    def positions_get(self, *, symbol: Optional[str] = None, group: Optional[str] = None,
                      ticket: Optional[int] = None) -> Optional[Tuple[api.TradePosition, ...]]:
        with self.lock:
            if not self._need():
                return None
            self._advance()
            out = []
            for p in self.positions.values():
                if (symbol is None or p.symbol == symbol) and (ticket is None or p.ticket == ticket):
                    out.append(p._replace(price_current=self._last(p.symbol).bid, profit=self._profit(p)))
            return tuple(out)

    def positions_total(self) -> int:
        with self.lock:
            return len(self.positions)

    def orders_get(self, *, symbol: Optional[str] = None, group: Optional[str] = None,
                   ticket: Optional[int] = None) -> Tuple[()]:
        return ()  # market orders only: nothing stays pending

    def history_deals_get(self, date_from: Optional[DateLike] = None, date_to: Optional[DateLike] = None, *,
                          group: Optional[str] = None, ticket: Optional[int] = None,
                          position: Optional[int] = None) -> Tuple[api.TradeDeal, ...]:
        with self.lock:
            lo = _seconds(date_from) if date_from is not None else 0.0
            hi = _seconds(date_to) if date_to is not None else float("inf")
            # ticket= selects by ORDER ticket (DEAL_ORDER), as the official function does. Order
            # tickets rise with time: one order's deal is found by bisection, not a scan.
            deals = self.deals
            if ticket is not None:
                i = bisect.bisect_left(deals, ticket, key=lambda d: d.order)
                deals = deals[i:i + 1]
            return tuple(d for d in deals
                         if lo <= d.time <= hi and (ticket is None or d.order == ticket)
                         and (position is None or d.position_id == position))

    def _check(self, request):
        """(retcode, comment, fill price) for a market request, without executing it."""
        symbol, volume = request.get("symbol"), request.get("volume")
        market = (api.ORDER_TYPE_BUY, api.ORDER_TYPE_SELL)
        if request.get("action") != api.TRADE_ACTION_DEAL or request.get("type") not in market:
            return api.TRADE_RETCODE_INVALID, "Invalid request", 0.0
        if symbol not in self.mid:
            return api.TRADE_RETCODE_INVALID, "Unknown symbol", 0.0
        if not isinstance(volume, (int, float)) or isinstance(volume, bool) or not 0.01 <= volume <= 100.0 \
                or abs(round(volume / 0.01) * 0.01 - volume) > 1e-9:
            return api.TRADE_RETCODE_INVALID_VOLUME, "Invalid volume", 0.0
        if symbol not in self.selected:
            return api.TRADE_RETCODE_MARKET_CLOSED, "Market closed (symbol not selected)", 0.0
        last = self._last(symbol)
        point = 10 ** -self._digits(symbol)
        slip = self.slippage_points * point
        price = last.ask + slip if request["type"] == api.ORDER_TYPE_BUY else last.bid - slip
        closing = request.get("position") in self.positions
        if not closing:
            need = self._contract(symbol) * volume * price / self.leverage
            if self.balance + self._floating() - self._margin() < need:
                return api.TRADE_RETCODE_NO_MONEY, "No money", 0.0
        return api.TRADE_RETCODE_DONE, "Request executed", round(price, self._digits(symbol))

    def order_check(self, request: Dict[str, Any]) -> Optional[api.OrderCheckResult]:
        with self.lock:
            if not self._need():
                return None
            self._advance()
            retcode, comment, _price = self._check(request)
            equity = self.balance + self._floating()
            margin = self._margin()
            return api.OrderCheckResult(0 if retcode == api.TRADE_RETCODE_DONE else retcode, round(self.balance, 2),
                                        round(equity, 2), 0.0, margin, round(equity - margin, 2), 0.0, comment,
                                        dict(request))

    def order_send(self, request: Dict[str, Any]) -> Optional[api.OrderSendResult]:
        with self.lock:
            if not self._need():
                return None
            self._advance()
            retcode, comment, price = self._check(request)
            last = self._last(request.get("symbol")) if request.get("symbol") in self.mid else None
            bid, ask = (last.bid, last.ask) if last else (0.0, 0.0)
            if retcode != api.TRADE_RETCODE_DONE:
                return api.OrderSendResult(retcode, 0, 0, 0.0, 0.0, bid, ask, comment, 0, 0, dict(request))
            order, deal = next(self.tickets), next(self.tickets)
            now = self.clock()
            volume = float(request["volume"])
            position = self.positions.get(request.get("position"))
            if position is not None:
                volume = min(volume, position.volume)
                size = self._contract(position.symbol) * volume
                profit = round((price - position.price_open) * size if position.type == api.POSITION_TYPE_BUY
                               else (position.price_open - price) * size, 2)
                self.balance += profit
                left = round(position.volume - volume, 2)
                if left > 0:
                    self.positions[position.ticket] = position._replace(volume=left)
                else:
                    del self.positions[position.ticket]
                entry, pos_id = api.DEAL_ENTRY_OUT, position.ticket
            else:
                profit, entry, pos_id = 0.0, api.DEAL_ENTRY_IN, order
                self.positions[order] = api.TradePosition(
                    order, int(now), int(now * 1000), int(now), int(now * 1000), request["type"],
                    int(request.get("magic", 0)), order, 3, volume, price, float(request.get("sl", 0.0)),
                    float(request.get("tp", 0.0)), price, 0.0, 0.0, request["symbol"], str(request.get("comment", "")), "")
            self.deals.append(api.TradeDeal(deal, order, int(now), int(now * 1000), request["type"], entry,
                                            int(request.get("magic", 0)), pos_id, 3, volume, price, 0.0, 0.0, profit,
                                            0.0, request["symbol"], str(request.get("comment", "")), ""))
            if self.account_file:
                kept = self.positions.get(pos_id)
                self._save_fill(self.deals[-1], kept, None if kept else pos_id, deal + 1)
            return api.OrderSendResult(retcode, deal, order, volume, price, bid, ask, comment, 0, 0, dict(request))
