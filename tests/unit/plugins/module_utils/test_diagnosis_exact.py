"""diagnosis.py, exactly: each cause's detail as the operator reads it in a failed play (unit,
state, pid, journal line), and the journal parsing at its edges. Facts are plain dicts."""
from ansible_collections.mt5crs.mesh.plugins.module_utils import diagnosis

UNIT = "mt5mesh-gateway.service"
DOWN = {"ok": False, "detail": "no reply within 1.000s"}
UP = {"ok": True, "detail": "tcp://127.0.0.1:5555 answers ping"}
KILL = "2026-11-27T08:00:01.250000+0000 gtw systemd[1]: %s: Main process exited, code=killed, status=9/KILL" % UNIT
FAILED = "2026-11-27T08:00:01.260000+0000 gtw systemd[1]: %s: Failed with result 'signal'." % UNIT
STOPPED = "2026-11-27T08:00:01.300000+0000 gtw systemd[1]: Stopped %s." % UNIT
STARTED = "2026-11-27T08:00:02.000000+0000 gtw systemd[1]: Started %s." % UNIT


def facts(**kw):
    base = dict(unit=UNIT, unit_file_exists=True, proc_state="S", ping=DOWN, holders=[], rules=[], recent=[],
                clients_reach=None, unit_state={"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
                                                "UnitFileState": "enabled", "MainPID": "4242", "NRestarts": "0"})
    state = kw.pop("state", {})
    base.update(kw)
    base["unit_state"] = dict(base["unit_state"], **state)
    return base


def test_restart_delay_is_from_the_last_kill_to_the_next_start_in_milliseconds():
    assert diagnosis.restart_delay([KILL, FAILED, STOPPED, STARTED]) == 0.75
    # a line whose first word is not a timestamp is skipped, not an error
    assert diagnosis.restart_delay(["-- Boot 1 --", KILL, "garbage line", STARTED]) == 0.75
    assert diagnosis.restart_delay([STARTED, KILL]) is None  # a start before the kill does not count
    assert diagnosis.restart_delay([KILL.replace("01.250000", "01.250300"), STARTED.replace("02.000000", "02.000000")]) == 0.75
    assert diagnosis.restart_delay([KILL.replace("01.250000", "01.250400"), STARTED]) == 0.75  # rounded to 3 digits


def test_restart_delay_reads_the_stamp_before_the_first_space_only():
    # The timestamp is the first word; a later "Started " on the kill line must not end the search.
    assert diagnosis.restart_delay([KILL, "2026-11-27T08:00:03.000000+0000 x y Started z"]) == 1.75


def test_killed_then_restarted_needs_a_start_after_the_kill_and_no_stop_after_that_start():
    assert diagnosis.killed_then_restarted([KILL, FAILED, STOPPED, STARTED]) == KILL
    assert diagnosis.killed_then_restarted([STARTED]) is None
    assert diagnosis.killed_then_restarted([KILL]) is None
    assert diagnosis.killed_then_restarted([STARTED, KILL]) is None  # the start came before the kill
    for later in ("Stopping %s..." % UNIT, "Stopped %s." % UNIT, "%s: Deactivated successfully." % UNIT):
        assert diagnosis.killed_then_restarted([KILL, STARTED, later]) is None, later
    # only the last kill counts
    assert diagnosis.killed_then_restarted([KILL, STARTED, KILL + " again"]) is None
    assert diagnosis.killed_then_restarted([KILL + " first", STARTED, KILL, STARTED]) == KILL


def test_the_kill_line_right_after_which_the_start_comes_is_found():
    assert diagnosis.killed_then_restarted([KILL, STARTED, "unrelated"]) == KILL
    assert diagnosis.killed_then_restarted(["x", KILL, STARTED]) == KILL


def test_unit_missing_detail_is_exact():
    out = diagnosis.diagnose(facts(unit_file_exists=False))
    assert (out["cause"], out["detail"]) == ("unit_missing", "%s is not installed (/etc/systemd/system/%s missing)" % (UNIT, UNIT))


