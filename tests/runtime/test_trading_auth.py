"""Who may change the account, each client's own id space, and the order log's part in refusing
orders: trading.py with the strict terminal in process (a broker's rules; no sockets, no CURVE: ``client`` is the
public key CURVE would hand the broker, None an anonymous peer)."""
import json
import os
import re

import pytest

from mt5mesh.gateway import trading
from mt5mesh.gateway.orderlog import LOG, OrderLog, OrderLogError
from mt5mesh.gateway.terminal import api
from mt5mesh.gateway.terminal.strict import StrictTerminal
from mt5mesh.gateway.trading import DISABLED, Limits, Trader
from mt5mesh.wire import protocol

BUY = {"cmd": "order_send", "symbol": "EURUSD", "side": "buy", "volume": 0.1}
KEY_A = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  # CURVE public keys, as z85
KEY_B = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
DONE_NOTHING = {"ok": True, "retcode": 10009, "retcode_name": "TRADE_RETCODE_DONE", "closed": [], "failed": []}
COUNTERS = {"orders": 0, "retried": 0, "refused": 0, "unknown": 0, "unauthorized": 0}


def anonymous(cmd):
    return {"ok": False, "error": "%s changes the account: it needs an authenticated CURVE client (this gateway runs "
                                  "without CURVE; anonymous trading needs both --trading and --allow-insecure-trading)"
                                  % cmd}


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def make(enabled=True, allow_insecure=False, positions=0, orders=None, clock=None, **limits):
    """A trader on the strict terminal with ``positions`` EURUSD buys already open (made on the
    terminal itself); ``sent`` records what the trader asks the terminal to do from then on."""
    mt5 = StrictTerminal(seed=1, clock=Clock(1767139200.0))
    mt5.initialize()
    for s in ("EURUSD", "GBPUSD"):
        mt5.symbol_select(s, True)
    mt5.clock.now += 0.5
    for _i in range(positions):  # EURUSD is Instant execution: Fill or Kill at the current price
        assert mt5.order_send({"action": api.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                               "type": api.ORDER_TYPE_BUY, "price": mt5.symbol_info("EURUSD").ask,
                               "type_filling": api.ORDER_FILLING_FOK}).retcode == api.TRADE_RETCODE_DONE
    sent, events = [], []
    real_send = mt5.order_send

    def order_send(request):
        sent.append(dict(request))
        return real_send(request)
    mt5.order_send = order_send
    more = {} if clock is None else {"clock": clock}
    t = Trader(mt5, lambda symbol, fields: events.append((symbol, fields)), orders if orders is not None else OrderLog(),
               enabled, Limits(**limits), allow_insecure=allow_insecure, **more)
    return t, mt5, sent, events


def tickets(mt5):
    return [p.ticket for p in mt5.positions_get()]


def no_entry(t):
    return t.orders.state.replies == {} and t.orders.state.intents == {}


@pytest.mark.parametrize("allow_insecure", [False, True])
def test_anonymous_close_all_and_order_send_are_refused_when_trading_is_off_and_positions_stay_open(allow_insecure):
    t, mt5, sent, events = make(enabled=False, allow_insecure=allow_insecure, positions=2)
    before = tickets(mt5)
    assert len(before) == 2
    for i in range(3):  # a retry is refused the same way: a refusal leaves no entry to answer it from
        assert t.handle({"cmd": "close_all", "id": "c%d" % i}) == anonymous("close_all")
        assert t.handle({"cmd": "close_all", "id": "s%d" % i, "symbol": "EURUSD"}) == anonymous("close_all")
        assert t.handle(dict(BUY, id="o%d" % i)) == {"ok": False, "error": DISABLED}
        assert t.handle({"cmd": "order_close", "id": "p%d" % i, "position": before[0]}) == {"ok": False, "error": DISABLED}
    assert tickets(mt5) == before and sent == [] and events == [] and no_entry(t)
    assert t.counters == dict(COUNTERS, unauthorized=6, refused=6)


