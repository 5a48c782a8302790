"""Trading through a real gateway process in front of a broker's terminal (the strict terminal over
rpyc, on a UTC+2 server clock), on loopback: the issue's
acceptance as a plain pyzmq REQ client sees it, exactly-once orders across a lost reply and a
SIGKILL, and the journal that keeps the epoch. Bounded in time and count."""
import json
import threading
import time

import zmq

from support.gateway_proc import BUY, Gateway, call
from support.servers import Service, free_port, wait_until


def test_order_send_fills_once_and_a_retry_with_the_same_id_gets_the_first_reply(tmp_path):
    gw = Gateway(tmp_path, "--trading", "--allow-insecure-trading")
    try:
        account = gw(cmd="account")
        assert account["ok"] and account["balance"] == 10000.0 and account["leverage"] == 100
        first = gw(id="order-1", **BUY)
        assert first["ok"] and first["retcode"] == 10009 and first["retcode_name"] == "TRADE_RETCODE_DONE"
        assert first["deal"] and first["order"] and first["position"] and first["volume"] == 0.10
        positions = gw(cmd="positions")["positions"]
        assert [p["ticket"] for p in positions] == [first["position"]] and positions[0]["type"] == "buy"
        again = gw(id="order-1", **BUY)
        assert again == first
        assert len(gw(cmd="positions")["positions"]) == 1
        closed = gw(cmd="close_all", id="flat-1")
        assert closed["ok"] and closed["retcode"] == 10009 and len(closed["closed"]) == 1 and closed["failed"] == []
        assert gw(cmd="positions")["positions"] == []
        deals = gw(cmd="history_deals", **{"from": 0, "to": time.time() + 60})["deals"]
        assert [(d["type"], d["entry"]) for d in deals] == [("balance", "in"), ("buy", "in"), ("sell", "out")]
        assert deals[2]["position"] == first["position"] and deals[0]["profit"] == 10000.0  # the deposit
        info = gw(cmd="symbol_info", symbol="EURUSD")
        assert info["ok"] and info["volume_step"] == 0.01 and info["digits"] == 5 and info["ask"] > info["bid"]
    finally:
        gw.stop()


def test_a_reused_id_with_a_different_request_is_refused_and_sends_nothing(tmp_path):
    gw = Gateway(tmp_path, "--trading", "--allow-insecure-trading")
    try:
        assert gw(id="7", **BUY)["ok"]
        other = gw(id="7", **dict(BUY, volume=0.2))
        assert not other["ok"] and "already used for a different request" in other["error"]
        assert len(gw(cmd="positions")["positions"]) == 1
    finally:
        gw.stop()


def test_bad_order_fields_are_refused_naming_the_field_before_the_terminal(tmp_path):
    gw = Gateway(tmp_path, "--trading", "--allow-insecure-trading")
    try:
        cases = {"volume": dict(BUY, volume=-1), "side": dict(BUY, side="long"), "symbol": dict(BUY, symbol="NOPE"),
                 "sl": dict(BUY, sl=1e6), "'volume' 0.015": dict(BUY, volume=0.015)}
        for n, (field, req) in enumerate(cases.items()):
            got = gw(id="bad-%d" % n, **req)
            assert not got["ok"] and field in got["error"], (field, got)
        nan = zmq.Context.instance().socket(zmq.REQ)
        nan.connect("tcp://127.0.0.1:%d" % gw.rep)
        nan.send(b'{"cmd":"order_send","id":"nan","symbol":"EURUSD","side":"buy","volume":NaN}')
        assert nan.poll(3000) and not json.loads(nan.recv())["ok"]
        nan.close(0)
        no_id = gw(**BUY)
        assert not no_id["ok"] and "needs an 'id'" in no_id["error"]
        assert gw(cmd="positions")["positions"] == []
        assert [d["type"] for d in gw(cmd="history_deals", **{"from": 0, "to": time.time() + 60})["deals"]] \
            == ["balance"]
        assert gw.terminal.calls("order_send") == 0
    finally:
        gw.stop()


