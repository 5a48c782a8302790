"""Trading decisions on plain data (order_problem, the wire checks) and the exactly-once rule
with the strict terminal in process (a broker's rules, no sockets)."""
import pytest

from mt5mesh.gateway import orderlog
from mt5mesh.gateway.orderlog import OrderLog
from mt5mesh.gateway.terminal import api
from mt5mesh.gateway.terminal.strict import StrictTerminal
from mt5mesh.gateway.trading import DISABLED, Limits, Trader, order_problem
from mt5mesh.wire import protocol

INFO = api.SymbolInfo("EURUSD", True, True, 5, 0.00001, 100000.0, 4, 0.01, 100.0, 0.01, 1.1000, 1.1002,
                      "EUR", "USD", "")
BUY = {"cmd": "order_send", "symbol": "EURUSD", "side": "buy", "volume": 0.1}


@pytest.mark.parametrize("change,words", [
    ({"volume": 0.015}, "not a multiple of the volume step"),
    ({"volume": 200.0}, "outside 0.01-100"),
    ({"volume": 0.001}, "outside 0.01-100"),
    ({"sl": 1.1005}, "'sl' 1.1005 must be below the price 1.1002"),
    ({"tp": 1.0}, "'tp' 1 must be above the price 1.1002"),
    ({"side": "sell", "sl": 1.0}, "'sl' 1 must be above the price 1.1"),
    ({"side": "sell", "tp": 1.2}, "'tp' 1.2 must be below the price 1.1"),
])
def test_order_problem_names_the_field_and_the_cause(change, words):
    assert words in order_problem(dict(BUY, **change), INFO, Limits(), 0)


def test_order_problem_refuses_an_unknown_symbol_and_a_symbol_not_allowed():
    assert "unknown to the terminal" in order_problem(BUY, None, Limits(), 0)
    assert "not among the symbols allowed" in order_problem(BUY, INFO, Limits(symbols=("GBPUSD",)), 0)


def test_order_problem_enforces_max_volume_and_max_positions():
    assert "exceeds the limit of 0.05" in order_problem(BUY, INFO, Limits(max_volume=0.05), 0)
    assert "3 positions are open: the limit is 3" in order_problem(BUY, INFO, Limits(max_positions=3), 3)
    assert order_problem(dict(BUY, sl=1.09, tp=1.2), INFO, Limits(max_volume=1, max_positions=3), 2) is None


@pytest.mark.parametrize("req,field", [
    (dict(BUY, volume=float("nan")), "'volume'"), (dict(BUY, volume=-0.1), "'volume'"),
    (dict(BUY, volume=True), "'volume'"), (dict(BUY, side="long"), "'side'"), (dict(BUY, symbol="EUR\nUSD"), "'symbol'"),
    (dict(BUY, sl=float("inf")), "'sl'"), (dict(BUY, comment="x" * 40), "'comment'"),
    (dict(BUY, magic=-1), "'magic'"), (dict(BUY, deviation=1.5), "'deviation'"),
    ({"cmd": "order_close", "position": 0}, "'position'"), ({"cmd": "history_deals", "from": 5, "to": 1}, "'from'"),
    ({"cmd": "symbol_info"}, "'symbol'"),
])
def test_trade_request_problem_names_the_bad_field(req, field):
    assert field in protocol.trade_request_problem(dict(req, id="1"))


def test_a_trading_command_without_an_id_is_refused():
    assert "needs an 'id'" in protocol.trade_request_problem(dict(BUY))
    assert protocol.trade_request_problem({"cmd": "positions"}) is None


def trader(enabled=True, orders=None, clock=None, **limits):
    """A trader on the strict terminal (a broker's rules, UTC+2); anonymous peers may trade (allow_insecure)."""
    mt5 = StrictTerminal(seed=1)
    mt5.initialize()
    for s in ("EURUSD", "GBPUSD"):
        mt5.symbol_select(s, True)
    events = []
    more = {} if clock is None else {"clock": clock}
    t = Trader(mt5, lambda symbol, fields: events.append((symbol, fields)), orders if orders is not None else OrderLog(),
               enabled, Limits(**limits), allow_insecure=True, **more)
    return t, mt5, events


def test_a_retry_with_the_same_id_is_answered_from_memory_and_not_sent_again():
    t, mt5, events = trader()
    first = t.handle(dict(BUY, id="a"))
    again = t.handle(dict(BUY, id="a"))
    assert first["ok"] and again is first and len(mt5.positions_get()) == 1 and mt5.calls["order_send"] == 1
    assert len(events) == 1 and events[0][1]["trade"] == "fill" and t.counters["retried"] == 1


def _records(path):
    with open(path / orderlog.LOG, "rb") as f:
        return [orderlog.parse(line) for line in f]


