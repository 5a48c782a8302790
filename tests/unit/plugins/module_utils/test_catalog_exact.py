"""catalog.py, exactly: what run_check reports when a probe raises or pyzmq is missing, what
reaches a probe (credentials, CURVE keys, pyzmq), the row it returns, the score's figures and
names, and every validation message. Probes here are stand-ins registered as extra kinds."""
import threading
import time
from unittest import mock

import pytest

from ansible_collections.mt5crs.mesh.plugins.module_utils import catalog

CALLS = []


def recording(host, pg=None, password=None, zmq=None, curve=None):
    CALLS.append(dict(host=host, pg=pg, password=password, zmq=zmq, curve=curve))
    return {"ok": True, "detail": "seen %s" % host}


def raising(host):
    raise ValueError("no route to %s" % host)


def silent(host):
    return {"ok": True}


KINDS = dict(catalog.KINDS, rec=catalog.Kind(recording, False, "host", False),
             rec_zmq=catalog.Kind(recording, True, "host", False), boom=catalog.Kind(raising, False, "host", False),
             boom_zmq=catalog.Kind(raising, True, "host", False), silent=catalog.Kind(silent, False, "host", False))


@pytest.fixture(autouse=True)
def stand_ins():
    CALLS.clear()
    with mock.patch.dict(catalog.KINDS, KINDS):
        yield


def check(kind="rec", **kw):
    base = dict(id="c1", phase=3, name="a check", kind=kind, args={"host": "h1"})
    base.update(kw)
    return base


def test_a_probe_that_raises_scores_not_ok_with_its_exception_as_detail():
    row = catalog.run_check(check("boom"), {})
    assert row["ok"] is False and row["detail"] == "ValueError: no route to h1"


def test_missing_pyzmq_scores_not_ok_and_never_calls_the_probe():
    row = catalog.run_check(check("rec_zmq"), {}, zmq=None)
    assert row["ok"] is False and row["detail"] == "python library pyzmq is missing on this host" and CALLS == []


def test_a_curve_error_scores_not_ok_with_its_text_and_never_calls_the_probe():
    row = catalog.run_check(check("rec_zmq"), {}, zmq="ZMQ", curve_error="curve_public_key: no such file")
    assert row["ok"] is False and row["detail"] == "curve_public_key: no such file" and CALLS == []


def test_pyzmq_and_curve_keys_reach_a_zeromq_probe():
    row = catalog.run_check(check("rec_zmq"), {}, zmq="ZMQ", curve=("pub", "sec"))
    assert row["ok"] is True and CALLS == [dict(host="h1", pg=None, password=None, zmq="ZMQ", curve=("pub", "sec"))]


def test_credentials_reach_the_probe_top_level_and_nested_never_the_name():
    args = {"host": "h1", "password_from": "inf", "pg": {"db": "mt5", "password_from": "hub"}}
    catalog.run_check(check(args=args), {"inf": "s1", "hub": "s2"})
    assert CALLS == [dict(host="h1", pg={"db": "mt5", "password": "s2"}, password="s1", zmq=None, curve=None)]
    assert args["pg"] == {"db": "mt5", "password_from": "hub"}  # the catalog itself is left as it was


def test_the_row_holds_exactly_the_checks_fields_with_their_defaults():
    row = catalog.run_check(check("silent"), {})
    assert set(row) == {"id", "phase", "phase_name", "name", "kind", "ok", "detail", "critical", "extended", "gateway",
                        "elapsed_ms"}
    assert (row["id"], row["phase"], row["phase_name"], row["name"], row["kind"]) == ("c1", 3, "Phase 3", "a check", "silent")
    assert (row["ok"], row["detail"], row["critical"], row["extended"], row["gateway"]) == (True, "", False, False, None)
    row = catalog.run_check(check(phase_name="Mesh", critical=1, extended="yes", gateway="gtw2"), {})
    assert (row["phase_name"], row["critical"], row["extended"], row["gateway"]) == ("Mesh", True, True, "gtw2")


def test_elapsed_ms_is_milliseconds_rounded_to_one_decimal():
    def slow(host):
        time.sleep(0.05)
        return {"ok": True, "detail": ""}
    with mock.patch.dict(catalog.KINDS, {"slow": catalog.Kind(slow, False, "host", False)}):
        row = catalog.run_check(check("slow"), {})
    assert 50 <= row["elapsed_ms"] < 1000 and row["elapsed_ms"] == round(row["elapsed_ms"], 1)


def test_elapsed_ms_is_exactly_the_seconds_times_1000_to_one_decimal():
    with mock.patch.object(catalog.time, "time", side_effect=[100.0, 100.25678]):
        row = catalog.run_check(check("silent"), {})
    assert row["elapsed_ms"] == 256.8