def test_with_trading_off_and_no_curve_anonymous_kill_switch_and_close_all_leave_every_position_open(tmp_path):
    journal = str(tmp_path / "journal")
    first = Gateway(tmp_path, "--trading", "--allow-insecure-trading", journal=journal)
    for i in range(8):
        assert first(id="open-%d" % i, **BUY)["ok"]
    first.svc.stop()
    for flags in ((), ("--allow-insecure-trading",)):  # trading off, with or without the flag
        gw = Gateway(tmp_path, *flags, journal=journal, terminal=first.terminal)  # the same account
        try:
            refused = gw(id="open-x", **BUY)
            assert refused == {"ok": False, "error": "trading is disabled on this gateway", "id": "open-x"}
            closed = gw(cmd="close_all", id="flat")
            assert closed["ok"] is False and closed["id"] == "flat"
            assert closed["error"].startswith("close_all changes the account: it needs an authenticated CURVE client")
            kill = call(gw.rep, action="KILL_SWITCH", req_id="kill-1", payload={})
            assert kill["status"] == "ERROR" and "needs an authenticated CURVE client" in kill["error"]
            assert len(gw(cmd="positions")["positions"]) == 8
            status = gw(cmd="status")["trading"]
            assert status["enabled"] is False and status["unauthorized"] == 2
        finally:
            gw.svc.stop()
    assert first.terminal.calls("order_send") == 8
    first.stop()


def test_trading_without_curve_and_without_the_flag_exits_2_naming_allow_insecure_trading(tmp_path):
    import subprocess
    import sys
    # Refused while the config is read, before any terminal: the paper one is named only to be complete.
    out = subprocess.run([sys.executable, "-m", "mt5mesh.gateway.main", "--terminal", "paper", "--trading",
                          "--journal", str(tmp_path / "j"), "--rep", "tcp://127.0.0.1:%d" % free_port(),
                          "--pub", "tcp://127.0.0.1:%d" % free_port()], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "--allow-insecure-trading" in out.stderr and not (tmp_path / "j").exists()


class EatFirstReply(threading.Thread):
    """A ROUTER/DEALER proxy in front of the gateway that drops the first reply to each id:
    the order reaches the terminal, its answer is lost on the way back."""

    def __init__(self, upstream):
        super().__init__(daemon=True)
        self.port, self.upstream, self.eaten, self.running = free_port(), upstream, 0, True
        self.seen = set()

    def run(self):
        ctx = zmq.Context.instance()
        front, back = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
        front.bind("tcp://127.0.0.1:%d" % self.port)
        back.connect("tcp://127.0.0.1:%d" % self.upstream)
        poller = zmq.Poller()
        poller.register(front, zmq.POLLIN)
        poller.register(back, zmq.POLLIN)
        end = time.monotonic() + 60
        while self.running and time.monotonic() < end:
            ready = dict(poller.poll(50))
            if front in ready:
                back.send_multipart(front.recv_multipart())
            if back in ready:
                frames = back.recv_multipart()
                rid = json.loads(frames[-1]).get("id")
                if rid not in self.seen:
                    self.seen.add(rid)
                    self.eaten += 1
                    continue
                front.send_multipart(frames)
        front.close(0)
        back.close(0)


def test_a_lost_reply_retried_by_the_lazy_pirate_client_gives_one_deal_and_one_position(tmp_path):
    from mt5mesh.wire.lazy_pirate import LazyPirateClient
    gw = Gateway(tmp_path, "--trading", "--allow-insecure-trading")
    proxy = EatFirstReply(gw.rep)
    proxy.start()
    try:
        client = LazyPirateClient(zmq, "tcp://127.0.0.1:%d" % proxy.port, timeout=1.0, retries=3)
        reply = client.call("order_send", symbol="EURUSD", side="buy", volume=0.1)
        client.close()
        assert proxy.eaten == 1 and reply["ok"] and reply["retcode"] == 10009
        assert gw(cmd="status")["trading"]["retried"] == 1
        assert len(gw(cmd="positions")["positions"]) == 1
        deals = gw(cmd="history_deals", **{"from": 0, "to": time.time() + 60})["deals"]
        assert [d["ticket"] for d in deals if d["type"] != "balance"] == [reply["deal"]]
        assert gw.terminal.calls("order_send") == 1
    finally:
        proxy.running = False
        gw.stop()


def test_kill_9_keeps_the_epoch_replay_runs_across_it_and_a_retry_is_still_recognised(tmp_path):
    gw = Gateway(tmp_path, "--trading", "--allow-insecure-trading")
    first = gw(id="before-kill", **BUY)
    assert first["ok"]
    time.sleep(0.5)
    before = gw(cmd="ping")
    gw.svc.kill()
    gw.start()  # same flags, same journal
    try:
        after = gw(cmd="ping")
        assert after["epoch"] == before["epoch"] and after["seq"] >= before["seq"]
        wait_until(lambda: gw(cmd="ping")["seq"] > before["seq"] + 50, 10, "ticks after the restart")
        seqs, frm = [], max(1, before["seq"] - 100)
        while frm <= before["seq"] + 50:
            got = gw(cmd="replay", from_seq=frm, limit=1000)
            assert got["ok"] and got["epoch"] == before["epoch"], got
            seqs += [e["seq"] for e in got["events"]]
            frm = seqs[-1] + 1
        assert seqs == list(range(seqs[0], seqs[-1] + 1)) and seqs[0] <= before["seq"] < seqs[-1]
        assert gw(id="before-kill", **BUY) == first
        assert len(gw(cmd="positions")["positions"]) == 1
        trades = [e for e in gw(cmd="replay", from_seq=1, limit=20000)["events"] if "trade" in e]
        assert [(t["trade"], t["client_ref"], t["deal"]) for t in trades] == [("fill", first["client_ref"], first["deal"])]
        assert "client_id" not in trades[0] and "before-kill" not in json.dumps(trades)
    finally:
        gw.stop()


def test_a_second_gateway_on_a_journal_in_use_refuses_to_start(tmp_path):
    gw = Gateway(tmp_path)
    try:
        other = Service("mt5mesh-gateway", ["--terminal", "paper", "--journal", gw.journal, "--rep",
                                            "tcp://127.0.0.1:%d" % free_port(), "--pub",
                                            "tcp://127.0.0.1:%d" % free_port()], str(tmp_path))
        assert other.proc.wait(15) == 2
        assert "is in use by another gateway" in other.output()
    finally:
        gw.stop()


def test_every_fill_lands_in_inf_deals_exactly_once_with_its_order(tmp_path, clean_stores):
    from support.servers import nexus_args
    from support.trade_audit import audit
    pg, redis_server = clean_stores
    gw = Gateway(tmp_path, "--trading", "--allow-insecure-trading", "--max-orders-per-s", 100)
    health = free_port()
    nx = Service("mt5mesh-nexus", nexus_args(pg, redis_server, "tcp://127.0.0.1:%d" % gw.rep,
                                             "tcp://127.0.0.1:%d" % gw.pub, health, str(tmp_path / "spool")),
                 str(tmp_path))
    try:
        wait_until(lambda: _committed(pg) > 0, 30, "nexus writes ticks")
        replies = [gw(id="o%d" % i, **dict(BUY, side="buy" if i % 2 else "sell")) for i in range(6)]
        replies.append(gw(id="broke", **dict(BUY, volume=10.0)))  # 10 lots: the account has no money for it
        replies.append(gw(id="flat", cmd="close_all"))
        assert all(r["ok"] for r in replies[:6]) and replies[6]["retcode"] == 10019 and replies[7]["ok"]
        target = gw(cmd="ping")["seq"]
        wait_until(lambda: _committed(pg) >= target, 30, "nexus committed seq %d" % target)

        def query(sql):
            with pg.connect() as conn, conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        assert audit(query, replies) == []
        kinds = query("SELECT kind, count(*) FROM orders GROUP BY kind ORDER BY kind")
        assert kinds == [("fill", 12), ("reject", 1)]
        assert query("SELECT count(*) FROM deals")[0][0] == 12
    finally:
        nx.stop()
        gw.stop()


def _committed(pg):
    with pg.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(seq), 0) FROM nexus_checkpoint")
        return cur.fetchone()[0]


