"""Every module through AnsibleModule, with sockets mocked and time.sleep patched."""
import json
import os
import time
from unittest import mock

import pytest
from ansible.module_utils import basic

from ansible_collections.mt5crs.mesh.plugins.module_utils import catalog, gateway_probes
from ansible_collections.mt5crs.mesh.plugins.modules import mesh_gateway_heartbeat, mesh_gateway_ping, mesh_probe
from ansible_collections.mt5crs.mesh.plugins.modules import mesh_remediation_report, mesh_report, mesh_verify, mesh_wait_for_gateway
from support.module_harness import run_module

PING_OK = {"ok": True, "detail": "answers", "is_available": True, "error": None, "rtt_ms": 0.4,
           "version": "0.1.0", "epoch": 42, "seq": 7, "uptime_s": 1.0}
PING_DOWN = {"ok": False, "detail": "gateway tcp://h:5555: no reply", "is_available": False,
             "error": "no reply", "rtt_ms": None}


class FakeSocket:
    """A REQ socket that never answers: what a hung (SIGSTOPped) broker looks like."""
    closed = 0

    def setsockopt(self, *a):
        pass

    def connect(self, url):
        self.url = url

    def send(self, data):
        self.sent = data

    def poll(self, *a):
        return 0

    def close(self, *a):
        FakeSocket.closed += 1


def test_mesh_gateway_ping_reports_hung_broker_as_unavailable_and_resets_socket():
    ctx = mock.Mock()
    ctx.socket.side_effect = lambda kind: FakeSocket()
    FakeSocket.closed = 0
    with mock.patch("zmq.Context.instance", return_value=ctx):
        kind, res = run_module(mesh_gateway_ping, {"host": "10.0.0.1", "timeout": 0.01, "retries": 3})
    assert kind == "exit" and res["is_available"] is False and res["changed"] is False
    assert "no reply" in res["error"] and "10.0.0.1:5555" in res["error"]
    assert ctx.socket.call_count == 3 and FakeSocket.closed == 3  # Lazy Pirate: a fresh socket per try
    assert res["socket_resets"] == 3


def test_mesh_gateway_ping_success_fields():
    with mock.patch.object(gateway_probes, "zmq_ping", return_value=dict(PING_OK)):
        kind, res = run_module(mesh_gateway_ping, {"host": "gtw"})
    assert kind == "exit" and res["is_available"] and res["epoch"] == 42 and res["seq"] == 7


@pytest.mark.parametrize("args,needle", [
    ({"host": "gtw", "port": 70000}, "port must be 1-65535"),
    ({"host": "gtw", "timeout": 0}, "timeout must be > 0"),
    ({"host": "g t w"}, "host must be"),
    ({"host": "gtw", "retries": 0}, "retries must be an integer 1-100"),
    ({"host": "gtw", "curve_client_secret_key": "/x"}, "parameters are required together: curve_server_public_key, curve_client_secret_key"),
])
def test_mesh_gateway_ping_validates_input(args, needle):
    kind, res = run_module(mesh_gateway_ping, args)
    assert kind == "fail" and needle in res["msg"]


def test_mesh_gateway_heartbeat_fail_on_missing():
    down = {"ok": False, "detail": "tcp://gtw:5556 delivered 0 of 2 event(s) within 1.0s", "count": 0,
            "seq_first": None, "seq_last": None, "gaps": 0, "epoch": None, "malformed": 0,
            "heartbeat_age_s": None, "heartbeat_ts": None}
    with mock.patch.object(gateway_probes, "zmq_heartbeat", return_value=down):
        kind, res = run_module(mesh_gateway_heartbeat, {"host": "gtw", "min_messages": 2, "within": 1, "fail_on_missing": True})
    assert kind == "fail" and "delivered 0 of 2" in res["msg"]


def test_mesh_wait_for_gateway_polls_fast_until_the_broker_answers():
    answers = [dict(PING_DOWN), dict(PING_DOWN), dict(PING_OK)]
    with mock.patch.object(gateway_probes, "zmq_ping", side_effect=answers) as ping, \
            mock.patch("time.sleep") as sleep:
        kind, res = run_module(mesh_wait_for_gateway, {"host": "gtw", "timeout": 30})
    assert kind == "exit" and res["attempts"] == 3 and res["epoch"] == 42 and "elapsed" in res
    assert all(call.args[0] <= 0.25 for call in sleep.call_args_list)
    assert ping.call_args.kwargs["timeout"] <= 1.0


