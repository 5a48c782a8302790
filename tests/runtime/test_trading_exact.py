"""trading.py, exactly: every field of every reply and trade event, the request each command sends
the terminal, the counters, and the reads, with the strict terminal in process (a broker's rules,
a UTC+2 server clock) on a fixed clock (so prices are known). What a client and nexus see must not drift silently."""

import pytest

from mt5mesh.gateway import trading
from mt5mesh.gateway.orderlog import OrderLog, OrderLogDamaged
from mt5mesh.gateway.terminal import api
from mt5mesh.gateway.terminal.strict import StrictTerminal
from mt5mesh.gateway.trading import Limits, Trader
from mt5mesh.wire import protocol

BUY = {"cmd": "order_send", "symbol": "EURUSD", "side": "buy", "volume": 0.1}
T0 = 1767139200.0
T = T0 + 0.5  # the terminal's clock once the market has a spread: also the order log's clock
OFFSET = 7200  # the trade server's clock is UTC+2, as the gateway learns it from ticks


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def make(enabled=True, clock=lambda: 0.0, allow_insecure=True, orders=None, **limits):
    """A trader on the strict terminal; anonymous peers may trade (allow_insecure) unless told."""
    clock_ = Clock()
    mt5 = StrictTerminal(seed=1, clock=clock_, server_offset=OFFSET)
    mt5.initialize()
    for s in ("EURUSD", "GBPUSD"):
        mt5.symbol_select(s, True)
    clock_.now += 0.5  # a market with a spread; the clock then stands still, so prices are known
    sent, events = [], []
    real_send = mt5.order_send

    def order_send(request):
        sent.append(dict(request))
        return real_send(request)
    mt5.order_send = order_send
    orders = orders if orders is not None else OrderLog(clock=clock_)
    t = Trader(mt5, lambda symbol, fields: events.append((symbol, fields)), orders, enabled, Limits(**limits),
               clock=clock, allow_insecure=allow_insecure)
    t.utc_offset = lambda: OFFSET  # what the gateway's tick source learned
    return t, mt5, sent, events


def deal(mt5, ticket):
    """The terminal's deal of this DEAL ticket (history_deals_get(ticket=) takes an order's)."""
    return next(d for d in mt5.deals if d.ticket == ticket)


COUNTERS = {"orders": 0, "retried": 0, "refused": 0, "unknown": 0, "unauthorized": 0}


ANONYMOUS_ORDER_SEND = ("order_send changes the account: it needs an authenticated CURVE client (this gateway runs "
                        "without CURVE; anonymous trading needs both --trading and --allow-insecure-trading)")


def test_a_fill_reply_and_its_event_carry_exactly_the_terminals_deal():
    t, mt5, sent, events = make()
    info = mt5.symbol_info("EURUSD")
    got = t.handle(dict(BUY, id="a", magic=7, sl=0.5, comment="strat"))
    d = deal(mt5, got["deal"])
    ref = t.orders.ref("a")
    assert got == {"ok": True, "retcode": 10009, "retcode_name": "TRADE_RETCODE_DONE", "order": d.order, "deal": d.ticket,
                   "position": d.position_id, "price": d.price, "volume": 0.1, "client_ref": ref}
    assert sent == [{"action": api.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": api.ORDER_TYPE_BUY,
                     "price": info.ask, "sl": 0.5, "tp": 0.0, "deviation": 10, "magic": 7, "comment": "strat",
                     "type_time": api.ORDER_TIME_GTC, "type_filling": api.ORDER_FILLING_FOK}]
    assert events == [("EURUSD", {"trade": "fill", "cmd": "order_send", "client_ref": ref, "side": "buy", "retcode": 10009,
                                  "retcode_name": "TRADE_RETCODE_DONE", "order": d.order, "deal": d.ticket,
                                  "position": d.position_id, "price": d.price, "volume": 0.1, "entry": "in",
                                  "profit": d.profit, "time_msc": d.time_msc - OFFSET * 1000,
                                  "terminal_time_msc": d.time_msc,
                                  "magic": 7})]
    fp = trading.fingerprint(dict(BUY, id="a", magic=7, sl=0.5, comment="strat"))
    assert t.orders.state.replies == {"a": [fp, got, T]} and t.orders.state.intents == {}
    assert (t.counters, dict(t.by_retcode)) == (dict(COUNTERS, orders=1), {10009: 1})