def test_run_catalog_keeps_order_passes_credentials_and_curve_and_runs_at_most_parallel_at_once():
    live, peak, lock = [0], [0], threading.Lock()

    def busy(host, password=None, zmq=None, curve=None):
        with lock:
            live[0] += 1
            peak[0] = max(peak[0], live[0])
        time.sleep(0.03)
        with lock:
            live[0] -= 1
        return {"ok": True, "detail": "%s %s %s" % (host, password, curve)}
    with mock.patch.dict(catalog.KINDS, {"busy": catalog.Kind(busy, True, "host", False)}):
        checks = [check("busy", id="c%d" % i, args={"host": "h%d" % i, "password_from": "k"}) for i in range(4)]
        rows = catalog.run_catalog(checks, {"k": "pw"}, parallel=1, zmq="Z", curve="C")
        assert [r["detail"] for r in rows] == ["h%d pw C" % i for i in range(4)] and peak[0] == 1
        peak[0] = 0
        catalog.run_catalog(checks, {"k": "pw"}, parallel=2, zmq="Z", curve="C")
        assert peak[0] == 2
    assert catalog.run_catalog([], {}) == []


def test_run_catalog_runs_at_most_16_checks_at_once_by_default():
    # 17 checks (the seed's catalog) and the default: 16 run together, the 17th waits for a slot.
    live, peak, lock, gate = [0], [0], threading.Lock(), threading.Event()

    def held(host, password=None, zmq=None, curve=None):
        with lock:
            live[0] += 1
            peak[0] = max(peak[0], live[0])
            if live[0] >= 16:
                gate.set()
        gate.wait(2)
        time.sleep(0.05)  # every thread that can start starts while these are held
        with lock:
            live[0] -= 1
        return {"ok": True, "detail": host}
    with mock.patch.dict(catalog.KINDS, {"held": catalog.Kind(held, True, "host", False)}):
        checks = [check("held", id="c%d" % i, args={"host": "h%d" % i}) for i in range(17)]
        rows_ = catalog.run_catalog(checks, {}, zmq="Z")
    assert len(rows_) == 17 and peak[0] == 16


def rows(*specs):
    return [dict(id="r%d" % i, phase=phase, phase_name="P%d" % phase, name="n%d" % i, kind="rec", ok=ok,
                 detail="d%d" % i, critical=critical, extended=extended, elapsed_ms=1.0)
            for i, (phase, ok, critical, extended) in enumerate(specs)]


def test_score_percent_is_rounded_to_one_decimal_and_zero_without_core_checks():
    out = catalog.score(rows((2, True, False, False), (2, False, False, False), (3, False, False, False)))
    assert out["percent"] == 33.3 and (out["rc"], out["status"]) == (1, "PARTIAL")
    assert catalog.score(rows((2, True, False, True)))["percent"] == 0.0
    assert catalog.score(rows(*[(2, True, False, False)] * 2 + [(2, False, False, False)] * 1))["percent"] == 66.7


def test_score_status_names_are_exact():
    assert catalog.score(rows((2, True, False, False)))["status"] == "FULL MESH"
    assert catalog.score(rows((1, False, False, False)))["status"] == "COMPROMISED"
    assert catalog.score(rows((2, False, True, False)))["status"] == "COMPROMISED"


def test_failures_list_failed_core_then_failed_extended_checks_with_exact_fields():
    out = catalog.score(rows((2, False, False, False), (2, True, False, True), (3, False, False, True), (3, True, False, False)))
    assert out["failures"] == [{"id": "r0", "name": "n0", "detail": "d0"}, {"id": "r2", "name": "n2", "detail": "d2"}]
    assert out["extended"] == {"total": 2, "passed": 1, "ok": False}
    assert out["phases"] == [{"phase": 2, "name": "P2", "total": 1, "passed": 0}, {"phase": 3, "name": "P3", "total": 1, "passed": 1}]


def test_probe_args_leave_out_what_the_catalog_supplies():
    assert catalog.probe_args("zmq_ping") == ["host", "port", "timeout", "retries", "gateway_dialect", "action_ping"]
    assert "zmq" not in catalog.probe_args("ticks_fresh") and "curve" not in catalog.probe_args("ticks_fresh")


def errors_of(*checks, credentials=None, insecure=False):
    return catalog.validate(list(checks), credentials or {}, insecure)


def test_every_validation_message_is_exact():
    assert errors_of() == ["the catalog holds no check (a verify of nothing would pass)"]
    assert errors_of("x", check()) == ["catalog entry 0 is not a mapping"]
    assert errors_of({"kind": "rec", "args": {"host": "h"}}) == [
        "check #0: id must be a string", "check #0: name must be a string", "check #0: phase must be an integer"]
    assert errors_of(check(phase=True))[-1] == "check c1: phase must be an integer"
    assert errors_of(check(), check()) == ["check c1: duplicate id"]
    assert errors_of(check(kind="nope")) == ["check c1: unknown kind 'nope' (known: %s)" % ", ".join(sorted(catalog.KINDS))]
    assert errors_of(check(args=["host"])) == ["check c1: args must be a mapping"]
    assert errors_of(check(args={"host": "h", "colour": 1})) == [
        "check c1: kind rec takes no arg 'colour' (takes: host, password, pg)"]
    assert errors_of(check(args={})) == ["check c1: kind rec needs host"]
    assert errors_of(check(args={"host": "h", "password_from": "x"})) == ["check c1: password_from 'x' is not in credentials"]
    assert errors_of(check(args={"host": "h", "pg": {"password_from": "y"}})) == [
        "check c1: password_from 'y' is not in credentials"]


