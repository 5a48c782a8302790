"""Trading through the gateway: account commands, and orders sent to the terminal at most once
per client id.

The exactly-once rule: a trading command's ``id`` (with the CURVE client's key, when CURVE is on)
is its key. The first time a key is seen the intent is fsynced to the order log
(mt5mesh.gateway.orderlog), the order goes to the terminal once, and the reply is kept there by
time. A retry with the same key gets that reply again and nothing is sent; a key reused for a
different request is refused; a key whose intent is in the log without a reply (the gateway died
between the two) is never re-sent: its outcome is reported unknown. When the intent cannot be
written (a full disk), the order is refused before the terminal sees it.

Who may change the account: a CURVE-authenticated client; without CURVE, anyone only when the
gateway runs with both --trading and --allow-insecure-trading (docs/security.md).

Every outcome the terminal gave (fill or reject) is published as a ``trade.<SYMBOL>`` event in
the gateway's seq stream, which nexus records in INF. Events carry ``client_ref``, a salted hash
of the key, never the client's id.
"""
import collections
import hashlib
import logging
import math
import time
from typing import Any

from mt5mesh.gateway.orderlog import OrderLog, OrderLogError
from mt5mesh.gateway.terminal import api
from mt5mesh.wire import protocol

log = logging.getLogger("mt5mesh-gateway")
DISABLED = "trading is disabled on this gateway"
ANONYMOUS = "%s changes the account: it needs an authenticated CURVE client (this gateway runs without CURVE; " \
            "anonymous trading needs both --trading and --allow-insecure-trading)"
OK_RETCODES = (api.TRADE_RETCODE_DONE, api.TRADE_RETCODE_PLACED, api.TRADE_RETCODE_DONE_PARTIAL)
# A PLACED order's deal "can arrive after the reply" (order_send's docs): looked up this many more
# times, this long apart, before the reply goes without it.
DEAL_LOOKUPS, DEAL_LOOKUP_WAIT_S = 5, 0.05
# Retcodes that say the trade server did nothing because the price moved: a market order (an open
# or a close) is sent again at the new price, CLOSE_ATTEMPTS times in all at most.
REPRICED = (api.TRADE_RETCODE_REQUOTE, api.TRADE_RETCODE_PRICE_CHANGED, api.TRADE_RETCODE_PRICE_OFF)
CLOSE_ATTEMPTS = 3
# Retcodes after which nobody knows whether the trade server acted (the request timed out, or the
# terminal lost the server): recorded as unknown, never as a reject, and never sent again.
UNKNOWN_OUTCOME = (api.TRADE_RETCODE_TIMEOUT, api.TRADE_RETCODE_CONNECTION)
# Rate-limit buckets kept at once (CURVE clients are a configured few; anonymous peers share one).
MAX_BUCKETS = 1000


class Limits:
    """Risk limits from config (0 or empty: no limit of that kind)."""

    def __init__(self, symbols=(), max_volume=0.0, max_positions=0, max_orders_per_s=0):
        self.symbols = tuple(symbols)
        self.max_volume, self.max_positions = float(max_volume), int(max_positions)
        self.max_orders_per_s = int(max_orders_per_s)

    def as_dict(self):
        return {"symbols": list(self.symbols), "max_volume": self.max_volume, "max_positions": self.max_positions,
                "max_orders_per_s": self.max_orders_per_s}


def retcode_name(retcode):
    return api.RETCODE_NAMES.get(retcode, "TRADE_RETCODE_%s" % retcode)