def test_the_client_ref_is_the_salted_sha256_of_the_key_cut_to_16_hex():
    t, _mt5, _sent, events = make()
    got = t.handle(dict(BUY, id="a"))
    salt = t.orders.state.salt
    assert len(salt) == 32 and int(salt, 16) >= 0
    assert got["client_ref"] == trading.hashlib.sha256((salt + "\na").encode("utf-8")).hexdigest()[:16]
    assert events[0][1]["client_ref"] == got["client_ref"]
    other = OrderLog()
    assert other.state.salt != salt and other.ref("a") != t.orders.ref("a")


def test_a_sell_is_priced_at_the_bid_with_the_callers_deviation_and_tp():
    t, mt5, sent, _events = make()
    info = mt5.symbol_info("GBPUSD")
    t.handle({"cmd": "order_send", "id": "1", "symbol": "GBPUSD", "side": "sell", "volume": 0.2, "deviation": 3,
              "tp": 0.5})
    assert sent[0]["type"] == api.ORDER_TYPE_SELL and sent[0]["price"] == info.bid
    assert (sent[0]["deviation"], sent[0]["tp"], sent[0]["sl"], sent[0]["volume"]) == (3, 0.5, 0.0, 0.2)


def test_a_terminal_reject_is_an_error_naming_mt5s_retcode_and_a_reject_event():
    t, _mt5, _sent, events = make(max_volume=100)
    got = t.handle(dict(BUY, id="big", volume=100.0))  # 100 lots on a 10 000 balance
    ref = t.orders.ref("big")
    assert got == {"ok": False, "retcode": 10019, "retcode_name": "TRADE_RETCODE_NO_MONEY", "order": 0, "deal": 0,
                   "position": 0, "price": 0.0, "volume": 0.0,
                   "error": "terminal refused the order: TRADE_RETCODE_NO_MONEY (There is not enough money to complete the request)", "client_ref": ref}
    assert events == [("EURUSD", {"trade": "reject", "cmd": "order_send", "client_ref": ref, "side": "buy",
                                  "retcode": 10019, "retcode_name": "TRADE_RETCODE_NO_MONEY", "order": 0, "deal": 0,
                                  "position": 0, "price": 0.0, "volume": 0.0,
                                  "error": "terminal refused the order: TRADE_RETCODE_NO_MONEY (There is not enough money to complete the request)"})]
    assert dict(t.by_retcode) == {10019: 1}


def test_a_terminal_that_answers_nothing_is_an_unknown_outcome_with_its_last_error():
    t, mt5, _sent, events = make()
    mt5.order_send = lambda request: None
    got = t.handle(dict(BUY, id="n"))
    ref = t.orders.ref("n")
    assert got == {"ok": False, "retcode": None, "retcode_name": None, "error": "terminal: order_send failed: %s"
                   % (mt5.last_error(),), "client_ref": ref}
    assert events == [("EURUSD", {"trade": "unknown", "cmd": "order_send", "client_ref": ref, "side": "buy",
                                  "error": got["error"]})]
    assert dict(t.by_retcode) == {"none": 1}