def test_a_bad_entry_does_not_stop_the_rest_of_the_catalog_being_checked():
    assert errors_of("x", check(id="a", kind="nope"), check(id="b", args=5), check(id="c", args={})) == [
        "catalog entry 0 is not a mapping", "check a: unknown kind 'nope' (known: %s)" % ", ".join(sorted(catalog.KINDS)),
        "check b: args must be a mapping", "check c: kind rec needs host"]


def test_nested_arguments_are_named_with_their_path():
    assert errors_of(check(args={"host": "h", "pg": {"port": 0, "db": 5}})) == [
        "check c1: pg.port must be 1-65535, got 0", "check c1: pg.db must be a string, got int"]


def test_policy_messages_are_exact():
    assert errors_of(check(args={"host": "h", "password": "s"})) == [
        "check c1: a password in args would be logged with the catalog; name a credential with password_from"]
    assert errors_of(check(args={"host": "h", "pg": {"password": "s"}})) == [
        "check c1: a password in args would be logged with the catalog; name a credential with password_from"]
    long_name = "m" * 50
    assert errors_of(check(kind="imports", args={"modules": ["zmq", "os", long_name]})) == [
        "check c1: modules os, %s are not on the import allow-list (%s)" % ("m" * 40, ", ".join(catalog.ALLOWED_IMPORTS))]
    assert errors_of(check(kind="http", args={"url": "https://h/", "validate_certs": False})) == [
        "check c1: validate_certs: false needs allow_insecure_tls: true on the module"]
    assert errors_of(check(kind="http", args={"url": "https://h/", "validate_certs": False}), insecure=True) == []


def test_one_of_and_of_type_say_exactly_what_is_allowed():
    assert catalog._one_of(("a", 1))("k", "b") == "k must be one of a, 1, got 'b'"
    assert catalog._one_of(("a",))("k", "x" * 100) == "k must be one of a, got %r" % ("x" * 80)
    assert catalog._one_of(("a",))("k", "a") is None
    assert catalog._of_type(str, "a string")("db", "mt5") is None
    assert catalog._of_type(str, "a string")("db", True) == "db must be a string, got bool"
    assert catalog._of_type(bool, "true or false")("v", True) is None
    assert catalog._of_type(bool, "true or false")("v", "yes") == "v must be true or false, got str"
    assert catalog._of_type(int, "an integer")("n", True) == "n must be an integer, got bool"
    assert catalog._of_type(int, "an integer")("n", 3) is None


def test_a_check_without_args_is_valid_and_runs_its_probe_with_defaults():
    plain = dict(id="py", phase=1, name="python", kind="python")
    assert catalog.validate([plain], {}) == []
    row = catalog.run_check(plain, {})
    assert row["ok"] is True and row["detail"].startswith("Python ") and "(>= 3.9)" in row["detail"]


def test_every_missing_argument_is_named():
    assert errors_of(check(kind="tcp", args={})) == ["check c1: kind tcp needs host, port"]


def test_resolve_leaves_plain_values_as_they_are():
    assert catalog._resolve({"port": 5555, "host": "password_from", "pg": {"db": "x"}}, {}) == {
        "port": 5555, "host": "password_from", "pg": {"db": "x"}}


def test_elapsed_ms_is_a_float_even_for_a_whole_number():
    assert isinstance(catalog.run_check(check("silent"), {})["elapsed_ms"], float)


def test_each_gateway_s_checks_use_its_own_curve_keys_and_the_rest_the_default():
    checks = [check("rec_zmq", id="a", gateway="gtw"), check("rec_zmq", id="b", gateway="gtw2", args={"host": "h2"}),
              check("rec_zmq", id="c", gateway="gtw3", args={"host": "h3"}), check("rec_zmq", id="d", args={"host": "h4"})]
    rows = catalog.run_catalog(checks, {}, 1, zmq="ZMQ", curve=("default",), curve_error=None,
                               curves={"gtw2": (("own",), None), "gtw3": (None, "cannot load CURVE keys: gtw3")})
    assert [(r["id"], r["ok"], r["detail"]) for r in rows] == [
        ("a", True, "seen h1"), ("b", True, "seen h2"), ("c", False, "cannot load CURVE keys: gtw3"), ("d", True, "seen h4")]
    assert [(c["host"], c["curve"]) for c in CALLS] == [("h1", ("default",)), ("h2", ("own",)), ("h4", ("default",))]
