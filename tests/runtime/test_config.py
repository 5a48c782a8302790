"""Typed service config (mt5mesh.config): validated once at start, every bad value named."""
import pytest

from mt5mesh.config import ConfigError, Config, validate
from mt5mesh.gateway.schema import SCHEMA as GATEWAY
from mt5mesh.nexus.schema_config import SCHEMA as NEXUS


def test_defaults_of_both_schemas_validate():
    assert validate(GATEWAY, {}).heartbeat == 1.0
    cfg = validate(NEXUS, {})
    assert cfg.batch_size == 5000 and cfg["health_listen"] == "127.0.0.1:9110" and cfg.get("hub_pg_host") is None


@pytest.mark.parametrize("schema,values,needle", [
    (NEXUS, {"batch_size": "lots"}, "batch_size: 'lots' is not an integer from 1 to 1000000"),
    (NEXUS, {"batch_size": 1.5}, "batch_size: 1.5 is not an integer"),
    (NEXUS, {"batch_size": True}, "batch_size: True is not an integer"),
    (NEXUS, {"request_timeout": -5}, "request_timeout: -5 is not a number from 0.01 to 60"),
    (NEXUS, {"health_listen": 9110}, "health_listen: 9110 is not HOST:PORT"),
    (NEXUS, {"pg_port": 70000}, "pg_port: 70000 is not an integer from 1 to 65535"),
    (NEXUS, {"pg_db": "mt5; DROP"}, "pg_db: 'mt5; DROP' is not a lower-case identifier"),
    (NEXUS, {"flush_interval": float("nan")}, "flush_interval: nan is not a number"),
    (NEXUS, {"batch_sizee": 5}, "unknown key 'batch_sizee'"),
    (GATEWAY, {"heartbeat": -1}, "heartbeat: -1 is not a number from 0.01 to 60"),
    (GATEWAY, {"source": "mt5"}, "source: 'mt5' is not one of synthetic, pull"),
    (GATEWAY, {"symbols": "EURUSD\nrep: x"}, "symbols: 'EURUSD\\nrep: x' is not"),
    (GATEWAY, {"rep": "tcp://0.0.0.0:5555 extra"}, "rep: 'tcp://0.0.0.0:5555 extra' is not a ZeroMQ bind URL"),
    (GATEWAY, {"log_level": "LOUD"}, "log_level: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR"),
])
def test_a_bad_value_names_the_key_the_value_and_what_is_allowed(schema, values, needle):
    with pytest.raises(ConfigError) as e:
        validate(schema, values)
    assert needle in str(e.value)


def test_every_bad_value_is_reported_at_once():
    with pytest.raises(ConfigError) as e:
        validate(NEXUS, {"batch_size": 0, "max_lag": "x"})
    assert "batch_size" in str(e.value) and "max_lag" in str(e.value)


def test_secrets_are_never_echoed_in_errors():
    with pytest.raises(ConfigError) as e:
        validate(NEXUS, {"redis_url": "http://:hunter2-secret@h/0", "pg_password": 12345678})
    assert "hunter2" not in str(e.value) and "12345678" not in str(e.value) and "***" in str(e.value)


def test_bounds_are_inclusive():
    assert validate(GATEWAY, {"heartbeat": 0.01}).heartbeat == 0.01
    assert validate(GATEWAY, {"heartbeat": 60}).heartbeat == 60.0
    with pytest.raises(ConfigError):
        validate(GATEWAY, {"heartbeat": 60.001})


def test_config_is_frozen():
    cfg = validate(GATEWAY, {})
    with pytest.raises(AttributeError):
        cfg.rate = 5
    assert isinstance(cfg, Config) and cfg.as_dict()["rate"] == 100.0


def test_help_shows_real_defaults(capsys):
    from mt5mesh.gateway.main import main
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "(default: 1.0)" in out and "(default: None)" not in out
