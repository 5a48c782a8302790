"""One id, one fill, whatever a client, a full disk or a crash does: the attacks of the issue as
tests against a real gateway process (in front of the strict terminal over rpyc, on loopback,
--trading --allow-insecure-trading unless a test says otherwise). Each test's name states the property it asserts. Every loop is
bounded in count and time."""
import json
import os
import subprocess
import threading
import time

import pytest
import zmq

from support.gateway_proc import BUY, Client, Gateway
from support.servers import wait_until

TRADE = ("--trading", "--allow-insecure-trading")


def stopping(gw):
    """A context that stops the gateway whatever the test did."""
    class _Stop:
        def __enter__(self):
            return gw

        def __exit__(self, *exc):
            gw.stop()
    return _Stop()


def test_10050_close_all_with_fresh_ids_from_another_client_do_not_make_a_filled_id_fill_again(tmp_path):
    with stopping(Gateway(tmp_path, *TRADE)) as gw:
        first = gw(id="victim-1", **BUY)
        assert first["ok"] and first["deal"]
        attacker = Client(gw.rep)
        try:
            replies = [attacker(cmd="close_all", id="flood-%d" % i, symbol="NOSUCH") for i in range(10050)]
        finally:
            attacker.close()
        assert all(r["ok"] and r["closed"] == [] for r in replies)  # nothing to close: nothing kept
        again = gw(id="victim-1", **BUY)
        assert again == first
        assert len(gw(cmd="positions")["positions"]) == 1 and gw.terminal.calls("order_send") == 1
        assert gw(cmd="status")["trading"]["kept"] == 1


def test_no_published_message_or_replayed_event_carries_a_client_id(tmp_path):
    with stopping(Gateway(tmp_path, *TRADE)) as gw:
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect("tcp://127.0.0.1:%d" % gw.pub)
        time.sleep(0.5)  # the subscription reaches the gateway
        try:
            opened = gw(id="secret-client-id-1", **BUY)
            closed = gw(cmd="close_all", id="secret-client-id-2")
            assert opened["ok"] and closed["ok"] and len(closed["closed"]) == 1
            seen, deadline = [], time.monotonic() + 2.0
            while time.monotonic() < deadline and len(seen) < 100000:
                if sub.poll(100):
                    seen.append(b"".join(sub.recv_multipart()))
            trades = [m for m in seen if m.startswith(b"trade.")]
            assert len(trades) == 2
            assert not [m for m in seen if b"secret-client-id" in m]
            assert opened["client_ref"].encode() in trades[0]
            events = gw(cmd="replay", from_seq=1, limit=20000)["events"]
            assert [e for e in events if "trade" in e] and "secret-client-id" not in json.dumps(events)
        finally:
            sub.close(0)


def test_ids_777_and_the_string_777_do_not_both_fill(tmp_path):
    with stopping(Gateway(tmp_path, *TRADE)) as gw:
        number = gw(id=777, **BUY)
        assert number["ok"] is False and "'id' must be a string" in number["error"]
        text = gw(id="777", **BUY)
        assert text["ok"]
        assert gw(id=777.0, **BUY)["ok"] is False
        assert len(gw(cmd="positions")["positions"]) == 1


def test_40_close_all_with_900kb_ids_are_refused_and_grow_journal_rss_and_ping_by_little(tmp_path):
    with stopping(Gateway(tmp_path, *TRADE)) as gw:
        time.sleep(1.0)
        attacker = Client(gw.rep)
        pings = []
        try:
            # Ten first: the allocator's first big buffers (a malloc arena for ZeroMQ's I/O thread
            # is reserved in 64 MiB steps) are not growth; what the next 40 add is.
            for i in range(10):
                assert attacker(cmd="close_all", id="warm-%d-" % i + "x" * (900 * 1024))["ok"] is False
            time.sleep(0.5)
            journal0, rss0 = gw.journal_bytes(), gw.rss_mib()
            for i in range(40):
                reply = attacker(cmd="close_all", id=("%d-" % i) + "x" * (900 * 1024))
                assert reply["ok"] is False and "'id' must be a string" in reply["error"] and "id" not in reply
                pings.append(gw.ping_ms())
        finally:
            attacker.close()
        time.sleep(1.0)
        assert gw.journal_bytes() - journal0 < 50 * 1024 * 1024
        assert gw.rss_mib() - rss0 < 64
        assert max(pings) < 100 and gw.ping_ms() < 100