def test_a_terminal_that_raises_is_an_unknown_outcome_named_exactly():
    t, mt5, _sent, events = make()

    def broken(request):
        raise ConnectionError("rpyc link lost")
    mt5.order_send = broken
    got = t.handle(dict(BUY, id="x"))
    ref = t.orders.ref("x")
    assert got == {"ok": False, "retcode": None, "retcode_name": None, "client_ref": ref,
                   "error": "terminal call failed (ConnectionError: rpyc link lost); the outcome is unknown: check positions"}
    assert events == [("EURUSD", {"trade": "unknown", "cmd": "order_send", "client_ref": ref, "side": "buy",
                                  "error": got["error"]})]
    assert t.counters == dict(COUNTERS, orders=1, unknown=1) and t.orders.state.intents == {}
    assert t.orders.state.replies == {"x": [trading.fingerprint(dict(BUY, id="x")), got, T]}


def test_an_order_close_that_raises_before_any_symbol_is_published_as_unknown():
    t, mt5, sent, events = make()

    def broken(**kw):
        raise ConnectionError("gone")
    mt5.positions_get = broken
    got = t.handle({"cmd": "order_close", "id": "k", "position": 5})
    ref = t.orders.ref("k")
    assert got == {"ok": False, "retcode": None, "retcode_name": None, "client_ref": ref,
                   "error": "terminal call failed (ConnectionError: gone); the outcome is unknown: check positions"}
    # No symbol and no side in an order_close: the event goes to UNKNOWN, without a side.
    assert events == [("UNKNOWN", {"trade": "unknown", "cmd": "order_close", "client_ref": ref, "error": got["error"]})]
    assert sent == [] and t.counters == dict(COUNTERS, orders=1, unknown=1)


def test_a_close_all_whose_positions_read_raises_sends_keeps_and_publishes_nothing():
    # close_all reads its positions before the intent is written: a raising read leaves no entry,
    # so nothing can be reported unknown; it is a plain refusal naming the error.
    t, mt5, sent, events = make()
    t.handle(dict(BUY, id="1"))
    sent.clear(), events.clear()

    def broken(**kw):
        raise ConnectionError("gone")
    mt5.positions_get = broken
    assert t.handle({"cmd": "close_all", "id": "k"}) == {"ok": False, "error": "close_all: terminal: ConnectionError: gone"}
    assert sent == [] and events == [] and t.counters == dict(COUNTERS, orders=1, refused=1)
    assert list(t.orders.state.replies) == ["1"] and t.orders.state.intents == {}


def test_an_id_reused_for_another_request_is_refused_naming_it_and_nothing_is_sent():
    t, _mt5, sent, _events = make()
    t.handle(dict(BUY, id="a"))
    assert t.handle(dict(BUY, id="a", volume=0.2)) == {"ok": False, "error": "id a was already used for a different request"}
    assert len(sent) == 1 and t.counters["retried"] == 0
    longest = "b" * 128  # the longest id the protocol lets through, named whole
    assert t.handle(dict(BUY, id=longest, volume=0.2))["ok"]
    assert t.handle(dict(BUY, id=longest))["error"] == "id %s was already used for a different request" % longest
    assert len(sent) == 2 and t.counters == dict(COUNTERS, orders=2)


def test_an_unknown_outcome_after_a_restart_is_kept_and_counted(tmp_path):
    clock = Clock()
    before = OrderLog(path=str(tmp_path), clock=clock)
    assert before.load() is False
    before.reply("done", "fp", {"ok": True})
    before.intent("lost")  # the gateway dies here: the order reached the terminal, its reply was never written
    before.close()
    orders = OrderLog(path=str(tmp_path), clock=clock)
    assert orders.load() is True
    assert (orders.state.replies, orders.state.intents) == ({"done": ["fp", {"ok": True}, T0]}, {"lost": T0})
    assert orders.ref("lost") == before.ref("lost")  # the salt outlives the restart
    t, _mt5, sent, _events = make(orders=orders)
    got = t.handle(dict(BUY, id="lost"))
    assert got == {"ok": False, "retcode": None, "retcode_name": None, "client_ref": orders.ref("lost"),
                   "error": "order lost reached the terminal before a gateway restart and its outcome is unknown; "
                            "it was not sent again: check positions and history_deals"}
    assert sent == [] and t.counters == dict(COUNTERS, unknown=1) and orders.state.intents == {}
    fp = trading.fingerprint(dict(BUY, id="lost"))
    assert list(orders.state.replies.items()) == [("done", ["fp", {"ok": True}, T0]), ("lost", [fp, got, T0])]
    assert t.handle(dict(BUY, id="lost")) is got and sent == [] and t.counters == dict(COUNTERS, unknown=1, retried=1)
    orders.close()
    after = OrderLog(path=str(tmp_path), clock=clock)
    after.load()
    assert (after.state.replies["lost"], after.state.intents) == ([fp, got, T0], {})


