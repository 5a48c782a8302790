"""Trading through the lab mesh: an order sent from INF lands in INF `deals` exactly once,
kill_switch.yml flattens the account (and in check mode only lists), and a gateway SIGKILL keeps
its epoch (the journal) with INF whole. Lab hosts only; every loop bounded."""
import time
import uuid

import pytest

from support import lab
from support.trade_audit import audit

pytestmark = pytest.mark.lab

from_inf = lab.gateway_requests_from_inf


def inf_query(sql):
    text = lab.psql("inf", "mt5_crs", sql)
    return [tuple(line.split("|")) for line in text.splitlines() if line]


def committed_past(seq, timeout=30):
    return lab.wait(lambda: int(lab.psql("inf", "mt5_crs", "SELECT coalesce(max(seq), 0) FROM nexus_checkpoint WHERE gateway = 'gtw'") or 0)
                    >= seq, timeout)


def test_an_order_sent_from_inf_lands_in_inf_deals_exactly_once(mesh):
    oid = "lab-" + uuid.uuid4().hex[:12]
    order = {"cmd": "order_send", "id": oid, "symbol": "EURUSD", "side": "buy", "volume": 0.1}
    first, again, ping = from_inf(order, order, {"cmd": "ping"})
    assert first["ok"] and first["retcode"] == 10009, first
    assert again == first
    assert committed_past(ping["seq"]), "nexus did not commit seq %s" % ping["seq"]
    assert inf_query("SELECT count(*) FROM deals WHERE gateway = 'gtw' AND ticket = %d" % first["deal"]) == [("1",)]
    assert inf_query("SELECT kind, client_id FROM orders WHERE gateway = 'gtw' AND deal_ticket = %d" % first["deal"]) == [("fill", first["client_ref"])]
    flat = from_inf({"cmd": "close_all", "id": oid + "-flat"})[0]
    assert flat["ok"], flat


def test_kill_switch_check_mode_lists_and_the_real_run_leaves_no_position_open(mesh):
    opened = from_inf(*[{"cmd": "order_send", "id": "ks-%s-%d" % (uuid.uuid4().hex[:8], i), "symbol": sym,
                         "side": side, "volume": 0.05} for i, (sym, side) in
                        enumerate([("EURUSD", "buy"), ("GBPUSD", "sell"), ("USDJPY", "buy")])])
    assert all(r["ok"] for r in opened), opened
    check = lab.playbook("kill_switch.yml", "--check")
    assert check.returncode == 0, check.stdout[-3000:]
    assert check.stdout.count("WOULD CLOSE") == 3 and "CLOSED " not in check.stdout
    assert len(from_inf({"cmd": "positions"})[0]["positions"]) == 3
    real = lab.playbook("kill_switch.yml")
    assert real.returncode == 0, real.stdout[-3000:]
    assert real.stdout.count("CLOSED ") == 3 and "STILL OPEN" not in real.stdout
    positions, ping = from_inf({"cmd": "positions"}, {"cmd": "ping"})
    assert positions["positions"] == []
    assert committed_past(ping["seq"])
    again = lab.playbook("kill_switch.yml")
    assert again.returncode == 0 and "nothing to close" in again.stdout

    def query(sql):
        return inf_query(sql)
    assert audit(query, opened) == []


def test_gateway_sigkill_keeps_the_epoch_and_inf_stays_whole(mesh):
    before = from_inf({"cmd": "ping"})[0]
    old_pid = lab.sh("gtw", "systemctl show -p MainPID --value mt5mesh-gateway").stdout.strip()
    lab.sh("gtw", "systemctl kill -s KILL --kill-whom=main mt5mesh-gateway")
    assert lab.wait(lambda: lab.sh("gtw", "systemctl show -p MainPID --value mt5mesh-gateway").stdout.strip()
                    not in ("", "0", old_pid), 30), "the gateway was not restarted"
    time.sleep(1.0)
    after = from_inf({"cmd": "ping"})[0]
    assert after["epoch"] == before["epoch"] and after["seq"] >= before["seq"]
    assert committed_past(after["seq"] + 10), "nexus did not catch up after the restart"
    epoch = [e for e in lab.audit("gtw") if e["epoch"] == before["epoch"]][0]
    assert epoch["silently_missing"] == 0 and epoch["starts_at_1"], epoch
    changes = inf_query("SELECT count(*) FROM nexus_discontinuity WHERE kind = 'epoch_change' AND epoch = %d"
                        % before["epoch"])
    assert changes == [("0",)]


def test_kill_switch_fails_naming_the_host_when_the_gateway_does_not_answer(mesh):
    lab.sh("gtw", "systemctl stop mt5mesh-gateway")
    try:
        start = time.monotonic()
        proc = lab.playbook("kill_switch.yml")  # the default 10 s timeout: a refusal must not wait it out
        took = time.monotonic() - start
    finally:
        lab.sh("gtw", "systemctl start mt5mesh-gateway")
    assert proc.returncode != 0 and took < 5.0, took
    assert "gtw.lab: kill switch:" in proc.stdout and "connection refused" in proc.stdout, proc.stdout[-2000:]


def test_remediation_names_a_lost_terminal_and_repairs_once_the_config_is_right(mesh):
    # The gateway is pointed at an mt5linux terminal that is not there: it exits 2 at each start.
    lab.sh("gtw", "sed -i 's/^terminal: .*/terminal: \"mt5linux\"/' /etc/mt5mesh/gateway.yml && "
                  "systemctl restart mt5mesh-gateway", check=False)
    try:
        time.sleep(3)
        lost = lab.playbook("remediate_gateway.yml", "-e", "gateway_broker_terminal=mt5linux")
        out = lost.stdout + lost.stderr
        assert lost.returncode != 0
        assert "gtw.lab: check terminal: the gateway lost its MetaTrader 5 terminal: terminal mt5linux" in out, out[-3000:]
        assert "does not answer on 127.0.0.1:18812" in out
        fixed = lab.playbook("remediate_gateway.yml")  # the inventory says paper: re-rendered and restarted
        assert fixed.returncode == 0, fixed.stdout[-3000:]
        assert "REPAIRED terminal_lost -> healthy" in fixed.stdout
    finally:
        lab.sh("gtw", "grep -q '^terminal: \"paper\"' /etc/mt5mesh/gateway.yml || "
                      "(sed -i 's/^terminal: .*/terminal: \"paper\"/' /etc/mt5mesh/gateway.yml && "
                      "systemctl reset-failed mt5mesh-gateway; systemctl restart mt5mesh-gateway)", check=False)
