"""The backend registry (gateway/backends.py) is the one list of what can feed a gateway: the
config schema, the terminal openers, the broker's message and the gateway_broker role's argument
spec and preflight all name exactly its backends."""
import os
import re

import yaml

from mt5mesh.gateway import backends
from mt5mesh.gateway.schema import SCHEMA
from mt5mesh.gateway.terminal import OPENERS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "gateway_broker")


def test_the_schema_offers_exactly_the_registry_and_its_help_names_each_backend():
    option = next(o for o in SCHEMA if o.name == "terminal")
    assert option.choices == backends.NAMES
    assert all(name in option.help for name in backends.NAMES)


def test_every_terminal_backend_has_an_opener_and_nothing_else_has_one():
    assert sorted(OPENERS) == sorted(backends.TERMINALS)
    assert set(backends.TERMINALS) < set(backends.NAMES) and "synthetic" not in backends.TERMINALS


def test_the_roles_argument_spec_and_preflight_name_exactly_the_registrys_backends():
    with open(os.path.join(ROLE, "meta", "argument_specs.yml")) as f:
        spec = yaml.safe_load(f)["argument_specs"]["main"]["options"]["gateway_broker_terminal"]
    assert sorted(spec["choices"]) == sorted(backends.NAMES)
    with open(os.path.join(ROLE, "tasks", "preflight.yml")) as f:
        text = f.read()
    listed = re.search(r"gateway_broker_terminal in \[([^\]]*)\]", text).group(1)
    assert sorted(x.strip().strip("'\"") for x in listed.split(",")) == sorted(backends.NAMES)
    assert "/".join(backends.NAMES) in " ".join(text.split())  # the failure message names them too


def test_a_gateway_without_a_terminal_names_the_backends_that_have_one():
    from mt5mesh.gateway.broker import Broker
    out = {o.name: o.default for o in SCHEMA}
    b = Broker(dict(out, terminal="synthetic"))
    reply = b._account_reply({"cmd": "account"})
    assert reply["ok"] is False and reply["error"].endswith("need paper, metatrader5 or mt5linux")