def test_refusals_name_the_command_and_count():
    t, _mt5, sent, _events = make(symbols=("EURUSD",), allow_insecure=False)
    assert t.handle(dict(BUY, id="1")) == {"ok": False, "error": ANONYMOUS_ORDER_SEND}
    got = t.handle(dict(BUY, id="1", symbol="GBPUSD"), client="K")
    assert got == {"ok": False, "error": "order_send: 'symbol' GBPUSD is not among the symbols allowed to trade (EURUSD)"}
    t.enabled = False
    assert t.handle(dict(BUY, id="2"), client="K") == {"ok": False, "error": "trading is disabled on this gateway"}
    assert t.handle(dict(BUY, id="3")) == {"ok": False, "error": "trading is disabled on this gateway"}
    assert sent == [] and t.counters == dict(COUNTERS, refused=3, unauthorized=1)
    assert t.orders.state.replies == {} and t.orders.state.intents == {}


def test_a_damaged_order_log_stops_trading_but_not_reads(tmp_path):
    (tmp_path / "orders.snap").write_bytes(b"00000000 S {}\n")
    orders = OrderLog(path=str(tmp_path))
    with pytest.raises(OrderLogDamaged, match="^orders.snap line 1 fails its checksum$"):
        orders.load()
    t, _mt5, sent, events = make(orders=orders)
    for req in (dict(BUY, id="1"), {"cmd": "close_all", "id": "2"}):
        assert t.handle(req, client="K") == {
            "ok": False, "error": "%s refused: trading is stopped because the order log is damaged "
                                  "(orders.snap line 1 fails its checksum); the terminal was not asked" % req["cmd"]}
    assert sent == [] and events == [] and t.counters == dict(COUNTERS, refused=2)
    assert t.handle({"cmd": "orders"}) == {"ok": True, "orders": []}
    assert t.state()["order_log"] == {"kept": 0, "intents": 0, "ok": False, "error": "orders.snap line 1 fails its checksum",
                                      "log_bytes": 0, "retention_s": 86400.0}


def test_the_rate_window_is_one_second_from_the_oldest_order_per_client_and_per_kind():
    now = [10.0]
    t, mt5, _sent, _events = make(max_orders_per_s=1, clock=lambda: now[0])
    assert t.handle(dict(BUY, id="1"))["ok"]
    now[0] = 10.999
    assert t.handle(dict(BUY, id="2")) == {"ok": False, "error": "order_send: more than 1 orders per second"}
    assert t.handle(dict(BUY, id="2"), client="K")["ok"]  # another client: its own budget
    now[0] = 11.0
    assert t.handle(dict(BUY, id="3"))["ok"]  # the refused "2" took no budget
    got = t.handle({"cmd": "close_all", "id": "4"})  # close_all: its own budget, untouched by orders
    assert got["ok"] and len(got["closed"]) == 3 and mt5.positions_get() == ()
    now[0] = 11.999
    assert t.handle({"cmd": "close_all", "id": "5"}) == {
        "ok": False, "error": "close_all: more than 1 close_all requests per second"}
    assert t.handle({"cmd": "close_all", "id": "5"}, client="K") == {
        "ok": True, "retcode": 10009, "retcode_name": "TRADE_RETCODE_DONE", "closed": [], "failed": []}
    now[0] = 12.0
    assert t.handle(dict(BUY, id="6"))["ok"]
    assert t.counters == dict(COUNTERS, orders=5, refused=2)