def test_port_conflict_detail_lists_every_holder_exactly():
    holders = [{"port": 5555, "pid": 77, "cmdline": "nc -l 5555"}, {"port": 5556, "pid": 78, "cmdline": "python3 x"}]
    out = diagnosis.diagnose(facts(holders=holders))
    assert out["detail"] == "port(s) held by another process: 5555 by pid 77 (nc -l 5555); 5556 by pid 78 (python3 x)"


def test_firewall_detail_says_whether_the_clients_were_asked_exactly():
    rules = ["-A INPUT -p tcp --dport 5555 -j DROP", "-A INPUT -p tcp --dport 5556 -j DROP"]
    out = diagnosis.diagnose(facts(rules=rules, clients_reach=False))
    assert out["detail"] == ("iptables drops the broker ports and the expected clients cannot reach it: "
                             "-A INPUT -p tcp --dport 5555 -j DROP; -A INPUT -p tcp --dport 5556 -j DROP")
    out = diagnosis.diagnose(facts(rules=rules[:1]))
    assert out["detail"] == "iptables drops the broker ports: -A INPUT -p tcp --dport 5555 -j DROP"


def test_allowed_firewall_is_a_note_listing_every_rule_exactly():
    rules = ["-A INPUT -s 10.0.0.1 -j ACCEPT", "-A INPUT -j DROP"]
    out = diagnosis.diagnose(facts(rules=rules, clients_reach=True))
    assert out["cause"] == "healthy" and out["detail"] == "the expected clients reach the broker"
    assert out["notes"] == ["iptables rules on the broker ports do not keep the expected clients out, left in place: "
                            "-A INPUT -s 10.0.0.1 -j ACCEPT; -A INPUT -j DROP"]


def test_terminal_error_is_the_last_error_unless_a_connect_follows():
    err = "2026-11-27T08:00:01 gtw mt5mesh-gateway[1]: 2026-11-27 08:00:01 ERROR terminal mt5linux: does not answer"
    ok = "2026-11-27T08:00:02 gtw mt5mesh-gateway[1]: 2026-11-27 08:00:02 INFO terminal paper: connected, symbols EURUSD"
    assert diagnosis.terminal_error([err]) == err
    assert diagnosis.terminal_error([err, ok]) is None
    assert diagnosis.terminal_error([ok, err]) == err
    assert diagnosis.terminal_error([]) is None
    # an INFO line that is not a connect does not clear the error, nor does a connect of another kind of line
    assert diagnosis.terminal_error([err, ok.replace(": connected", ": selected")]) == err
    assert diagnosis.terminal_error([err, "x INFO other: connected"]) == err
    out = diagnosis.diagnose(facts(recent=[err]))
    assert out["detail"] == "the gateway lost its MetaTrader 5 terminal: terminal mt5linux: does not answer"
    twice = err.replace("does not answer", "failed ERROR again")
    assert diagnosis.diagnose(facts(recent=[twice]))["detail"] == (
        "the gateway lost its MetaTrader 5 terminal: terminal mt5linux: failed ERROR again")


def test_crash_loop_detail_names_result_restarts_and_last_exit_exactly():
    exited = "x systemd[1]: %s: Main process exited, code=exited, status=2/INVALIDARGUMENT" % UNIT
    out = diagnosis.diagnose(facts(state={"ActiveState": "failed", "Result": "exit-code", "NRestarts": "5"},
                                   recent=["noise", exited, FAILED, "more noise"]))
    assert out["detail"] == "%s keeps failing (Result=exit-code, NRestarts=5); last: %s" % (UNIT, FAILED)
    out = diagnosis.diagnose(facts(state={"ActiveState": "failed", "Result": "start-limit-hit", "NRestarts": "5"},
                                   recent=[exited, "noise"]))
    assert out["detail"] == "%s keeps failing (Result=start-limit-hit, NRestarts=5); last: %s" % (UNIT, exited)
    out = diagnosis.diagnose(facts(state={"ActiveState": "activating", "SubState": "auto-restart", "NRestarts": "2"}))
    assert out["cause"] == "crash_loop"
    assert out["detail"] == "%s keeps failing (Result=None, NRestarts=2); last: no exit logged" % UNIT


