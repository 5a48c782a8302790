"""Malformed or hostile inventory values, passed to every module: each one is a clear error
(fail_json with a message naming the option), never a traceback, and nothing is touched first:
no socket, no DNS lookup, no subprocess before the value is validated."""
import socket
import subprocess

import pytest
from ansible.module_utils import basic

from ansible_collections.mt5crs.mesh.plugins.module_utils import mesh_common
from ansible_collections.mt5crs.mesh.plugins.modules import (mesh_gateway_diagnose, mesh_gateway_heartbeat, mesh_gateway_ping,
                                                             mesh_host_state, mesh_probe, mesh_remediation_report, mesh_report,
                                                             mesh_verify, mesh_wait_for_gateway, mt5_close_all, mt5_positions_info)
from support.module_harness import run_module

BAD_HOSTS = ["", "a b", "$(reboot)", "x;rm -rf /", "-oProxyCommand=id", "h" * 300, "a\x00b", "gtw\n", "`id`",
             "../../etc/passwd", "{'a': 1}"]
BAD_PORTS = [0, -1, 65536, 10 ** 12, "abc", True]
REMEDIATION = {"host": "gtw", "cause": "stopped", "detail": "d", "after": {"cause": "healthy", "detail": "d"}}
BAD_SECONDS = ["nan", "inf", "-inf", -1, 0, 1e300, "soon", [1]]


def gateway_cases(extra):
    cases = [dict(host=h) for h in BAD_HOSTS] + [dict(host="gtw", port=p) for p in BAD_PORTS]
    cases += [dict(host="gtw", timeout=t) for t in BAD_SECONDS]
    cases += [dict(host="gtw", curve_server_public_key="/tmp/server.key")]
    return cases + [dict(dict(host="gtw"), **e) for e in extra]


CHECK = {"id": "c", "phase": 2, "name": "n", "kind": "icmp", "args": {"host": "gtw"}}


def check(**changes):
    out = dict(CHECK, **{k: v for k, v in changes.items() if k != "args"})
    out["args"] = changes.get("args", CHECK["args"])
    return out


RESULT = {"checks": [{"id": "c", "ok": True}], "total": 1, "passed": 1, "rc": 0}

TRADE_FILTERS = ([dict(symbol=s) for s in ("", "EUR USD", "EURUSD\n", "x" * 40, "$(id)")]
                 + [dict(magic=m) for m in (-1, 2 ** 63, "x")])