def test_order_close_sends_the_opposite_side_at_the_right_price_and_reports_the_out_deal():
    t, mt5, sent, events = make()
    opened = t.handle(dict(BUY, id="1", volume=0.3, magic=9))
    info = mt5.symbol_info("EURUSD")
    got = t.handle({"cmd": "order_close", "id": "2", "position": opened["position"], "volume": 0.1, "deviation": 4})
    d = deal(mt5, got["deal"])
    assert sent[-1] == {"action": api.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": api.ORDER_TYPE_SELL,
                        "position": opened["position"], "price": info.bid, "deviation": 4, "magic": 9,
                        "comment": "mt5mesh close", "type_time": api.ORDER_TIME_GTC, "type_filling": api.ORDER_FILLING_FOK}
    assert got == {"ok": True, "retcode": 10009, "retcode_name": "TRADE_RETCODE_DONE", "order": d.order, "deal": d.ticket,
                   "position": opened["position"], "price": d.price, "volume": 0.1, "client_ref": t.orders.ref("2")}
    assert events[-1][1]["side"] == "sell" and events[-1][1]["entry"] == "out" and "magic" not in events[-1][1]
    assert events[-1][1]["client_ref"] == t.orders.ref("2") != t.orders.ref("1") == events[0][1]["client_ref"]


def test_order_close_of_more_than_the_position_is_refused_with_mt5s_retcode():
    t, _mt5, sent, _events = make()
    opened = t.handle(dict(BUY, id="1"))
    got = t.handle({"cmd": "order_close", "id": "2", "position": opened["position"], "volume": 0.5})
    assert got == {"ok": False, "retcode": 10014, "retcode_name": "TRADE_RETCODE_INVALID_VOLUME",
                   "error": "order_close: 'volume' 0.5 is more than the position's 0.1", "client_ref": t.orders.ref("2")}
    got = t.handle({"cmd": "order_close", "id": "3", "position": 999})
    assert got == {"ok": False, "retcode": 10036, "retcode_name": "TRADE_RETCODE_POSITION_CLOSED",
                   "error": "order_close: 'position' 999 is not open", "client_ref": t.orders.ref("3")}
    assert len(sent) == 1 and len(t.orders.state.replies) == 3


def test_close_all_lists_each_closed_position_exactly_and_filters_by_symbol_and_magic():
    t, mt5, _sent, _events = make()
    a = t.handle(dict(BUY, id="1", magic=5))
    t.handle(dict(BUY, id="2", symbol="GBPUSD", magic=5))
    t.handle(dict(BUY, id="3", magic=6))
    got = t.handle({"cmd": "close_all", "id": "4", "symbol": "EURUSD", "magic": 5})
    d = deal(mt5, got["closed"][0]["deal"])
    assert got == {"ok": True, "retcode": 10009, "retcode_name": "TRADE_RETCODE_DONE", "failed": [],
                   "closed": [{"position": a["position"], "symbol": "EURUSD", "volume": 0.1, "price": d.price,
                               "retcode": 10009, "retcode_name": "TRADE_RETCODE_DONE", "deal": d.ticket}],
                   "client_ref": t.orders.ref("4")}
    assert sorted((p.symbol, p.magic) for p in mt5.positions_get()) == [("EURUSD", 6), ("GBPUSD", 5)]


def test_close_all_reports_each_failure_with_its_error_and_the_first_failures_retcode():
    t, mt5, _sent, _events = make()
    t.handle(dict(BUY, id="1"))
    pos = t.handle(dict(BUY, id="2", symbol="GBPUSD"))["position"]
    real = mt5.order_send

    def flaky(request):
        if request["symbol"] == "GBPUSD":
            raise ConnectionError("link lost")
        return real(request)
    mt5.order_send = flaky
    got = t.handle({"cmd": "close_all", "id": "3"})
    assert got["ok"] is False and got["client_ref"] == t.orders.ref("3") and len(got["closed"]) == 1
    assert got["retcode"] is None and got["retcode_name"] is None
    assert got["failed"] == [{"position": pos, "symbol": "GBPUSD", "volume": 0.1, "price": None, "retcode": None,
                              "retcode_name": None, "deal": None, "error": "ConnectionError: link lost"}]


