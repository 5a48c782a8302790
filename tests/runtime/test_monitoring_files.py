"""The shipped monitoring files agree with what the services export: every metric an alert or a
dashboard panel uses is one the gateway or nexus exposes (their evaluation against a real
Prometheus is tests/lab/test_prometheus_lab.py; promtool checks the rules in make test)."""
import json
import os
import re

import yaml

from mt5mesh.gateway import metrics as gateway_metrics
from mt5mesh.nexus.health import Metrics

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MON = os.path.join(ROOT, "monitoring")
NAME = re.compile(r"\b((?:mt5mesh_gateway|nexus)_[a-z_]+)\b")


def exported():
    # What the gateway's collector exports for a snapshot with every part present (a terminal
    # backend with trading, a journal and an order log), read off the collector itself.
    gw = gateway_metrics.GatewayMetrics()
    gw.publish({"at": 1.0, "epoch": 1, "seq": 2, "ring_events": 3, "counters": {}, "source": "paper",
                "terminal_connected": True, "trading_enabled": True, "orders_by_retcode": {}, "problems": [],
                "journal_ok": True, "journal_bytes": 1, "journal_budget_bytes": 2, "order_log_ok": True,
                "orders_kept": 0})
    names = set()
    for metric in list(gw.registry.collect()) + list(Metrics().registry.collect()):
        for sample in metric.samples:
            names.add(sample.name)
    return names


def dashboard_exprs():
    with open(os.path.join(MON, "grafana", "mt5mesh-dashboard.json")) as f:
        return [t["expr"] for p in json.load(f)["panels"] for t in p["targets"]]


def test_every_metric_in_the_rules_and_the_dashboard_is_exported():
    with open(os.path.join(MON, "prometheus", "mt5mesh-rules.yml")) as f:
        rules = [r["expr"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    used = {m for expr in rules + dashboard_exprs() for m in NAME.findall(expr)}
    assert used and used <= exported(), sorted(used - exported())


def test_the_issue_s_alerts_are_all_there():
    with open(os.path.join(MON, "prometheus", "mt5mesh-rules.yml")) as f:
        alerts = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]}
    assert alerts == {"GatewayDown", "GatewayNoHeartbeat", "TerminalDisconnected", "NexusLagHigh",
                      "NexusUnrecoverableGap", "GatewayEpochChange", "NexusSpoolFilling", "NexusBreakerOpen",
                      "OrderRejectsRising", "GatewayJournalNearBudget", "GatewayJournalWriteFailing",
                      "GatewayOrderLogUnhealthy"}


def test_gateway_health_is_degraded_when_the_loop_stalls_or_the_terminal_is_gone():
    snap = {"at": 100.0, "epoch": 1, "seq": 2, "source": "paper", "terminal_connected": True, "trading_enabled": False}
    assert gateway_metrics.health_of(None, 100.0) == (503, {"state": "starting"})
    assert gateway_metrics.health_of(snap, 101.0)[0] == 200
    code, body = gateway_metrics.health_of(snap, 106.0)
    assert code == 503 and body["problems"] == ["the broker loop has not run for 6.0 s"]
    code, body = gateway_metrics.health_of(dict(snap, terminal_connected=False), 100.5)
    assert code == 503 and body["problems"] == ["terminal not connected"]