def test_250_refused_orders_a_second_leave_9_of_10_valid_orders_at_5_a_second_to_fill(tmp_path):
    with stopping(Gateway(tmp_path, *TRADE, "--max-orders-per-s", 10)) as gw:
        stop, junk_sent = threading.Event(), []

        def junk():
            c = Client(gw.rep)
            try:
                n = 0
                while not stop.is_set() and n < 2000:
                    t0 = time.monotonic()
                    for _i in range(25):
                        r = c(id="junk-%d" % n, **dict(BUY, volume=999.0))  # outside the symbol's volumes
                        assert r["ok"] is False
                        n += 1
                    time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
                junk_sent.append(n)
            finally:
                c.close()
        t = threading.Thread(target=junk, daemon=True)
        t.start()
        try:
            time.sleep(0.3)
            filled = 0
            for i in range(10):
                filled += bool(gw(id="valid-%d" % i, **BUY)["ok"])
                time.sleep(0.2)
        finally:
            stop.set()
            t.join(10)
        assert junk_sent and junk_sent[0] >= 400
        assert filled >= 9


def _deal_line(ticket, t):
    deal = [ticket, ticket, int(t), int(t * 1000), 0, 0, 0, ticket, 0, 0.01, 1.1, 0.0, 0.0, 0.0, 0.0, "EURUSD", "", ""]
    return json.dumps({"deal": deal, "position": None, "closed": ticket, "balance": 10000.0,
                       "next_ticket": ticket + 1}) + "\n"


def test_60_unread_history_deals_over_40000_deals_grow_rss_by_less_than_64mib_and_pages_hold_every_deal(tmp_path):
    journal = tmp_path / "journal"
    journal.mkdir()
    now = time.time() - 3600
    with open(journal / "paper-account.jsonl", "w") as f:
        f.writelines(_deal_line(100001 + i, now + i * 0.05) for i in range(40000))
    # Paper: 40000 deals are written into its account file; a broker's history is not ours to fill.
    with stopping(Gateway(tmp_path, *TRADE, journal=str(journal), terminal="paper")) as gw:
        time.sleep(1.0)
        rss0 = gw.rss_mib()
        socks = []
        try:
            for _i in range(60):
                s = zmq.Context.instance().socket(zmq.DEALER)
                s.setsockopt(zmq.LINGER, 0)
                s.connect("tcp://127.0.0.1:%d" % gw.rep)
                s.send_multipart([b"", json.dumps({"cmd": "history_deals", "from": 0, "to": time.time() + 60}).encode()])
                socks.append(s)
            time.sleep(3.0)  # the gateway answers all 60; nobody reads
            assert gw.ping_ms() < 100
            assert gw.rss_mib() - rss0 < 64
        finally:
            for s in socks:
                s.close(0)
        tickets, after = [], 0
        for _page in range(1000):
            page = gw(cmd="history_deals", from_ticket=after, **{"from": 0, "to": time.time() + 60})
            assert page["ok"] and len(json.dumps(page["deals"], separators=(",", ":"))) <= 128 * 1024 + 2
            tickets += [d["ticket"] for d in page["deals"]]
            if not page["more"]:
                break
            after = page["next_ticket"]
        assert tickets == list(range(100001, 140001))


def _segments(path):
    return sorted(n for n in os.listdir(path) if n.startswith("seg-"))