def test_mesh_wait_for_gateway_times_out_with_elapsed_and_custom_msg():
    clock = iter(range(0, 1000))
    with mock.patch.object(gateway_probes, "zmq_ping", return_value=dict(PING_DOWN)), \
            mock.patch("time.sleep"), \
            mock.patch("time.time", side_effect=lambda: float(next(clock))):
        kind, res = run_module(mesh_wait_for_gateway, {"host": "gtw", "timeout": 5, "msg": "GTW never came"})
    assert kind == "fail" and res["msg"] == "GTW never came" and res["elapsed"] >= 5 and res["attempts"] >= 1


def test_mesh_wait_for_gateway_rejects_slow_polling():
    kind, res = run_module(mesh_wait_for_gateway, {"host": "gtw", "sleep": 5})
    assert kind == "fail" and "sleep must be between" in res["msg"]


def test_mesh_probe_path_and_secret_handling(tmp_path):
    f = tmp_path / "hook"
    f.write_text("#!/bin/sh\n")
    os.chmod(str(f), 0o755)
    kind, res = run_module(mesh_probe, {"kind": "path", "target": str(f), "path_type": "executable"})
    assert kind == "exit" and res["is_available"]
    kind, res = run_module(mesh_probe, {"kind": "path", "target": str(tmp_path / "nope"), "fail_on_unavailable": True})
    assert kind == "fail" and "does not exist" in res["msg"]
    kind, res = run_module(mesh_probe, {"kind": "tcp", "target": "h"})
    assert kind == "fail" and "port" in res["msg"]
    assert mesh_probe.main.__module__  # module imports cleanly
    assert "no_log" in open(mesh_probe.__file__).read().split("password=dict(")[1].split(")")[0]


def test_mesh_probe_redis_names_target_and_cause_within_its_timeout():
    t0 = time.monotonic()
    kind, res = run_module(mesh_probe, {"kind": "redis", "target": "127.0.0.1", "port": 1, "timeout": 0.5})
    assert kind == "exit" and not res["is_available"] and "127.0.0.1:1" in res["detail"]
    # A refused port answers at once: no client-side retries past the probe's timeout (3-4 s before).
    assert time.monotonic() - t0 < 0.5


def fake_catalog(missing):
    # The missing path lives under pytest's own tmp dir: "/nonexistent" exists on some machines
    # (CI had one), and a test of the failing branch must not depend on the host's root.
    return [
        {"id": "a", "phase": 1, "phase_name": "Local", "name": "A", "kind": "python", "args": {"minimum": "3.0"}},
        {"id": "b", "phase": 3, "phase_name": "Ports", "name": "B", "kind": "path", "args": {"path": str(missing)}},
        {"id": "x", "phase": 5, "phase_name": "Ext", "name": "X", "kind": "path", "args": {"path": "/"}, "extended": True},
    ]


def test_mesh_verify_scores_partial_and_fails_naming_checks(tmp_path):
    missing = tmp_path / "never-made"
    kind, res = run_module(mesh_verify, {"catalog": fake_catalog(missing)})
    assert kind == "fail" and res["rc"] == 1 and res["total"] == 2 and res["passed"] == 1
    assert "B (%s does not exist)" % missing in res["msg"]
    assert res["extended"] == {"total": 1, "passed": 1, "ok": True}
    assert [p["passed"] for p in res["phases"]] == [1, 0]


def test_mesh_verify_all_pass_is_rc0(tmp_path):
    cat = fake_catalog(tmp_path / "never-made")
    cat[1]["args"]["path"] = "/"
    kind, res = run_module(mesh_verify, {"catalog": cat})
    assert kind == "exit" and res["rc"] == 0 and res["percent"] == 100.0 and res["status"] == "FULL MESH"


def test_mesh_verify_runs_a_path_check_in_its_old_spelling_and_warns(tmp_path):
    cat = fake_catalog(tmp_path)
    cat[1]["args"]["kind"] = "dir"
    with mock.patch.object(basic.AnsibleModule, "deprecate") as deprecate:
        kind, res = run_module(mesh_verify, {"catalog": cat})
    assert kind == "exit" and res["rc"] == 0
    deprecate.assert_called_once_with("check b: arg kind of a path check is now path_type", version="2.0.0",
                                      collection_name="mt5crs.mesh")


def test_mesh_verify_validates_the_catalog_up_front():
    pg_args = {"host": "h", "db": "d", "user": "u", "password_from": "nope", "color": 1}
    bad = [{"id": "a", "phase": "1", "name": "A", "kind": "teleport", "args": {}},
           {"id": "p", "phase": 1, "name": "P", "kind": "postgres", "args": pg_args}]
    kind, res = run_module(mesh_verify, {"catalog": bad})
    assert kind == "fail"
    text = " ".join(res["errors"])
    assert "check a: phase must be an integer" in text and "unknown kind 'teleport'" in text
    assert "takes no arg 'color'" in text and "password_from 'nope' is not in credentials" in text


