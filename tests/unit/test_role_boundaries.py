"""Roles talk through declared outputs only: whatever a role or playbook reads from another host's
variables (``hostvars[...]``) must be a role's ``<role>_result`` fact. A role's other variables and
registers are its own business, free to change without breaking a caller."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(os.listdir(os.path.join(ROOT, "roles")))
# hostvars[X].name, hostvars[X]['name'] (X may hold brackets of its own: groups['inf'][0]), and
# map('extract', hostvars, 'name')
HOST = r"hostvars\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
READS = (re.compile(HOST + r"\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)"),
         re.compile(HOST + r"\s*\[\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]"),
         re.compile(r"extract['\"]?\s*,\s*hostvars\s*,\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]"))


def reads(text):
    return [m.group(1) for pattern in READS for m in pattern.finditer(text)]


def yaml_files():
    for top in ("roles", "playbooks"):
        for root, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith((".yml", ".yaml", ".j2")):
                    yield os.path.join(root, name)


def test_the_reader_finds_every_form_of_a_hostvars_read():
    assert reads("{{ hostvars[h].a_b }} {{ hostvars[groups['inf'][0]]['c'] }} "
                 "{{ hosts | map('extract', hostvars, 'd_result') }}") == ["a_b", "c", "d_result"]


def test_no_role_or_playbook_reads_anything_of_another_host_but_a_roles_result():
    allowed = {role + "_result" for role in ROLES}
    found = {}
    for path in yaml_files():
        with open(path) as f:
            for name in reads(f.read()):
                if name not in allowed:
                    found.setdefault(os.path.relpath(path, ROOT), []).append(name)
    assert found == {}, "read through hostvars, not a <role>_result: %s" % found
    assert "gateway_broker_result" in allowed and "mesh_verify_result" in allowed