def order_problem(req, info, limits, open_positions):
    """Why an order_send must not reach the terminal, naming the field; None when it may (pure).

    ``info`` is the terminal's SymbolInfo (None: unknown symbol)."""
    symbol, volume = req["symbol"], req["volume"]
    if limits.symbols and symbol not in limits.symbols:
        return "'symbol' %s is not among the symbols allowed to trade (%s)" % (symbol, ", ".join(limits.symbols))
    if info is None:
        return "'symbol' %s is unknown to the terminal" % symbol
    if not info.volume_min <= volume <= info.volume_max:
        return "'volume' %g is outside %g-%g for %s" % (volume, info.volume_min, info.volume_max, symbol)
    step = info.volume_step or 0.01
    if abs(round(volume / step) * step - volume) > 1e-9:
        return "'volume' %g is not a multiple of the volume step %g" % (volume, step)
    if limits.max_volume and volume > limits.max_volume:
        return "'volume' %g exceeds the limit of %g per order" % (volume, limits.max_volume)
    if limits.max_positions and open_positions >= limits.max_positions:
        return "%d positions are open: the limit is %d" % (open_positions, limits.max_positions)
    price = info.ask if req["side"] == "buy" else info.bid
    below, above = ("sl", "tp") if req["side"] == "buy" else ("tp", "sl")
    if req.get(below) and req[below] >= price:
        return "%r %g must be below the price %g for a %s" % (below, req[below], price, req["side"])
    if req.get(above) and req[above] <= price:
        return "%r %g must be above the price %g for a %s" % (above, req[above], price, req["side"])
    return None


def fingerprint(req):
    """The request without its id: a reused id with a different request is not a retry."""
    body = {k: v for k, v in req.items() if k != "id"}
    return hashlib.sha256(protocol.encode(body)).hexdigest()[:16]


def order_key(client, req_id):
    """The exactly-once key: the id, within the authenticated client's own space (pure)."""
    return req_id if client is None else "%s %s" % (client, req_id)


def may_change_account(client, enabled, allow_insecure):
    """Whether a peer may send orders or close_all (pure): an authenticated CURVE client always
    (order_send/order_close still need --trading); an anonymous one only on a gateway run with
    both --trading and --allow-insecure-trading."""
    return client is not None or (enabled and allow_insecure)


def filling_for(info):
    """The ORDER_FILLING_* a market order on this symbol must carry, from its symbol_info (pure).

    Request and Instant execution take Fill or Kill only; otherwise the symbol's filling_mode
    bitmask says what it allows (FOK first: all or nothing, so an order is one fill); a symbol
    allowing neither takes Return (Exchange execution, the rest stays as an order)."""
    exemode = getattr(info, "trade_exemode", api.SYMBOL_TRADE_EXECUTION_MARKET)
    if exemode in (api.SYMBOL_TRADE_EXECUTION_REQUEST, api.SYMBOL_TRADE_EXECUTION_INSTANT):
        return api.ORDER_FILLING_FOK
    mask = getattr(info, "filling_mode", api.SYMBOL_FILLING_FOK | api.SYMBOL_FILLING_IOC)
    if mask & api.SYMBOL_FILLING_FOK:
        return api.ORDER_FILLING_FOK
    if mask & api.SYMBOL_FILLING_IOC:
        return api.ORDER_FILLING_IOC
    return api.ORDER_FILLING_RETURN


def label(names, value):
    """An ENUM_DEAL_TYPE / ENUM_DEAL_ENTRY value by name; one the docs do not list by number (pure)."""
    return names[value] if isinstance(value, int) and 0 <= value < len(names) else "type_%s" % value


def _position(p):
    return {"ticket": p.ticket, "symbol": p.symbol, "type": "buy" if p.type == api.POSITION_TYPE_BUY else "sell",
            "volume": p.volume, "price_open": p.price_open, "sl": p.sl, "tp": p.tp, "profit": p.profit,
            "magic": p.magic, "comment": p.comment}


def _deal(d, offset_s=0):
    """A deal as replies carry it: time_msc in UTC, the terminal's own in terminal_time_msc."""
    return {"ticket": d.ticket, "order": d.order, "position": d.position_id, "symbol": d.symbol,
            "type": label(api.DEAL_TYPE_NAMES, d.type), "entry": label(api.DEAL_ENTRY_NAMES, d.entry),
            "volume": d.volume, "price": d.price, "profit": d.profit, "commission": getattr(d, "commission", 0.0),
            "swap": getattr(d, "swap", 0.0), "comment": getattr(d, "comment", ""),
            "time_msc": d.time_msc - offset_s * 1000, "terminal_time_msc": d.time_msc}