@pytest.mark.parametrize("enabled,allow_insecure", [(False, False), (False, True), (True, False), (True, True)])
def test_anonymous_peers_change_the_account_only_with_trading_and_allow_insecure_both_on(enabled, allow_insecure):
    t, mt5, sent, _events = make(enabled=enabled, allow_insecure=allow_insecure, positions=1)
    opened = tickets(mt5)
    closing = t.handle({"cmd": "close_all", "id": "c"})
    buying = t.handle(dict(BUY, id="b"))
    if enabled and allow_insecure:
        assert closing["ok"] and [c["position"] for c in closing["closed"]] == opened
        assert buying["ok"] and tickets(mt5) == [buying["position"]] and len(sent) == 2
        assert list(t.orders.state.replies) == ["c", "b"] and t.counters == dict(COUNTERS, orders=2)
        return
    assert closing == anonymous("close_all")
    assert buying == ({"ok": False, "error": DISABLED} if not enabled else anonymous("order_send"))
    assert tickets(mt5) == opened and sent == [] and no_entry(t)
    assert t.counters == dict(COUNTERS, unauthorized=1 if not enabled else 2, refused=1 if not enabled else 0)


def test_may_change_account_is_a_curve_client_or_trading_and_allow_insecure_both_on():
    assert [trading.may_change_account(None, e, a) for e, a in ((0, 0), (0, 1), (1, 0), (1, 1))] == \
        [False, False, False, True]
    assert all(trading.may_change_account("K", e, a) for e, a in ((0, 0), (0, 1), (1, 0), (1, 1)))
    assert trading.may_change_account("", False, False) is True  # a key, however odd, is not anonymity


def test_a_curve_client_may_close_all_with_trading_off():
    t, mt5, sent, _events = make(enabled=False, allow_insecure=False, positions=2)
    before = tickets(mt5)
    got = t.handle({"cmd": "close_all", "id": "flat"}, client=KEY_A)
    assert got["ok"] and [c["position"] for c in got["closed"]] == before and got["failed"] == []
    assert mt5.positions_get() == () and [r["position"] for r in sent] == before
    assert list(t.orders.state.replies) == [KEY_A + " flat"] and got["client_ref"] == t.orders.ref(KEY_A + " flat")
    assert t.handle(dict(BUY, id="b"), client=KEY_A) == {"ok": False, "error": DISABLED}
    assert len(sent) == 2 and t.counters == dict(COUNTERS, orders=1, refused=1)


def test_the_same_id_from_two_curve_clients_is_two_keys():
    t, mt5, sent, events = make()
    a = t.handle(dict(BUY, id="a"), client=KEY_A)
    b = t.handle(dict(BUY, id="a", volume=0.2), client=KEY_B)  # another client's "a": not a reused id
    assert a["ok"] and b["ok"] and sorted(p.volume for p in mt5.positions_get()) == [0.1, 0.2] and len(sent) == 2
    assert list(t.orders.state.replies) == [KEY_A + " a", KEY_B + " a"]
    assert trading.order_key(KEY_A, "a") == KEY_A + " a" and trading.order_key(None, "a") == "a"
    assert a["client_ref"] != b["client_ref"] and [e[1]["client_ref"] for e in events] == [a["client_ref"], b["client_ref"]]
    assert t.handle(dict(BUY, id="a"), client=KEY_A) is a and t.handle(dict(BUY, id="a", volume=0.2), client=KEY_B) is b
    assert t.handle(dict(BUY, id="a"), client=KEY_B) == {"ok": False, "error": "id a was already used for a different request"}
    assert len(sent) == 2 and t.counters == dict(COUNTERS, orders=2, retried=2)


def test_ids_777_as_a_number_and_777_as_a_string_cannot_both_fill():
    t, mt5, sent, _events = make(allow_insecure=True)
    replies = []
    for req_id in (777, "777", 777.0, "777", 777):  # a client that re-serialises its id on a retry
        req = dict(BUY, id=req_id)
        try:
            protocol.check_request(req)
        except protocol.ProtocolError as e:
            assert (str(e), e.request) == ("'id' must be a string of 1-128 characters from A-Z a-z 0-9 . _ : -", req)
            replies.append(None)
            continue
        replies.append(t.handle(req))
    assert replies[0] is replies[2] is replies[4] is None and replies[1]["ok"] and replies[3] is replies[1]
    assert len(sent) == 1 and len(mt5.positions_get()) == 1 and list(t.orders.state.replies) == ["777"]
    assert t.counters == dict(COUNTERS, orders=1, retried=1)