def test_the_intent_is_fsynced_before_the_terminal_and_the_reply_written_after_without_its_own_fsync(tmp_path, monkeypatch):
    clock = iter([100.0, 101.0, 102.0]).__next__
    orders = OrderLog(path=str(tmp_path), clock=clock)
    orders.load()
    t, mt5, _events = trader(orders=orders)
    synced, on_disk_at_send = [], []
    real_fsync, real_send = orderlog.os.fsync, mt5.order_send
    monkeypatch.setattr(orderlog.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))

    def order_send(request):
        on_disk_at_send.append((_records(tmp_path), len(synced)))
        return real_send(request)
    mt5.order_send = order_send
    got = t.handle(dict(BUY, id="a"))
    fp = t.orders.reply_of("a")[0]
    assert on_disk_at_send == [([(b"I", ["a", 100.0])], 1)] and synced == [orders._fd]
    assert _records(tmp_path) == [(b"I", ["a", 100.0]), (b"R", ["a", fp, got, 101.0])]


def test_an_intent_left_by_a_restart_is_never_sent_again():
    t, mt5, _events = trader()
    t.orders.state.intents["lost"] = t.orders.clock()
    got = t.handle(dict(BUY, id="lost"))
    assert not got["ok"] and "outcome is unknown" in got["error"] and mt5.positions_get() == ()
    assert t.handle(dict(BUY, id="lost")) is got


def test_a_terminal_that_raises_mid_order_gives_unknown_and_no_resend():
    t, mt5, events = trader()

    def broken(request):
        raise ConnectionError("rpyc link lost")
    mt5.order_send = broken
    got = t.handle(dict(BUY, id="x"))
    assert not got["ok"] and "outcome is unknown" in got["error"] and events[-1][1]["trade"] == "unknown"
    assert t.handle(dict(BUY, id="x")) is got


def test_trading_off_refuses_orders_but_close_all_still_flattens():
    t, mt5, _events = trader()
    assert t.handle(dict(BUY, id="1"))["ok"]
    t.enabled = False
    assert t.handle(dict(BUY, id="2"), client="K") == {"ok": False, "error": DISABLED}
    assert t.handle({"cmd": "order_close", "id": "3", "position": 1}, client="K")["error"] == DISABLED
    got = t.handle({"cmd": "close_all", "id": "4"}, client="K")
    assert got["ok"] and len(got["closed"]) == 1 and mt5.positions_get() == ()


def test_the_orders_per_second_limit_refuses_the_order_past_it():
    now = [0.0]
    t, _mt5, _events = trader(max_orders_per_s=2, clock=lambda: now[0])
    assert t.handle(dict(BUY, id="1"))["ok"] and t.handle(dict(BUY, id="2"))["ok"]
    assert "more than 2 orders per second" in t.handle(dict(BUY, id="3"))["error"]
    now[0] = 1.0
    assert t.handle(dict(BUY, id="4"))["ok"]


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_a_reply_is_still_kept_after_10050_other_keys():
    clock = Clock(1000.0)
    t, mt5, events = trader(orders=OrderLog(clock=clock))
    first = t.handle(dict(BUY, id="first"))
    for i in range(10050):  # more than the old count bound of 10 000: no flood pushes a fill out
        clock.now += 1.0
        t.handle({"cmd": "order_close", "id": "c%d" % i, "position": 424242})
    assert len(t.orders.state.replies) == 10051 and next(iter(t.orders.state.replies)) == "first"
    assert t.handle(dict(BUY, id="first")) is first
    assert len(mt5.positions_get()) == 1 and mt5.calls["order_send"] == 1 and len(events) == 1 and t.counters["retried"] == 1


def test_a_reply_expires_only_after_retention_s():
    clock = Clock(1000.0)
    orders = OrderLog(clock=clock, retention_s=60)
    t, mt5, _events = trader(orders=orders)
    first = t.handle(dict(BUY, id="first"))
    clock.now = 1030.0
    t.handle(dict(BUY, id="second"))
    clock.now = 1060.0  # exactly retention_s later: still kept
    orders.maintain()
    assert list(orders.state.replies) == ["first", "second"] and t.handle(dict(BUY, id="first")) is first
    assert len(mt5.positions_get()) == 2
    clock.now = 1060.001
    orders.maintain()
    assert list(orders.state.replies) == ["second"] and t.state()["kept"] == 1
    assert orders.reply_of("first") is None and orders.reply_of("second")[1]["ok"] is True


def test_order_close_of_a_position_that_is_not_open_says_so_with_mt5s_retcode():
    t, _mt5, _events = trader()
    got = t.handle({"cmd": "order_close", "id": "1", "position": 424242})
    assert not got["ok"] and got["retcode"] == 10036 and "424242 is not open" in got["error"]


def test_a_partial_close_leaves_the_rest_open():
    t, mt5, _events = trader()
    opened = t.handle(dict(BUY, id="1", volume=0.3))
    got = t.handle({"cmd": "order_close", "id": "2", "position": opened["position"], "volume": 0.1})
    assert got["ok"] and [p.volume for p in mt5.positions_get()] == [0.2]
