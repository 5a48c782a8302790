"""Module names follow one prefix scheme (mesh_* for the mesh's checks and operations, mt5_* for
the terminal's trading operations), and every old name in meta/runtime.yml still leads to a module
that exists, so a playbook written with it keeps running until the announced removal."""
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIXES = ("mesh_", "mt5_")


def load(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return yaml.safe_load(f)


def plugins(kind):
    folder = os.path.join(ROOT, "plugins", kind)
    return sorted(n[:-3] for n in os.listdir(folder) if n.endswith(".py") and n != "__init__.py")


RUNTIME = load("meta", "runtime.yml")
MODULES = plugins("modules")
VERSION = load("galaxy.yml")["version"]


def routes(kind):
    return sorted(RUNTIME["plugin_routing"].get(kind, {}).items())


def test_every_module_has_a_scheme_prefix():
    assert MODULES
    assert [m for m in MODULES if not m.startswith(PREFIXES)] == []


@pytest.mark.parametrize("old, route", routes("modules"))
def test_each_old_module_name_redirects_to_an_existing_module(old, route):
    assert old not in MODULES, "%s is both a module and a redirect" % old
    collection, new = route["redirect"].rsplit(".", 1)
    assert collection == "mt5crs.mesh"
    assert new in MODULES


@pytest.mark.parametrize("old, route", routes("modules") + routes("action"))
def test_a_deprecated_name_names_its_successor_and_a_later_major_version(old, route):
    if "deprecation" not in route:
        return
    deprecation = route["deprecation"]
    assert route["redirect"] in deprecation["warning_text"]
    removal = tuple(int(x) for x in deprecation["removal_version"].split("."))
    assert removal[1:] == (0, 0) and removal[0] > int(VERSION.split(".")[0])


@pytest.mark.parametrize("old, route", routes("action"))
def test_an_old_action_name_redirects_to_the_action_plugin_of_its_module(old, route):
    # The action plugin is looked up by the name a task was written with: without this redirect
    # the old module name would run the module instead of writing in-process on the controller.
    assert RUNTIME["plugin_routing"]["modules"][old]["redirect"] == route["redirect"]
    assert route["redirect"].rpartition(".")[2] in plugins("action")


def test_old_names_of_modules_with_an_action_plugin_redirect_it_too():
    actions = set(plugins("action"))
    for old, route in routes("modules"):
        if route["redirect"].rpartition(".")[2] in actions:
            assert old in RUNTIME["plugin_routing"].get("action", {}), old


def test_the_gateway_action_group_lists_existing_modules_by_their_new_names():
    group = RUNTIME["action_groups"]["gateway"]
    assert group and set(group) <= set(MODULES)