def test_close_all_with_nothing_to_close_answers_done_and_leaves_no_entry(tmp_path):
    orders = OrderLog(path=str(tmp_path))
    orders.load()
    t, mt5, sent, events = make(allow_insecure=True, positions=1, orders=orders)
    for i in range(1000):  # a flood of these costs neither memory nor the order log
        assert t.handle({"cmd": "close_all", "id": "n%d" % i, "symbol": "GBPUSD"}) == DONE_NOTHING
        assert t.handle({"cmd": "close_all", "id": "m%d" % i, "magic": 99}, client=KEY_A) == DONE_NOTHING
    assert no_entry(t) and os.path.getsize(tmp_path / LOG) == 0 and orders.status()["log_bytes"] == 0
    assert sent == [] and events == [] and len(mt5.positions_get()) == 1
    assert t.counters == COUNTERS and dict(t.by_retcode) == {}


def test_close_all_with_nothing_to_close_takes_no_rate_budget():
    t, mt5, sent, _events = make(allow_insecure=True, positions=1, max_orders_per_s=1, clock=lambda: 5.0)
    for i in range(5):
        assert t.handle({"cmd": "close_all", "id": "n%d" % i, "symbol": "GBPUSD"}) == DONE_NOTHING
    got = t.handle({"cmd": "close_all", "id": "all"})
    assert got["ok"] and len(got["closed"]) == 1 and mt5.positions_get() == () and len(sent) == 1
    assert t.handle({"cmd": "close_all", "id": "again"}) == {
        "ok": False, "error": "close_all: more than 1 close_all requests per second"}


def test_refused_junk_orders_do_not_use_the_rate_budget():
    now = [5.0]
    t, mt5, sent, _events = make(allow_insecure=True, max_orders_per_s=10, max_volume=1, clock=lambda: now[0])
    junk = [dict(BUY, symbol="NOPE"), dict(BUY, volume=0.015), dict(BUY, volume=2.0), dict(BUY, sl=5.0),
            dict(BUY, tp=0.5)]
    for i in range(250):  # all in one second: had they counted, the next 25 seconds would be refused
        got = t.handle(dict(junk[i % 5], id="junk%d" % i))
        assert got["ok"] is False and got["error"].startswith("order_send: '")
    assert t.counters == dict(COUNTERS, refused=250) and sent == []
    fills = []
    for i in range(10):  # ten valid orders at ten distinct instants of the same second: the whole budget
        now[0] = 5.0 + i / 10
        fills.append(t.handle(dict(BUY, id="v%d" % i)))
    assert [f["ok"] for f in fills] == [True] * 10 and len(sent) == 10 and len(mt5.positions_get()) == 10
    now[0] = 5.95
    assert t.handle(dict(BUY, id="v10")) == {"ok": False, "error": "order_send: more than 10 orders per second"}
    now[0] = 6.0  # the order of 5.0 leaves the window: exactly one slot (the refused v10 took none)
    assert t.handle(dict(BUY, id="v10"))["ok"]
    assert t.handle(dict(BUY, id="v11")) == {"ok": False, "error": "order_send: more than 10 orders per second"}
    assert len(sent) == 11 and t.counters == dict(COUNTERS, orders=11, refused=252)


def test_an_order_whose_intent_cannot_be_written_is_refused_and_the_terminal_is_never_asked(monkeypatch):
    t, mt5, sent, events = make(allow_insecure=True, positions=1)
    before = tickets(mt5)
    err = "order log /var/lib/mt5mesh: cannot write: No space left on device"

    def full(line):
        raise OrderLogError(err)
    monkeypatch.setattr(t.orders, "_append", full)
    for req in (dict(BUY, id="b"), {"cmd": "close_all", "id": "c"}, {"cmd": "order_close", "id": "p", "position": before[0]}):
        refused = "%s refused: its intent cannot be written (%s); the terminal was not asked" % (req["cmd"], err)
        assert t.handle(req, client=KEY_A) == {"ok": False, "error": refused}
    assert sent == [] and events == [] and tickets(mt5) == before and no_entry(t)
    assert t.counters == dict(COUNTERS, refused=3)
    monkeypatch.undo()  # space is back: the refused id left nothing behind, so its retry goes out once
    assert t.handle(dict(BUY, id="b"), client=KEY_A)["ok"] and len(sent) == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (ENOSPC on every write)")