def test_close_all_module_check_mode_lists_and_closes_nothing_then_closes_everything(tmp_path, monkeypatch):
    from ansible_collections.mt5crs.mesh.plugins.modules import mt5_close_all, mt5_positions_info
    from support.module_harness import patch_exits, run_module
    patch_exits(monkeypatch)
    gw = Gateway(tmp_path, "--trading", "--allow-insecure-trading")
    try:
        for i in range(3):
            assert gw(id="m%d" % i, **BUY)["ok"]
        args = {"host": "127.0.0.1", "port": gw.rep, "timeout": 3.0}
        kind, listed = run_module(mt5_positions_info, args)
        assert kind == "exit" and listed["count"] == 3
        kind, dry = run_module(mt5_close_all, dict(args, _ansible_check_mode=True))
        assert kind == "exit" and len(dry["would_close"]) == 3 and dry["closed"] == [] and dry["changed"]
        assert len(gw(cmd="positions")["positions"]) == 3
        kind, real = run_module(mt5_close_all, args)
        assert kind == "exit" and len(real["closed"]) == 3 and real["remaining"] == [] and real["close_failed"] == []
        assert all(c["retcode"] == 10009 and c["price"] > 0 for c in real["closed"])
        assert gw(cmd="positions")["positions"] == []
    finally:
        gw.stop()