def test_a_torn_last_record_keeps_the_epoch_through_two_restarts_and_a_retried_id_does_not_fill_again(tmp_path):
    gw = Gateway(tmp_path, *TRADE)
    try:
        first = gw(id="torn-1", **BUY)
        assert first["ok"]
        epoch = gw(cmd="ping")["epoch"]
        gw.svc.kill()
        with open(os.path.join(gw.journal, _segments(gw.journal)[-1]), "ab") as f:
            f.write(b'0badc0de E 999999999 {"epoch":1,"se')  # a write the kill tore
        with open(os.path.join(gw.journal, "orders.log"), "ab") as f:
            f.write(b'0badc0de R ["torn-2","ab",{"ok":tr')
        for _restart in range(2):
            gw.start()
            assert gw(cmd="ping")["epoch"] == epoch
            assert gw(id="torn-1", **BUY) == first
            status = gw(cmd="status")
            assert status["healthy"] is True and status["trading"]["order_log"]["ok"] is True
            gw.svc.stop()
        assert not [n for n in os.listdir(gw.journal) if n.startswith("corrupt-")]
        gw.start()
        assert len(gw(cmd="positions")["positions"]) == 1
        assert gw.terminal.calls("order_send") == 1
    finally:
        gw.stop()


def test_a_flipped_bit_in_the_oldest_segment_costs_the_epoch_but_a_retried_id_does_not_fill_again(tmp_path):
    # Paper: three 1 MB segments need 4000 ticks a second, far above what the strict terminal makes.
    gw = Gateway(tmp_path, *TRADE, "--journal-segment-mb", 1, rate=4000, terminal="paper")
    try:
        wait_until(lambda: len(_segments(gw.journal)) >= 3, 60, "three journal segments")
        first = gw(id="flip-1", **BUY)
        assert first["ok"]
        epoch = gw(cmd="ping")["epoch"]
        gw.svc.stop()
        oldest = os.path.join(gw.journal, _segments(gw.journal)[0])
        with open(oldest, "r+b") as f:
            data = f.read()
            at = data.index(b" E ", len(data) // 2) + 20
            f.seek(at)
            f.write(bytes([data[at] ^ 0x01]))
        gw.start()
        assert gw(cmd="ping")["epoch"] != epoch  # the ticks after the damage cannot be vouched for
        assert gw(id="flip-1", **BUY) == first
        assert len(gw(cmd="positions")["positions"]) == 1
        assert gw(cmd="status")["trading"]["order_log"]["ok"] is True
    finally:
        gw.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root (CI runs as root)")
def test_on_a_full_filesystem_an_order_is_refused_the_terminal_never_sees_it_and_the_gateway_recovers(tmp_path):
    mnt = tmp_path / "fs"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True,
                             text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here: %s" % mounted.stderr.strip()[:200])
    gw = None
    try:
        gw = Gateway(tmp_path, *TRADE, journal=str(mnt / "journal"))
        filler = mnt / "filler"
        with open(filler, "wb") as f:
            try:
                for _i in range(64):
                    f.write(b"\0" * (256 * 1024))
                    f.flush()
            except OSError:
                pass
        wait_until(lambda: gw(cmd="status")["healthy"] is False, 10, "the gateway reports the full disk")
        refused = gw(id="full-1", **BUY)
        assert refused["ok"] is False and "the terminal was not asked" in refused["error"]
        assert gw(cmd="positions")["positions"] == []
        assert [d["type"] for d in gw(cmd="history_deals", **{"from": 0, "to": time.time() + 60})["deals"]] \
            == ["balance"]
        assert gw.terminal.calls("order_send") == 0
        assert gw.svc.proc.poll() is None and gw(cmd="ping")["ok"]
        os.unlink(filler)
        wait_until(lambda: gw(cmd="status")["healthy"] is True, 15, "the gateway healthy once space returns")
        filled = gw(id="full-1", **BUY)
        assert filled["ok"] and len(gw(cmd="positions")["positions"]) == 1
        assert gw.terminal.calls("order_send") == 1
    finally:
        if gw is not None:
            gw.stop()
        subprocess.run(["umount", "-l", str(mnt)], check=False)