def test_an_order_log_on_a_full_disk_refuses_the_order_before_the_terminal(tmp_path):
    orders = OrderLog(path=str(tmp_path))
    orders.load()
    t, mt5, sent, events = make(allow_insecure=True, orders=orders)
    log_fd = orders._fd
    orders._fd = os.open("/dev/full", os.O_WRONLY)  # every write of the log fails with ENOSPC
    err = "order log %s: cannot write: No space left on device" % tmp_path
    try:
        assert t.handle(dict(BUY, id="b")) == {
            "ok": False, "error": "order_send refused: its intent cannot be written (%s); the terminal was not asked" % err}
        assert orders.status()["ok"] is False and orders.status()["error"] == err
    finally:
        os.close(orders._fd)
        orders._fd = log_fd
    assert sent == [] and events == [] and mt5.positions_get() == () and no_entry(t)
    assert os.path.getsize(tmp_path / LOG) == 0
    assert t.handle(dict(BUY, id="b"))["ok"] and len(sent) == 1 and orders.status()["error"] is None
    orders.close()


def test_published_events_never_contain_the_id_or_the_client_key():
    t, mt5, _sent, events = make(allow_insecure=True, max_volume=100)
    secret = "SECRET-id.qzqz:x"  # nothing a hex ref could contain by chance
    for client in (None, KEY_A):
        opened = t.handle(dict(BUY, id=secret + "fill"), client=client)
        t.handle(dict(BUY, id=secret + "reject", volume=100.0), client=client)  # no money: a reject event
        t.handle({"cmd": "order_close", "id": secret + "close", "position": opened["position"], "volume": 0.05},
                 client=client)
        t.handle(dict(BUY, id=secret + "more", symbol="GBPUSD"), client=client)
        t.handle({"cmd": "close_all", "id": secret + "all"}, client=client)
    real = mt5.order_send

    def broken(request):
        raise ConnectionError("link lost while sending %s" % request["symbol"])
    mt5.order_send = broken
    t.handle(dict(BUY, id=secret + "unknown"))
    mt5.order_send = real
    assert [e[1]["trade"] for e in events] == ["fill", "reject", "fill", "fill", "fill", "fill"] * 2 + ["unknown"]
    text = json.dumps(events)
    assert "SECRET" not in text and "qzqz" not in text and KEY_A not in text
    assert all("id" not in fields and "client_id" not in fields for _symbol, fields in events)
    refs = {t.orders.ref(k) for k in t.orders.state.replies}
    assert len(refs) == 11 and all(re.fullmatch("[0-9a-f]{16}", e[1]["client_ref"]) and e[1]["client_ref"] in refs
                                   for e in events)


def test_a_peer_that_may_not_trade_cannot_read_or_touch_what_an_anonymous_id_holds():
    # A run with anonymous trading stored a reply and an intent; the next run allows it no more.
    t, mt5, sent, events = make(enabled=True, allow_insecure=True)
    first = t.handle(dict(BUY, id="held"))
    assert first["ok"]
    t.orders.state.intents["lost"] = 0.0
    t.allow_insecure = False
    sent.clear(), events.clear()
    assert t.handle(dict(BUY, id="held")) == anonymous("order_send")
    assert t.handle(dict(BUY, id="held", volume=0.2)) == anonymous("order_send")
    assert t.handle(dict(BUY, id="lost")) == anonymous("order_send")
    assert t.orders.state.intents == {"lost": 0.0} and list(t.orders.state.replies) == ["held"]
    assert sent == [] and events == [] and t.counters["unauthorized"] == 3 and t.counters["retried"] == 0
