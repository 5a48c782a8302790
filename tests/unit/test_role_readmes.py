"""Each role's options are said once, in its argument spec: the role README points there (to
ansible-doc and the HTML docs) instead of restating them, where a copy would drift."""
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(r for r in os.listdir(os.path.join(ROOT, "roles")) if os.path.isdir(os.path.join(ROOT, "roles", r)))


def options(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as f:
        specs = yaml.safe_load(f)["argument_specs"]
    return {name: opt for entry in specs.values() for name, opt in (entry.get("options") or {}).items()}


@pytest.mark.parametrize("role", ROLES)
def test_a_role_readme_points_to_its_argument_spec_and_restates_no_option(role):
    with open(os.path.join(ROOT, "roles", role, "README.md")) as f:
        text = f.read()
    assert "ansible-doc -t role mt5crs.mesh.%s" % role in text
    assert [name for name in options(role) if "| `%s`" % name in text] == []


@pytest.mark.parametrize("role", ROLES)
def test_every_option_of_a_role_has_a_type_and_a_description(role):
    opts = options(role)
    assert opts and [n for n, o in opts.items() if not o.get("description") or not o.get("type")] == []