def test_close_all_when_the_terminal_cannot_list_positions_names_the_call():
    t, mt5, sent, events = make()
    t.handle(dict(BUY, id="1"))
    sent.clear(), events.clear()
    mt5.positions_get = lambda **kw: None
    got = t.handle({"cmd": "close_all", "id": "2"})
    assert got == {"ok": False, "error": "close_all: terminal: positions_get failed: %s" % (mt5.last_error(),)}
    # Read before the intent: nothing sent, nothing kept, so a retry may still close.
    assert sent == [] and events == [] and t.counters == dict(COUNTERS, orders=1, refused=1)
    assert list(t.orders.state.replies) == ["1"] and t.orders.state.intents == {}


def test_reads_return_exactly_the_terminals_fields():
    t, mt5, _sent, _events = make()
    a = mt5.account_info()
    assert t.handle({"cmd": "account"}) == {"ok": True, "login": a.login, "server": a.server, "currency": a.currency,
                                            "balance": a.balance, "equity": a.equity, "margin": a.margin,
                                            "margin_free": a.margin_free, "leverage": a.leverage}
    i = mt5.symbol_info("EURUSD")
    assert t.handle({"cmd": "symbol_info", "symbol": "EURUSD"}) == {
        "ok": True, "symbol": "EURUSD", "digits": i.digits, "point": i.point, "volume_min": i.volume_min,
        "volume_max": i.volume_max, "volume_step": i.volume_step, "contract_size": i.trade_contract_size,
        "trade_mode": i.trade_mode, "bid": i.bid, "ask": i.ask}
    assert t.handle({"cmd": "symbol_info", "symbol": "NOPE"}) == {
        "ok": False, "error": "symbol_info: 'symbol' NOPE is unknown to the terminal"}
    assert t.handle({"cmd": "orders"}) == {"ok": True, "orders": []}
    assert t.handle({"cmd": "orders", "symbol": "EURUSD"}) == {"ok": True, "orders": []}


def test_positions_and_deals_read_exactly_with_their_filters():
    t, mt5, _sent, _events = make()
    b = t.handle(dict(BUY, id="1", magic=3, comment="c"))
    s = t.handle({"cmd": "order_send", "id": "2", "symbol": "GBPUSD", "side": "sell", "volume": 0.2})
    p = mt5.positions_get(ticket=b["position"])[0]
    mine = {"ticket": p.ticket, "symbol": "EURUSD", "type": "buy", "volume": 0.1, "price_open": p.price_open, "sl": 0.0,
            "tp": 0.0, "profit": p.profit, "magic": 3, "comment": "c"}
    assert t.handle({"cmd": "positions", "magic": 3}) == {"ok": True, "positions": [mine]}
    assert t.handle({"cmd": "positions", "symbol": "EURUSD"}) == {"ok": True, "positions": [mine]}
    assert [x["type"] for x in t.handle({"cmd": "positions"})["positions"]] == ["buy", "sell"]
    d = deal(mt5, s["deal"])
    got = t.handle({"cmd": "history_deals", "from": T0 - 10, "to": T0 + 10})
    assert got["ok"] and got["deals"][-1] == {"ticket": d.ticket, "order": d.order, "position": d.position_id,
                                              "symbol": "GBPUSD", "type": "sell", "entry": "in", "volume": 0.2, "commission": 0.0,
                                              "price": d.price, "profit": 0.0, "time_msc": d.time_msc - OFFSET * 1000,
                                              "swap": 0.0, "comment": "", "terminal_time_msc": d.time_msc}
    assert got["more"] is False and got["next_ticket"] == d.ticket
    assert t.handle({"cmd": "history_deals", "from": T0 + 100, "to": T0 + 200}) == {
        "ok": True, "deals": [], "more": False, "next_ticket": 0}
    assert t.handle({"cmd": "history_deals", "from": T0 + 100, "to": T0 + 200, "from_ticket": 7}) == {
        "ok": True, "deals": [], "more": False, "next_ticket": 7}


