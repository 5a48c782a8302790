"""Settings that are wrong together: load()'s cross check, and the gateway's rule that trading
without CURVE must be asked for by name."""
import pytest

from mt5mesh.config import Option, load
from mt5mesh.gateway.schema import SCHEMA, problems

SMALL = (Option("count", int, 5, "how many", low=1, high=10), Option("flag", bool, False, "a flag"))
TRADING_WITHOUT_CURVE = ("trading: --trading without CURVE (curve_secret_key) would let any peer that reaches the REP "
                         "port trade; configure CURVE, or pass --allow-insecure-trading on a private network")


def test_a_cross_problem_exits_2_with_the_programs_name_and_the_message(capsys):
    with pytest.raises(SystemExit) as e:
        load("svc", SMALL, ["--flag"], cross=lambda cfg: "flag: needs count 9" if cfg.flag else None)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.endswith(": invalid configuration: flag: needs count 9\n") and err.count(":") == 3


def test_a_config_the_cross_check_accepts_is_returned_whole():
    seen = []
    cfg, _args = load("svc", SMALL, ["--count", "9"], cross=lambda c: seen.append(c.count))
    assert cfg.count == 9 and seen == [9]


@pytest.mark.parametrize("values,problem", [
    ({"trading": True}, TRADING_WITHOUT_CURVE),
    ({"trading": True, "allow_insecure_trading": True}, None),
    ({"trading": True, "curve_secret_key": "/k"}, None),
    ({"trading": False}, None),
    ({"allow_insecure_trading": True}, None),
])
def test_trading_without_curve_needs_allow_insecure_trading(values, problem):
    assert problems(values) == problem


def test_the_gateway_exits_2_naming_allow_insecure_trading_before_it_opens_anything(capsys):
    from mt5mesh.gateway.main import main
    with pytest.raises(SystemExit) as e:
        main(["--terminal", "paper", "--trading", "--journal", "/nonexistent/never-made"])
    assert e.value.code == 2 and TRADING_WITHOUT_CURVE in capsys.readouterr().err


def test_the_new_gateway_settings_have_their_documented_bounds():
    opts = {o.name: o for o in SCHEMA}
    assert (opts["order_retention_s"].default, opts["order_retention_s"].low) == (86400, 86400)
    assert (opts["journal_max_mb"].default, opts["journal_max_mb"].low) == (2048, 64)
    assert (opts["journal_segment_mb"].default, opts["journal_segment_mb"].low) == (32, 1)
    assert opts["allow_insecure_trading"].default is False and opts["allow_insecure_trading"].type_ is bool


@pytest.mark.parametrize("values,problem", [
    ({"curve_client_key": "/c"}, "curve_server_key: CURVE needs both keys; curve_client_key is set but curve_server_key is not"),
    ({"curve_server_key": "/s"}, "curve_client_key: CURVE needs both keys; curve_server_key is set but curve_client_key is not"),
    ({"curve_client_key": "/c", "curve_server_key": "/s"}, None),
    ({}, None),
])
def test_nexus_curve_needs_both_keys_or_neither(values, problem):
    from mt5mesh.nexus.schema_config import problems as nexus_problems
    assert nexus_problems(values) == problem


def test_nexus_with_a_curve_client_key_and_no_server_key_exits_2_with_one_line(capsys):
    from mt5mesh.nexus.main import main
    with pytest.raises(SystemExit) as e:
        main(["--curve-client-key", "/etc/mt5mesh/curve/client.key_secret"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert err.endswith(": invalid configuration: curve_server_key: CURVE needs both keys; "
                        "curve_client_key is set but curve_server_key is not\n")