def test_one_restart_is_not_a_crash_loop():
    out = diagnosis.diagnose(facts(state={"ActiveState": "activating", "SubState": "auto-restart", "NRestarts": "1"}))
    assert out["cause"] != "crash_loop"


def test_disabled_and_stopped_details_are_exact():
    out = diagnosis.diagnose(facts(state={"UnitFileState": "disabled", "ActiveState": "inactive"}))
    assert (out["cause"], out["detail"]) == ("disabled_stopped", "%s is disabled and inactive" % UNIT)
    out = diagnosis.diagnose(facts(state={"ActiveState": "inactive"}))
    assert (out["cause"], out["detail"]) == ("stopped", "%s is stopped (enabled: enabled)" % UNIT)
    out = diagnosis.diagnose(facts(state={"ActiveState": "inactive", "UnitFileState": "static"}))
    assert (out["cause"], out["detail"]) == ("stopped", "%s is stopped (enabled: static)" % UNIT)
    out = diagnosis.diagnose(facts(state={"ActiveState": "inactive", "UnitFileState": "disabled"}))
    assert out["cause"] == "disabled_stopped" and [f["cause"] for f in out["findings"]] == ["disabled_stopped"]


def test_hung_detail_names_the_pid_and_the_ping_exactly():
    out = diagnosis.diagnose(facts(proc_state="T"))
    assert (out["cause"], out["detail"]) == ("hung", "pid 4242 is stopped (state T): it cannot answer its clients")
    out = diagnosis.diagnose(facts())
    assert (out["cause"], out["detail"]) == ("hung", "pid 4242 is alive but does not answer ping: no reply within 1.000s")


def test_killed_restarted_detail_is_exact():
    recent = [KILL, FAILED, STOPPED, STARTED]
    out = diagnosis.diagnose(facts(ping=UP, recent=recent, state={"NRestarts": "1"}))
    assert (out["cause"], out["detail"]) == ("killed_restarted", "the broker was killed (%s: Main process exited, "
                                             "code=killed, status=9/KILL) and systemd restarted it 0.75 s later (NRestarts=1)" % UNIT)
    assert out["restart_delay_s"] == 0.75
    out = diagnosis.diagnose(facts(ping=UP, recent=recent, state={"ActiveState": "activating", "NRestarts": "1"}))
    assert out["cause"] == "killed_restarted"


def test_int_of_a_missing_or_bad_value_is_zero():
    assert diagnosis._int(None) == 0 and diagnosis._int("") == 0 and diagnosis._int("x") == 0 and diagnosis._int("7") == 7


def test_facts_without_optional_keys_default_to_nothing_found():
    out = diagnosis.diagnose({"unit": UNIT, "ping": UP, "unit_state": {"LoadState": "loaded", "ActiveState": "active"}})
    assert out == {"cause": "healthy", "detail": UP["detail"], "findings": [], "repairs": [], "redeploy": True, "notes": [],
                   "restart_delay_s": None}


def test_unknown_detail_carries_the_ping_exactly():
    out = diagnosis.diagnose(facts(state={"ActiveState": "reloading"}))
    assert (out["cause"], out["detail"]) == ("unknown", "the broker does not answer and no known cause was found: "
                                                        "no reply within 1.000s")


def test_no_kill_line_means_no_kill_even_with_starts_later_in_the_journal():
    assert diagnosis.killed_then_restarted(["a", "b", STARTED, "c"]) is None


def test_a_kill_line_without_a_colon_is_shown_whole():
    bare = "2026-11-27T08:00:01.250000+0000 status=9/KILL"
    out = diagnosis.diagnose(facts(ping=UP, recent=[bare, STARTED], state={"NRestarts": "1"}))
    assert out["detail"] == "the broker was killed (%s) and systemd restarted it 0.75 s later (NRestarts=1)" % bare