def test_catalog_rc_rules_and_secret_resolution():
    def r(phase, ok, critical=False, extended=False):
        return {"id": str(phase), "phase": phase, "phase_name": "p", "name": "n", "ok": ok, "detail": "",
                "critical": critical, "extended": extended, "elapsed_ms": 1}
    assert catalog.score([r(1, False), r(3, True)])["rc"] == 2   # local environment broken: compromised
    assert catalog.score([r(3, False, critical=True)])["rc"] == 2
    assert catalog.score([r(3, False), r(1, True)])["rc"] == 1
    assert catalog.score([r(3, True), r(5, False, extended=True)])["rc"] == 0
    seen = {}
    with mock.patch.dict(catalog.KINDS, {"postgres": (lambda **kw: seen.update(kw) or {"ok": True, "detail": ""}, False)}):
        catalog.run_check({"id": "p", "phase": 1, "name": "P", "kind": "postgres",
                           "args": {"host": "h", "password_from": "pg"}}, {"pg": "s3cret"})
    assert seen == {"host": "h", "password": "s3cret"}


def test_mesh_report_writes_all_formats_atomically(tmp_path):
    result = catalog.score(catalog.run_catalog(fake_catalog(tmp_path / "never-made"), {}))
    kind, res = run_module(mesh_report, {"result": result, "dest": str(tmp_path / "r"), "stamp": "20260101T000000Z"})
    assert kind == "exit"
    latest = json.loads((tmp_path / "r" / "latest.json").read_text())
    assert latest["total"] == 2 and latest["passed"] == 1 and latest["rc"] == 1 and len(latest["checks"]) == 3
    assert "<testsuite" in (tmp_path / "r" / "latest.xml").read_text()
    md = (tmp_path / "r" / "latest.md").read_text()
    assert "## Phase 1: Local (1/1)" in md and "TOTAL:" in md
    assert not list((tmp_path / "r").glob(".tmp-*"))


def test_mesh_report_check_mode_writes_nothing(tmp_path):
    result = catalog.score([])
    kind, res = run_module(mesh_report, {"result": result, "dest": str(tmp_path / "r"), "stamp": "s", "_ansible_check_mode": True})
    assert kind == "exit" and res["changed"] and not (tmp_path / "r").exists()


REMEDIATION = {"host": "gtw.lab", "cause": "stopped", "detail": "mt5mesh-gateway.service is stopped",
               "after": {"cause": "healthy", "detail": "answers ping"}, "journal": ["a", "b"], "waited_s": 0.4}


def test_mesh_remediation_report_writes_the_same_json_under_each_name_atomically(tmp_path):
    dest = tmp_path / "new" / "reports"
    kind, res = run_module(mesh_remediation_report, {"report": REMEDIATION, "dest": str(dest),
                                                     "names": ["remediation-gtw.lab.json", "remediation-latest.json"]})
    assert kind == "exit"
    assert res["files"] == [str(dest / "remediation-gtw.lab.json"), str(dest / "remediation-latest.json")]
    for name in ("remediation-gtw.lab.json", "remediation-latest.json"):
        text = (dest / name).read_text()
        assert json.loads(text) == REMEDIATION and text.endswith("}\n") and '\n    "after": {' in text
    assert sorted(p.name for p in dest.iterdir()) == ["remediation-gtw.lab.json", "remediation-latest.json"]


def test_mesh_remediation_report_check_mode_writes_nothing(tmp_path):
    kind, res = run_module(mesh_remediation_report, {"report": REMEDIATION, "dest": str(tmp_path / "r"), "names": ["x.json"],
                                                     "_ansible_check_mode": True})
    assert kind == "exit" and res["files"] == [str(tmp_path / "r" / "x.json")] and not (tmp_path / "r").exists()


def test_mesh_remediation_report_unwritable_dest_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    kind, res = run_module(mesh_remediation_report, {"report": REMEDIATION, "dest": str(blocker / "r"), "names": ["x.json"]})
    assert kind == "fail" and res["msg"].startswith("cannot write the remediation report to %s: " % (blocker / "r"))


class FakeRun:
    """systemctl / ss / iptables / journalctl answers for mesh_gateway_diagnose."""

    def __init__(self, show, ss="", iptables="", journal=""):
        self.out = {"systemctl": show, "ss": ss, "iptables": iptables, "journalctl": journal}

    def __call__(self, cmd, **kwargs):
        return 0, self.out[cmd[0]], ""