CASES = {
    mt5_positions_info: gateway_cases(TRADE_FILTERS),
    mt5_close_all: gateway_cases(TRADE_FILTERS + [dict(client_id=c) for c in ("", "a\nb", "x" * 200)]),
    mesh_gateway_ping: gateway_cases([dict(retries=r) for r in (0, -5, 10 ** 6, "x")]),
    mesh_gateway_heartbeat: gateway_cases([dict(min_messages=m) for m in (0, -1, 10 ** 9)] + [dict(within=w) for w in BAD_SECONDS]),
    mesh_wait_for_gateway: gateway_cases([dict(connect_timeout=t) for t in BAD_SECONDS] + [dict(sleep=s) for s in ("nan", 0, 5, -1)]),
    mesh_probe: (
        [dict(kind="shell", target="x")]
        + [dict(kind=k, target=h) for k in ("icmp", "dns", "redis") for h in BAD_HOSTS if h]
        + [dict(kind="tcp", target="-f", port=22), dict(kind="tcp", target="gtw", port=0), dict(kind="tcp", target="gtw")]
        + [dict(kind="postgres", target="$(id)", database="d", user="u"), dict(kind="postgres", target="hub")]
        + [dict(kind=k, target=u) for k in ("http", "nexus_health") for u in (
            "file:///etc/passwd", "ftp://x/", "http://", "http://a b/", "http://[::1", "http://h:99999/", "gopher://h/", "//h/")]
        + [dict(kind="path", target="a\x00b"), dict(kind="icmp")]
        + [dict(kind="icmp", target="gtw", timeout=t) for t in BAD_SECONDS]
        + [dict(kind="python", minimum=m) for m in ("3.x", "'; import os", "", "1.2.3.4")]
        + [dict(kind="imports", modules=m) for m in ([""], ["os;rm"], [".rel"], ["a b"])]
        + [dict(kind="http", target="https://h/", expect_status=s) for s in (0, 1000)]
        + [dict(kind="nexus_health", target="http://127.0.0.1:9110/healthz", max_lag=x) for x in ("nan", -1)]
        + [dict(kind="redis", target="hub", database="0; FLUSHALL")]),
    mesh_verify: (
        [dict(catalog=c) for c in (
            [], ["x"], [{"id": 1}], [check(kind="shell")], [check(args="host=gtw")], [check(), check()],
            [check(phase="one")], [check(phase=True)],
            [check(args={"host": "-f"})], [check(args={"host": "$(id)"})], [check(args={"host": "gtw", "timeout": "nan"})],
            [check(kind="zmq_ping", args={"host": "gtw", "port": 70000})],
            [check(kind="zmq_ping", args={"host": "gtw", "retries": 10 ** 6})],
            [check(kind="http", args={"url": "file:///etc/shadow"})],
            [check(kind="dns", args={"name": "$(id)"})],
            [check(kind="imports", args={"modules": [""]})], [check(kind="imports", args={"modules": "zmq"})],
            [check(kind="python", args={"minimum": "three"})],
            [check(kind="redis", args={"host": "hub", "password_from": "nope"})],
            [check(kind="hub_bar_fresh", args={"pg": {"host": "$(id)", "db": "d", "user": "u"}})],
            [check(kind="icmp", args={"host": "gtw", "rm": "-rf"})],
            [check(kind="tcp", args={"host": "gtw"})],
        )]
        + [dict(catalog=[CHECK], parallel=p) for p in (0, -1, 10 ** 6, "x")]
        + [dict(catalog=[CHECK], credentials="secret"), dict(catalog=[CHECK], curve_client_secret_key="/tmp/c.key_secret")]),
    mesh_report: (
        [dict(result=r, dest="/tmp/reports", stamp="s")
         for r in ({}, dict(RESULT, checks="abc"), dict(RESULT, checks=["x"]), dict(RESULT, checks=[{"id": "c"}]), "text")]
        + [dict(result=RESULT, dest="/tmp/reports", stamp=s) for s in ("", "../x", "a/b", "a\x00", "x" * 100, "$(id)")]
        + [dict(result=RESULT, dest="/tmp/reports", stamp="s", vantages={"h": "text"})]
        + [dict(result=RESULT, dest="a\x00b", stamp="s")]),
    mesh_remediation_report: (
        [dict(report=REMEDIATION, dest="/tmp/reports", names=n)
         for n in ([], [""], ["../x.json"], ["a/b.json"], ["x.txt"], [".hidden.json"], ["a\x00.json"], ["x" * 200 + ".json"],
                   ["$(id).json"], ["ok.json", "-x"])]
        + [dict(report=r, dest="/tmp/reports", names=["r.json"]) for r in ({}, {"host": "h"}, "text")]
        + [dict(report=REMEDIATION, dest="a\x00b", names=["r.json"])]),
    mesh_gateway_diagnose: (
        [dict(address="gtw", unit=u) for u in ("-x", "a;b", "", "a b", "$(id).service")]
        + [dict(address=a) for a in BAD_HOSTS]
        + [dict(address="gtw", ports=p) for p in ([], [0], [70000], ["x"])]
        + [dict(address="gtw", journal_lines=n) for n in (-1, 10 ** 9)]
        + [dict(address="gtw", timeout=t) for t in BAD_SECONDS]),
    mesh_host_state: (
        [dict(files=[dict(path=p)]) for p in ("", "etc/x", "a\x00b", "/a\nb")]
        + [dict(files=[dict(path="/etc/x", mode=m)]) for m in ("rw-r--r--", "0888", "12", "$(id)")]
        + [dict(files=[dict(path="/etc/x", checksum=c)]) for c in ("abc", "g" * 40, "A" * 41)]
        + [dict(files=[dict(path="/etc/x", state="link")])]
        + [dict(packages=[n]) for n in ("-x", "--admindir=/tmp", "a b", "$(id)", "", "P" * 3)]
        + [dict(users=[dict(name=n)]) for n in ("-x", "Root", "a b", "x" * 40)]
        + [dict(units=[dict(name=n)]) for n in ("-x", "a;b", "", "a b", "$(id).service")]
        + [dict(lines=[dict(path="/etc/x", regexp=r, line="l")]) for r in ("(", "[a-")]
        + [dict(lines=[dict(path="rel", text="t")]), dict(lines=[dict(path="/etc/x")]), dict(lines=[dict(path="/etc/x", regexp="^a")])]
        + [dict(no_other=[dict(pattern=p)]) for p in ("*.key", "a\x00b")]
        + [dict(no_other=[dict(pattern="/etc/*.key", keep=["rel.key"])])]),
}
PARAMS = [pytest.param(m, a, id="%s-%d" % (m.__name__.rsplit(".", 1)[-1], i)) for m, cases in CASES.items() for i, a in enumerate(cases)]


@pytest.fixture
def no_io(monkeypatch):
    """Records (and refuses) any attempt at I/O: validation must come first."""
    attempts = []

    def refuse(what):
        def fn(*a, **k):
            attempts.append((what, a[:2]))
            raise OSError("test: %s attempted before validation" % what)
        return fn
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("connect"))
    monkeypatch.setattr(subprocess, "run", refuse("subprocess"))
    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess"))
    monkeypatch.setattr(basic.AnsibleModule, "run_command", refuse("run_command"))
    if mesh_common.zmq is not None:
        monkeypatch.setattr(mesh_common.zmq, "Context", refuse("zmq"))
    return attempts


@pytest.mark.parametrize("module,args", PARAMS)
def test_hostile_value_is_a_clear_error(module, args, no_io):
    try:
        kind, result = run_module(module, args)
    except Exception as e:  # a traceback is exactly what must not happen
        pytest.fail("%s raised %s: %s" % (module.__name__, type(e).__name__, e))
    assert kind == "fail", "accepted %r: %s" % (args, result)
    msg = result.get("msg")
    assert isinstance(msg, str) and msg.strip(), result
    assert "Traceback" not in msg and "exception" not in result, result
    assert not no_io, "I/O before validation: %s" % no_io
    # A clear error names what is wrong: the option (or, inside a catalog, the argument) given.
    names = option_names(args)
    assert any(name in msg for name in names), "message names none of %s: %s" % (sorted(names), msg)


def option_names(value):
    """Every key of the module args, nested mappings and lists of mappings included."""
    names = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            names.add(str(key))
            names |= option_names(inner)
    elif isinstance(value, list):
        for inner in value:
            names |= option_names(inner)
    return names


def test_every_module_has_hostile_cases():
    import glob
    import os
    names = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(os.path.dirname(mesh_probe.__file__), "*.py"))}
    assert names - {"__init__"} == {m.__name__.rsplit(".", 1)[-1] for m in CASES}
