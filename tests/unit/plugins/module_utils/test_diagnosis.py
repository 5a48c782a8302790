"""The gateway diagnosis decided on plain data (module_utils/diagnosis.py): no patching."""
import os

import pytest

from ansible_collections.mt5crs.mesh.plugins.module_utils.diagnosis import (CAUSES, FORCED, OUTCOMES, REPAIRS, STEPS, diagnose,
                                                                            ping_skipped, redeploy, repairs, restart_delay)

UNIT = "mt5mesh-gateway.service"
ACTIVE = dict(ActiveState="active", SubState="running", UnitFileState="enabled", NRestarts="0", MainPID="77",
              Result="success", LoadState="loaded")
PING_OK = {"ok": True, "detail": "pong in 1 ms"}
PING_DOWN = {"ok": False, "detail": "no reply in 1 s"}
DROP = "-A INPUT -p tcp -m tcp --dport 5555 -j DROP"
HOLDER = {"port": 5555, "pid": 4242, "cmdline": "python3 -m http.server 5555"}
TERMINAL_DOWN = "2026-11-27T06:00:00.000000+0000 gtw mt5mesh-gateway[9]: 2026-11-27 06:00:00,000 mt5mesh-gateway ERROR " \
                "terminal mt5linux at 127.0.0.1:18812: ConnectionRefusedError: [Errno 111] Connection refused"
TERMINAL_UP = "2026-11-27T06:00:05.000000+0000 gtw mt5mesh-gateway[10]: 2026-11-27 06:00:05,000 mt5mesh-gateway INFO " \
              "terminal mt5linux: connected, symbols EURUSD"


def facts(**kw):
    f = dict(unit=UNIT, unit_state=dict(ACTIVE), ping=PING_DOWN)
    state = kw.pop("state", {})
    f["unit_state"].update(state)
    f.update(kw)
    return f


@pytest.mark.parametrize("kw,cause", [
    (dict(state=dict(ActiveState="inactive", SubState="dead")), "stopped"),
    (dict(state=dict(ActiveState="inactive", UnitFileState="disabled")), "disabled_stopped"),
    (dict(state=dict(ActiveState="failed", UnitFileState="disabled")), "disabled_stopped"),
    (dict(state=dict(ActiveState="failed", Result="start-limit-hit", NRestarts="5")), "crash_loop"),
    (dict(state=dict(ActiveState="failed", Result="exit-code")), "crash_loop"),
    (dict(state=dict(SubState="auto-restart", NRestarts="2")), "crash_loop"),
    (dict(), "hung"),
    (dict(proc_state="T", ping=PING_OK), "hung"),
    (dict(rules=[DROP]), "firewall"),
    (dict(rules=[DROP], clients_reach=False), "firewall"),
    (dict(holders=[HOLDER]), "port_conflict"),
    (dict(unit_file_exists=False), "unit_missing"),
    (dict(state=dict(LoadState="not-found")), "unit_missing"),
    (dict(ping=PING_OK), "healthy"),
    (dict(recent=[TERMINAL_DOWN], ping=PING_OK), "terminal_lost"),
])
def test_each_fault_gives_its_cause(kw, cause):
    assert diagnose(facts(**kw))["cause"] == cause


def test_restarting_once_is_not_a_crash_loop():
    assert diagnose(facts(state=dict(SubState="auto-restart", NRestarts="1")))["cause"] != "crash_loop"


def test_allow_list_drop_rule_on_a_broker_the_clients_reach_is_a_note_not_a_fault():
    # GTW's own ping is dropped by the allow-list, INF is served: healthy, rule left alone.
    out = diagnose(facts(rules=[DROP], clients_reach=True))
    assert out["cause"] == "healthy" and out["findings"] == []
    assert DROP in out["notes"][0]