class RateLimit:
    """At most ``per_s`` events a second per client, counted only when they happen (``take``)."""

    def __init__(self, per_s, clock):
        self.per_s, self.clock = int(per_s), clock
        self.recent = {}  # client -> deque of monotonic times

    def full(self, client):
        if not self.per_s:
            return False
        times = self.recent.get(client)
        if not times:
            return False
        now = self.clock()
        while times and now - times[0] >= 1.0:
            times.popleft()
        return len(times) >= self.per_s

    def take(self, client):
        if not self.per_s:
            return
        if client not in self.recent and len(self.recent) >= MAX_BUCKETS:
            now = self.clock()
            for c in [c for c, t in self.recent.items() if not t or now - t[-1] >= 1.0]:
                del self.recent[c]
        self.recent.setdefault(client, collections.deque()).append(self.clock())


class Trader:
    """The account and trading commands of one gateway. Owned by the broker thread."""

    def __init__(self, mt5, publish, orders=None, enabled=False, limits=None, clock=time.monotonic,
                 allow_insecure=False):
        self.mt5, self.publish = mt5, publish
        self.orders = orders if orders is not None else OrderLog()
        self.enabled, self.limits, self.clock = bool(enabled), limits or Limits(), clock
        self.allow_insecure = bool(allow_insecure)
        self.order_rate = RateLimit(self.limits.max_orders_per_s, clock)
        self.close_all_rate = RateLimit(self.limits.max_orders_per_s, clock)
        self.counters = {"orders": 0, "retried": 0, "refused": 0, "unknown": 0, "unauthorized": 0}
        # The terminal clock's offset from UTC (the tick source learns it), and what runs between
        # two terminal calls of one long command (the broker's heartbeat), both set by the gateway.
        self.utc_offset = lambda: 0
        self.idle = lambda: None
        self.sleep = time.sleep
        self.by_retcode: collections.Counter[Any] = collections.Counter()  # terminal replies by retcode (metrics)

    def state(self):
        return dict(self.counters, enabled=self.enabled, limits=self.limits.as_dict(), kept=len(self.orders.state.replies),
                    allow_insecure=self.allow_insecure, order_log=self.orders.status())

    # --- dispatch -----------------------------------------------------------------------
    def handle(self, req, client=None):
        """The reply dict (without ok/id: the broker adds them) for an account or trading command.
        ``client`` is the CURVE client's public key (z85), None for an anonymous peer."""
        cmd = req["cmd"]
        if cmd in protocol.READ_COMMANDS:
            return getattr(self, "read_" + cmd)(req)
        if not may_change_account(client, self.enabled, self.allow_insecure):
            # First, so a peer that may not trade cannot read or touch what others' ids hold.
            if cmd != "close_all" and not self.enabled:
                self.counters["refused"] += 1
                return {"ok": False, "error": DISABLED}
            self.counters["unauthorized"] += 1
            return {"ok": False, "error": ANONYMOUS % cmd}
        key, fp = order_key(client, req["id"]), fingerprint(req)
        seen = self.orders.reply_of(key)
        if seen is not None:
            if seen[0] != fp:
                return {"ok": False, "error": "id %s was already used for a different request" % req["id"]}
            self.counters["retried"] += 1
            return seen[1]
        if self.orders.has_intent(key):
            # Sent before a restart, answer never written: never send it again.
            self.counters["unknown"] += 1
            reply = {"ok": False, "retcode": None, "retcode_name": None, "client_ref": self.orders.ref(key),
                     "error": "order %s reached the terminal before a gateway restart and its outcome is unknown; "
                              "it was not sent again: check positions and history_deals" % req["id"]}
            self.orders.reply(key, fp, reply)
            return reply
        if cmd != "close_all" and not self.enabled:
            self.counters["refused"] += 1
            return {"ok": False, "error": DISABLED}
        if self.orders.damaged:
            self.counters["refused"] += 1
            return {"ok": False, "error": "%s refused: trading is stopped because the order log is damaged (%s); "
                                          "the terminal was not asked" % (cmd, self.orders.damaged)}
        try:
            problem, info = self._refusal(req, client)
        except Exception as e:  # pylint: disable=broad-except
            # Only reads so far (symbol_info, positions_get): nothing was sent, a plain refusal.
            problem, info = "terminal: %s: %s" % (type(e).__name__, str(e)[:200]), None
        if problem:
            self.counters["refused"] += 1
            return {"ok": False, "error": "%s: %s" % (cmd, problem)}
        if cmd == "close_all" and not info:
            # Nothing to close: nothing changes, so nothing is kept (a flood of these costs no memory).
            return {"ok": True, "retcode": api.TRADE_RETCODE_DONE, "retcode_name": retcode_name(api.TRADE_RETCODE_DONE),
                    "closed": [], "failed": []}
        try:
            self.orders.intent(key)
        except OrderLogError as e:
            self.counters["refused"] += 1
            log.error("order %s refused: %s", req["id"], e)
            return {"ok": False, "error": "%s refused: its intent cannot be written (%s); the terminal was not asked"
                                          % (cmd, e)}
        (self.close_all_rate if cmd == "close_all" else self.order_rate).take(client)
        try:
            reply = getattr(self, "send_" + cmd)(req, key, info)
        except Exception as e:  # pylint: disable=broad-except
            # The terminal may or may not have acted: recorded as unknown, never re-sent.
            self.counters["unknown"] += 1
            log.error("terminal call for order %s failed: %s: %s", req["id"], type(e).__name__, e)
            reply = {"ok": False, "retcode": None, "retcode_name": None,
                     "error": "terminal call failed (%s: %s); the outcome is unknown: check positions"
                              % (type(e).__name__, str(e)[:200])}
            self._event(req.get("symbol") or "UNKNOWN", key, req, "unknown", reply)
        reply["client_ref"] = self.orders.ref(key)
        self.counters["orders"] += 1
        self.by_retcode[reply.get("retcode") or "none"] += 1
        self.orders.reply(key, fp, reply)
        return reply

    def _refusal(self, req, client=None):
        """(why the command must not reach the terminal or None, what it needs): an order_send's
        SymbolInfo (read once, the order priced from it), close_all's positions. The rate limit
        is checked here and counted only once the order goes out, so refused junk costs nobody."""
        cmd = req["cmd"]
        rate = self.close_all_rate if cmd == "close_all" else self.order_rate
        if rate.full(client):
            return "more than %d %s per second" % (self.limits.max_orders_per_s,
                                                   "close_all requests" if cmd == "close_all" else "orders"), None
        if cmd == "order_send":
            info = self.mt5.symbol_info(req["symbol"])
            return order_problem(req, info, self.limits, self.mt5.positions_total()), info
        if cmd == "close_all":
            got = self._positions(req.get("symbol"), req.get("magic"))
            if got is None:
                return "terminal: positions_get failed: %s" % (self.mt5.last_error(),), None
            return None, got
        return None, None

    # --- read-only commands ---------------------------------------------------------------
    def _terminal_error(self, what):
        return {"ok": False, "error": "terminal: %s failed: %s" % (what, self.mt5.last_error())}

    def read_account(self, req):
        a = self.mt5.account_info()
        if a is None:
            return self._terminal_error("account_info")
        return {"ok": True, "login": a.login, "server": a.server, "currency": a.currency, "balance": a.balance,
                "equity": a.equity, "margin": a.margin, "margin_free": a.margin_free, "leverage": a.leverage}

    def _positions(self, symbol=None, magic=None):
        got = self.mt5.positions_get(symbol=symbol) if symbol else self.mt5.positions_get()
        if got is None:
            return None
        return [p for p in got if magic is None or p.magic == magic]

    def read_positions(self, req):
        got = self._positions(req.get("symbol"), req.get("magic"))
        if got is None:
            return self._terminal_error("positions_get")
        return {"ok": True, "positions": [_position(p) for p in got]}

    def read_orders(self, req):
        got = self.mt5.orders_get(symbol=req["symbol"]) if req.get("symbol") else self.mt5.orders_get()
        if got is None:
            return self._terminal_error("orders_get")
        return {"ok": True, "orders": [{"ticket": o.ticket, "symbol": o.symbol, "type": o.type,
                                        "volume": getattr(o, "volume_current", 0.0), "price_open": o.price_open,
                                        "sl": o.sl, "tp": o.tp, "magic": o.magic, "comment": o.comment} for o in got]}

    def read_symbol_info(self, req):
        i = self.mt5.symbol_info(req["symbol"])
        if i is None:
            return {"ok": False, "error": "symbol_info: 'symbol' %s is unknown to the terminal" % req["symbol"]}
        return {"ok": True, "symbol": i.name, "digits": i.digits, "point": i.point, "volume_min": i.volume_min,
                "volume_max": i.volume_max, "volume_step": i.volume_step, "contract_size": i.trade_contract_size,
                "trade_mode": i.trade_mode, "bid": i.bid, "ask": i.ask}

    def read_history_deals(self, req):
        """Deals of [from, to], ticket order, one page of at most MAX_DEALS_BYTES: ``more`` says
        whether to ask again with ``from_ticket`` = ``next_ticket`` (docs/protocol.md)."""
        # The window is UTC; the terminal's is its server's clock, in whole seconds (plain ints).
        offset = self.utc_offset()
        got = self.mt5.history_deals_get(int(req["from"]) + offset, int(math.ceil(req["to"])) + offset)
        if got is None:
            return self._terminal_error("history_deals_get")
        after = req.get("from_ticket", 0)
        deals: list[Any] = []
        size, more = 0, False
        for d in sorted((d for d in got if d.ticket > after), key=lambda d: d.ticket):
            row = _deal(d, offset)
            size += len(protocol.encode(row)) + 1
            if size > protocol.MAX_DEALS_BYTES and deals:
                more = True
                break
            deals.append(row)
        return {"ok": True, "deals": deals, "more": more, "next_ticket": deals[-1]["ticket"] if deals else after}

    # --- orders -----------------------------------------------------------------------------
    def _send(self, key, req, request, side):
        """One order_send to the terminal; the reply, and its trade event."""
        result = self.mt5.order_send(request)
        if result is None:
            reply = {"ok": False, "retcode": None, "retcode_name": None,
                     "error": "terminal: order_send failed: %s" % (self.mt5.last_error(),)}
            self._event(request["symbol"], key, req, "unknown", reply, side)
            return reply
        ok = result.retcode in OK_RETCODES
        deal = self._deal_of(result) if ok else None
        reply = {"ok": ok, "retcode": result.retcode, "retcode_name": retcode_name(result.retcode),
                 "order": result.order, "deal": deal.ticket if deal else result.deal,
                 "position": deal.position_id if deal else request.get("position", 0), "price": result.price,
                 "volume": result.volume}
        if deal is not None and not reply["price"]:
            reply["price"] = deal.price  # a PLACED order's reply carries no price; its deal does
        if result.retcode in UNKNOWN_OUTCOME:
            reply["error"] = ("terminal answered %s (%s): the outcome is unknown and the order is not sent again; "
                              "check positions and history_deals" % (reply["retcode_name"], result.comment))
        elif not ok:
            reply["error"] = "terminal refused the order: %s (%s)" % (reply["retcode_name"], result.comment)
        outcome = "fill" if reply["deal"] else "placed" if ok else "unknown" if result.retcode in UNKNOWN_OUTCOME \
            else "reject"
        self._event(request["symbol"], key, req, outcome, reply, side, deal)
        return reply

    def _deal_of(self, result):
        """The deal of an accepted order: history_deals_get(ticket=ORDER) selects deals by their
        order (DEAL_ORDER), so by the order's ticket, never the deal's. A PLACED order, or a
        DONE one without a deal yet, is asked again a few times: its deal can come later."""
        if not result.order:
            return None
        for attempt in range(DEAL_LOOKUPS + 1):
            try:
                got = self.mt5.history_deals_get(ticket=int(result.order))
            except Exception:  # pylint: disable=broad-except
                got = None  # the fill stands; only its details are missing from the event
            if got:
                return next((d for d in got if d.ticket == result.deal), got[-1])
            if attempt < DEAL_LOOKUPS:
                self.idle()
                self.sleep(DEAL_LOOKUP_WAIT_S)
        return None

    def _event(self, symbol, key, req, outcome, reply, side=None, deal=None):
        fields = {"trade": outcome, "cmd": req["cmd"], "client_ref": self.orders.ref(key), "side": side or req.get("side")}
        for name in ("retcode", "retcode_name", "order", "deal", "position", "price", "volume"):
            if reply.get(name) is not None:
                fields[name] = reply[name]
        if deal is not None:
            fields.update(entry=label(api.DEAL_ENTRY_NAMES, deal.entry), profit=deal.profit,
                          time_msc=deal.time_msc - self.utc_offset() * 1000, terminal_time_msc=deal.time_msc)
        if req.get("magic") is not None:
            fields["magic"] = req["magic"]
        if "error" in reply:
            fields["error"] = reply["error"][:500]
        if fields["side"] is None:
            del fields["side"]
        self.publish(symbol, fields)

    def _send_at_market(self, key, req, symbol, side, info, fields):
        """A market order at the current price. A requote (Instant and Request execution) or a
        changed price means the trade server did nothing: the order is sent again at the new
        price, at most CLOSE_ATTEMPTS times, so a moving market does not refuse a market order
        (or stop a kill switch). Each answer is published as its own trade event."""
        buy = side == "buy"
        for attempt in range(CLOSE_ATTEMPTS):
            if attempt:
                self.idle()
                info = self.mt5.symbol_info(symbol)
            request = dict(fields, action=api.TRADE_ACTION_DEAL, symbol=symbol,
                           type=api.ORDER_TYPE_BUY if buy else api.ORDER_TYPE_SELL,
                           price=(info.ask if buy else info.bid) if info else 0.0, type_time=api.ORDER_TIME_GTC,
                           type_filling=filling_for(info))
            reply = self._send(key, req, request, side)
            if reply.get("retcode") not in REPRICED:
                break
        return reply

    def send_order_send(self, req, key, info):
        fields = {"volume": float(req["volume"]), "sl": float(req.get("sl", 0.0)), "tp": float(req.get("tp", 0.0)),
                  "deviation": int(req.get("deviation", 10)), "magic": int(req.get("magic", 0)),
                  "comment": req.get("comment", "")}
        return self._send_at_market(key, req, req["symbol"], req["side"], info, fields)

    def _close(self, key, req, p, volume=None):
        fields = {"volume": float(volume or p.volume), "position": p.ticket, "deviation": int(req.get("deviation", 10)),
                  "magic": p.magic, "comment": "mt5mesh close"}
        side = "sell" if p.type == api.POSITION_TYPE_BUY else "buy"
        return self._send_at_market(key, req, p.symbol, side, self.mt5.symbol_info(p.symbol), fields)

    def send_order_close(self, req, key, _info=None):
        got = self.mt5.positions_get(ticket=req["position"])
        if not got:
            return {"ok": False, "retcode": api.TRADE_RETCODE_POSITION_CLOSED,
                    "retcode_name": retcode_name(api.TRADE_RETCODE_POSITION_CLOSED),
                    "error": "order_close: 'position' %d is not open" % req["position"]}
        volume = req.get("volume")
        if volume is not None and volume > got[0].volume:
            return {"ok": False, "retcode": api.TRADE_RETCODE_INVALID_VOLUME,
                    "retcode_name": retcode_name(api.TRADE_RETCODE_INVALID_VOLUME),
                    "error": "order_close: 'volume' %g is more than the position's %g" % (volume, got[0].volume)}
        return self._close(key, req, got[0], volume)

    def send_close_all(self, req, key, got):
        closed, failed = [], []
        for i, p in enumerate(got):
            if i:
                self.idle()  # one order after another at the trade server's pace: heartbeats go on
            try:
                r = self._close(key, req, p)
            except Exception as e:  # pylint: disable=broad-except
                r = {"ok": False, "retcode": None, "error": "%s: %s" % (type(e).__name__, e)}
            entry = {"position": p.ticket, "symbol": p.symbol, "volume": p.volume, "price": r.get("price"),
                     "retcode": r.get("retcode"), "retcode_name": r.get("retcode_name"), "deal": r.get("deal")}
            if r["ok"]:
                closed.append(entry)
            else:
                failed.append(dict(entry, error=r.get("error")))
        retcode = failed[0]["retcode"] if failed else api.TRADE_RETCODE_DONE
        reply = {"ok": not failed, "retcode": retcode, "retcode_name": retcode_name(retcode) if retcode else None,
                 "closed": closed, "failed": failed}
        if failed:
            reply["error"] = "close_all: %d of %d positions are still open; the first: position %s: %s" % (
                len(failed), len(got), failed[0]["position"], failed[0].get("error"))
        return reply