def test_a_read_the_terminal_fails_names_the_call_and_its_error():
    t, mt5, _sent, _events = make()
    mt5.account_info = lambda: None
    mt5.orders_get = lambda **kw: None
    mt5.history_deals_get = lambda *a, **kw: None
    mt5.positions_get = lambda **kw: None
    err = mt5.last_error()
    assert t.handle({"cmd": "account"}) == {"ok": False, "error": "terminal: account_info failed: %s" % (err,)}
    assert t.handle({"cmd": "orders"}) == {"ok": False, "error": "terminal: orders_get failed: %s" % (err,)}
    assert t.handle({"cmd": "positions"}) == {"ok": False, "error": "terminal: positions_get failed: %s" % (err,)}
    assert t.handle({"cmd": "history_deals", "from": 0, "to": 1}) == {
        "ok": False, "error": "terminal: history_deals_get failed: %s" % (err,)}


def test_history_deals_asks_the_terminal_for_whole_seconds_of_its_own_clock():
    t, mt5, _sent, _events = make()
    asked = []
    mt5.history_deals_get = lambda *a, **kw: asked.append(a) or ()
    t.utc_offset = lambda: 7200  # a UTC+2 trade server
    t.handle({"cmd": "history_deals", "from": 0.5, "to": 86400.2})
    assert asked == [(7200, 86401 + 7200)] and all(type(x) is int for x in asked[0])  # pylint: disable=unidiomatic-typecheck


def test_history_deals_pages_in_ticket_order_from_a_ticket_with_more_and_next_ticket(monkeypatch):
    t, mt5, _sent, _events = make()
    tickets = [t.handle(dict(BUY, id=str(i)))["deal"] for i in range(3)]
    real = mt5.history_deals_get
    mt5.history_deals_get = lambda *a, **kw: tuple(reversed(real(*a, **kw)))  # the terminal's order is not the page's
    rows = [trading._deal(deal(mt5, ticket), OFFSET) for ticket in tickets]
    sizes = [len(protocol.encode(row)) + 1 for row in rows]
    span = {"cmd": "history_deals", "from": T0 - 10, "to": T0 + 10}
    assert t.handle(span) == {"ok": True, "deals": rows, "more": False, "next_ticket": tickets[2]}
    expected = {"ok": True, "deals": rows[1:], "more": False, "next_ticket": tickets[2]}
    assert t.handle(dict(span, from_ticket=tickets[0])) == expected
    expected = {"ok": True, "deals": [], "more": False, "next_ticket": tickets[2]}
    assert t.handle(dict(span, from_ticket=tickets[2])) == expected
    monkeypatch.setattr(protocol, "MAX_DEALS_BYTES", sizes[0] + sizes[1])  # two rows fit exactly
    assert t.handle(span) == {"ok": True, "deals": rows[:2], "more": True, "next_ticket": tickets[1]}
    expected = {"ok": True, "deals": rows[2:], "more": False, "next_ticket": tickets[2]}
    assert t.handle(dict(span, from_ticket=tickets[1])) == expected
    monkeypatch.setattr(protocol, "MAX_DEALS_BYTES", sizes[0] + sizes[1] - 1)
    assert t.handle(span) == {"ok": True, "deals": rows[:1], "more": True, "next_ticket": tickets[0]}
    monkeypatch.setattr(protocol, "MAX_DEALS_BYTES", 1)  # a page never comes back empty while deals remain
    expected = {"ok": True, "deals": rows[1:2], "more": True, "next_ticket": tickets[1]}
    assert t.handle(dict(span, from_ticket=tickets[0])) == expected