def test_drop_rule_without_client_reachability_stays_the_fault():
    out = diagnose(facts(rules=[DROP], clients_reach=None, ping=PING_OK))
    assert out["cause"] == "firewall" and "expected clients" not in out["detail"]
    out = diagnose(facts(rules=[DROP], clients_reach=False))
    assert "expected clients cannot reach" in out["detail"] and out["notes"] == []


def test_most_fundamental_cause_wins_and_every_finding_is_listed():
    out = diagnose(facts(unit_file_exists=False, holders=[HOLDER], rules=[DROP],
                         state=dict(ActiveState="inactive")))
    assert out["cause"] == "unit_missing"
    assert [f["cause"] for f in out["findings"]] == ["unit_missing", "port_conflict", "firewall", "stopped"]
    assert "4242" in out["findings"][1]["detail"] and "http.server" in out["findings"][1]["detail"]


def test_active_unit_with_rules_or_holders_is_not_called_hung():
    assert diagnose(facts(holders=[HOLDER]))["cause"] == "port_conflict"
    assert [f["cause"] for f in diagnose(facts(holders=[HOLDER]))["findings"]] == ["port_conflict"]


def test_no_answer_and_no_known_cause_is_unknown():
    out = diagnose(facts(state=dict(ActiveState="activating")))
    assert out["cause"] == "unknown" and PING_DOWN["detail"] in out["detail"]
    assert "unknown" in OUTCOMES and set(CAUSES) < set(OUTCOMES)


KILL = [
    "2026-11-27T03:00:00.100000+0000 gtw systemd[1]: mt5mesh-gateway.service: Main process exited, code=killed, status=9/KILL",
    "2026-11-27T03:00:00.200000+0000 gtw systemd[1]: Stopped mt5mesh-gateway.service",
    "2026-11-27T03:00:00.700000+0000 gtw systemd[1]: Started mt5mesh-gateway.service",
]


def test_sigkill_followed_by_a_systemd_restart_is_killed_restarted_with_its_delay():
    out = diagnose(facts(recent=KILL, ping=PING_OK))
    assert out["cause"] == "killed_restarted" and out["restart_delay_s"] == 0.6


def test_a_stop_after_the_restart_means_the_kill_no_longer_explains_anything():
    recent = KILL + ["2026-11-27T03:00:05.000000+0000 gtw systemd[1]: Stopping mt5mesh-gateway.service"]
    assert diagnose(facts(recent=recent, ping=PING_OK))["cause"] == "healthy"


def test_killed_but_not_serving_is_not_killed_restarted():
    assert diagnose(facts(recent=KILL))["cause"] == "hung"


def test_restart_delay_ignores_unparsable_lines_and_needs_a_start():
    assert restart_delay(["garbage line", KILL[0]]) is None
    assert restart_delay(KILL[:1] + ["nonsense"] + KILL[2:]) == 0.6


def test_a_lost_terminal_is_its_own_cause_and_names_the_terminal_error():
    got = diagnose(facts(state=dict(ActiveState="activating", SubState="auto-restart", NRestarts="3"),
                         recent=[TERMINAL_DOWN]))
    assert got["cause"] == "terminal_lost"
    assert "lost its MetaTrader 5 terminal: terminal mt5linux at 127.0.0.1:18812: ConnectionRefusedError" in got["detail"]


def test_a_terminal_error_followed_by_a_reconnect_is_not_a_lost_terminal():
    from ansible_collections.mt5crs.mesh.plugins.module_utils.diagnosis import terminal_error
    assert terminal_error([TERMINAL_DOWN, TERMINAL_UP]) is None
    assert terminal_error([TERMINAL_UP, TERMINAL_DOWN]) == TERMINAL_DOWN
    assert terminal_error(["... INFO terminal paper: connected"]) is None


# --- which repair each cause needs: one table (REPAIRS), read by remediate_repairs.yml ---------
REPAIRS_YML = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "playbooks", "tasks", "remediate_repairs.yml")