SHOW_ACTIVE = "ActiveState=active\nSubState=running\nUnitFileState=enabled\nNRestarts=0\nMainPID=0\nResult=success\nLoadState=loaded\n"


@pytest.mark.parametrize("show,ss,iptables,ping_ok,cause", [
    ("ActiveState=inactive\nSubState=dead\nUnitFileState=enabled\nNRestarts=0\nMainPID=0\nResult=success\nLoadState=loaded\n",
     "", "", False, "stopped"),
    ("ActiveState=inactive\nSubState=dead\nUnitFileState=disabled\nNRestarts=0\nMainPID=0\nResult=success\nLoadState=loaded\n",
     "", "", False, "disabled_stopped"),
    ("ActiveState=failed\nSubState=failed\nUnitFileState=enabled\nNRestarts=5\nMainPID=0\nResult=start-limit-hit\nLoadState=loaded\n",
     "", "", False, "crash_loop"),
    (SHOW_ACTIVE, "", "", False, "hung"),
    (SHOW_ACTIVE, "", "-A INPUT -p tcp -m tcp --dport 5555 -j DROP\n", False, "firewall"),
    (SHOW_ACTIVE, 'LISTEN 0 5 10.0.0.1:5555 0.0.0.0:* users:(("python3",pid=4242,fd=3))\n', "", False, "port_conflict"),
    (SHOW_ACTIVE, "", "", True, "healthy"),
])
def test_mesh_gateway_diagnose_names_the_cause(monkeypatch, tmp_path, show, ss, iptables, ping_ok, cause):
    from ansible_collections.mt5crs.mesh.plugins.modules import mesh_gateway_diagnose
    monkeypatch.setattr(basic.AnsibleModule, "run_command", FakeRun(show, ss, iptables))
    real_exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: True if p.endswith(".service") else real_exists(p))
    ping = dict(PING_OK) if ping_ok else dict(PING_DOWN)
    with mock.patch.object(gateway_probes, "zmq_ping", return_value=ping):
        kind, res = run_module(mesh_gateway_diagnose, {"address": "10.0.0.1"})
    assert kind == "exit" and res["cause"] == cause, res
    if cause == "port_conflict":
        assert res["port_holders"][0]["pid"] == 4242
    if cause == "firewall":
        assert "--dport 5555 -j DROP" in res["firewall_rules"][0]


def test_mesh_verify_missing_curve_keys_fail_only_the_zmq_checks(tmp_path):
    """Establish step 1 on fresh hosts with CURVE on: the key files do not exist yet."""
    checks = [{"id": "env.path", "phase": 1, "name": "p", "kind": "path", "args": {"path": str(tmp_path)}},
              {"id": "app.gtw_req", "phase": 3, "name": "GTW ZMQ REQ", "kind": "zmq_ping", "args": {"host": "gtw"}}]
    kind, res = run_module(mesh_verify, {"catalog": checks, "curve_server_public_key": str(tmp_path / "gateway.key"),
                                         "curve_client_secret_key": str(tmp_path / "client.key_secret")})
    assert kind == "fail" and res["rc"] == 1
    by_id = {c["id"]: c for c in res["checks"]}
    assert by_id["env.path"]["ok"] and not by_id["app.gtw_req"]["ok"]
    assert "cannot load CURVE keys" in by_id["app.gtw_req"]["detail"]


class NeverConnectedSocket(FakeSocket):
    """A REQ socket no peer ever completed a connection to (e.g. a CURVE handshake that fails):
    send blocks, or with SNDTIMEO raises zmq.Again."""

    def setsockopt(self, opt, value):
        self.opts = dict(getattr(self, "opts", {}), **{str(opt): value})

    def send(self, data):
        import zmq
        if str(zmq.SNDTIMEO) not in getattr(self, "opts", {}):
            raise AssertionError("send without SNDTIMEO would block for ever here")
        raise zmq.Again()


def test_mesh_gateway_ping_send_that_cannot_complete_times_out_and_resets():
    ctx = mock.Mock()
    ctx.socket.side_effect = lambda kind: NeverConnectedSocket()
    with mock.patch("zmq.Context.instance", return_value=ctx):
        kind, res = run_module(mesh_gateway_ping, {"host": "10.0.0.1", "timeout": 0.01, "retries": 2})
    assert kind == "exit" and res["is_available"] is False
    assert "could not send" in res["error"] and res["socket_resets"] == 2