def test_state_and_limits_are_reported_exactly():
    t, _mt5, _sent, _events = make(symbols=["EURUSD"], max_volume=2, max_positions=3, max_orders_per_s=4)
    t.handle(dict(BUY, id="1"))
    t.handle(dict(BUY, id="2"), client="K")
    assert t.state() == {"orders": 2, "retried": 0, "refused": 0, "unknown": 0, "unauthorized": 0, "enabled": True,
                         "kept": 2, "allow_insecure": True,
                         "limits": {"symbols": ["EURUSD"], "max_volume": 2.0, "max_positions": 3, "max_orders_per_s": 4},
                         "order_log": {"kept": 2, "intents": 0, "ok": True, "error": None, "log_bytes": 0,
                                       "retention_s": 86400.0}}
    assert Limits().as_dict() == {"symbols": [], "max_volume": 0.0, "max_positions": 0, "max_orders_per_s": 0}
    assert Trader(None, None).enabled is False and Trader(None, None, enabled=1).enabled is True
    assert Trader(None, None).allow_insecure is False and Trader(None, None, allow_insecure=1).allow_insecure is True
    assert Trader(None, None).orders.path is None and Trader(None, None).state()["unauthorized"] == 0


def test_a_fill_whose_deal_cannot_be_read_still_stands():
    t, mt5, _sent, events = make()

    def broken(*a, **kw):
        raise ConnectionError("x")
    mt5.history_deals_get = broken
    got = t.handle(dict(BUY, id="1"))
    assert got["ok"] and got["position"] == 0 and events[0][1]["trade"] == "fill" and "entry" not in events[0][1]


def test_retcode_names_fall_back_to_the_number():
    assert trading.retcode_name(10009) == "TRADE_RETCODE_DONE" and trading.retcode_name(1) == "TRADE_RETCODE_1"


def test_the_fingerprint_ignores_only_the_id():
    assert trading.fingerprint(dict(BUY, id="1")) == trading.fingerprint(dict(BUY, id="2"))
    assert trading.fingerprint(dict(BUY, id="1")) != trading.fingerprint(dict(BUY, id="1", volume=0.2))
    assert len(trading.fingerprint(BUY)) == 16


@pytest.mark.parametrize("volume", [0.01, 100.0])
def test_volume_edges_of_the_symbol_are_allowed(volume):
    info = api.SymbolInfo("EURUSD", True, True, 5, 0.00001, 100000.0, 4, 0.01, 100.0, 0.01, 1.1000, 1.1002,
                          "EUR", "USD", "")
    assert trading.order_problem(dict(BUY, volume=volume), info, Limits(), 0) is None


def test_pending_orders_are_read_exactly_with_the_symbol_filter_passed_on():
    import collections
    Order = collections.namedtuple("Order", "ticket symbol type volume_current price_open sl tp magic comment")
    Bare = collections.namedtuple("Bare", "ticket symbol type price_open sl tp magic comment")  # no volume_current
    t, mt5, _sent, _events = make()
    asked = []

    def orders_get(**kw):
        asked.append(kw)
        return (Order(5, "EURUSD", 2, 0.3, 1.05, 1.0, 1.2, 8, "limit"), Bare(6, "EURUSD", 3, 1.3, 0.0, 0.0, 0, ""))
    mt5.orders_get = orders_get
    got = t.handle({"cmd": "orders", "symbol": "EURUSD"})
    assert asked == [{"symbol": "EURUSD"}]
    assert got == {"ok": True, "orders": [
        {"ticket": 5, "symbol": "EURUSD", "type": 2, "volume": 0.3, "price_open": 1.05, "sl": 1.0, "tp": 1.2, "magic": 8,
         "comment": "limit"},
        {"ticket": 6, "symbol": "EURUSD", "type": 3, "volume": 0.0, "price_open": 1.3, "sl": 0.0, "tp": 0.0, "magic": 0,
         "comment": ""}]}
    t.handle({"cmd": "orders"})
    assert asked[-1] == {}