def test_the_repair_table_pins_each_causes_steps_and_the_order_they_run():
    assert REPAIRS == {"port_conflict": ("kill_port_holders", "clear_start_limit"), "firewall": ("remove_firewall_rules",),
                       "terminal_lost": ("reconnect_terminal",), "crash_loop": ("clear_start_limit",), "hung": ("restart",)}
    assert STEPS == ("reconnect_terminal", "kill_port_holders", "remove_firewall_rules", "clear_start_limit", "restart")
    assert FORCED == ("kill_port_holders", "remove_firewall_rules")
    assert set(REPAIRS) <= set(CAUSES) and {s for steps in REPAIRS.values() for s in steps} == set(STEPS)


def test_repairs_of_several_findings_are_each_step_once_in_the_order_they_run():
    found = [{"cause": c, "detail": "x"} for c in ("port_conflict", "firewall", "crash_loop", "hung", "terminal_lost")]
    assert repairs(found) == list(STEPS)
    assert repairs([{"cause": "crash_loop", "detail": "x"}, {"cause": "port_conflict", "detail": "x"}]) == [
        "kill_port_holders", "clear_start_limit"]


@pytest.mark.parametrize("cause", ["unit_missing", "disabled_stopped", "stopped", "killed_restarted"])
def test_a_cause_the_broker_role_repairs_alone_needs_no_repair_step(cause):
    assert repairs([{"cause": cause, "detail": "x"}]) == []


def test_the_diagnosis_names_the_repairs_of_its_findings_and_none_when_healthy():
    assert diagnose(facts(holders=[HOLDER], rules=[DROP]))["repairs"] == ["kill_port_holders", "remove_firewall_rules",
                                                                          "clear_start_limit"]
    assert diagnose(facts(ping=PING_OK))["repairs"] == []


@pytest.mark.parametrize("causes,expected", [
    ((), True),  # healthy or unknown: render again, as before
    (("hung",), False),
    (("firewall",), False),
    (("killed_restarted",), False),
    (("firewall", "hung"), False),
    (("hung", "stopped"), True),
    (("unit_missing",), True),
    (("crash_loop",), True),
    (("port_conflict",), True),
    (("terminal_lost",), True),
    (("disabled_stopped",), True),
])
def test_the_broker_is_rendered_again_unless_every_finding_leaves_its_deployment_as_it_was(causes, expected):
    assert redeploy([{"cause": c, "detail": "x"} for c in causes]) is expected


def test_a_hung_or_firewalled_broker_is_not_rendered_again_and_a_stopped_one_is():
    assert diagnose(facts(proc_state="T"))["redeploy"] is False
    assert diagnose(facts(rules=[DROP], clients_reach=False, ping=PING_OK))["redeploy"] is False
    assert diagnose(facts(state={"ActiveState": "inactive"}))["redeploy"] is True


def test_every_repair_step_has_its_task_and_no_task_decides_by_cause_name():
    with open(REPAIRS_YML) as f:
        text = f.read()
    whens = [line for line in text.splitlines() if line.strip().startswith(("when:", "loop:"))]
    for step in STEPS:
        assert any("'%s' in gateway_diagnosis.repairs" % step in w for w in whens), step
    assert not [w for w in whens if "cause" in w], whens


def test_gtws_own_ping_is_skipped_only_where_it_could_tell_nothing_saying_why():
    assert ping_skipped(7, "T", [], [], None) == "pid 7 is stopped (state T)"
    assert ping_skipped(7, "S", [HOLDER], [], None) == "another process holds the broker ports"
    assert ping_skipped(7, "S", [], [DROP], False) == "iptables rules drop the broker ports; the expected clients' ping decides"
    assert ping_skipped(7, "S", [], [DROP], True) == "iptables rules drop the broker ports; the expected clients' ping decides"
    # Rules but nobody asked INF (--limit): GTW's own ping is all there is.
    assert ping_skipped(7, "S", [], [DROP], None) is None
    assert ping_skipped(7, "S", [], [], False) is None
    assert ping_skipped(0, None, [], [], None) is None
