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
         re.compile(r"extract['\"]?\s*,\s*hostvars\s*,\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]"),
         # map('extract', hostvars) | map(attribute='name') or | selectattr('name', ...)
         re.compile(r"extract['\"]?\s*,\s*hostvars\s*\)[^}]*?(?:attribute\s*=\s*|selectattr\(\s*)['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]"))


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
    assert reads("{{ hosts | map('extract', hostvars) | map(attribute='e_state', default={}) }}") == ["e_state"]
    assert reads("{{ hosts | map('extract', hostvars) | selectattr('f_state', 'defined') }}") == ["f_state"]


# What a file may read of another host besides a role's result: inventory and connection facts
# (ansible_host, inventory_hostname), and what the very same file registers or sets (a playbook's
# own state on each host).
INVENTORY = re.compile(r"^(ansible_|inventory_hostname$|mesh_)")
REGISTER = re.compile(r"register:\s*([A-Za-z_][A-Za-z0-9_]*)")


def own_names(text):
    """Registers, and the keys of set_fact tasks, in a playbook."""
    own = set(REGISTER.findall(text))
    fact_indent = None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if fact_indent is not None and line.strip():
            if indent <= fact_indent:
                fact_indent = None
            elif indent == fact_indent + 2 and re.match(r"\s*[A-Za-z_][A-Za-z0-9_]*:", line):
                own.add(line.split(":", 1)[0].strip())
        if line.rstrip().endswith("set_fact:"):
            fact_indent = len(line) - len(line.lstrip(" -"))  # "- set_fact:" keys sit under the name
    return own


def test_no_role_or_playbook_reads_anything_of_another_host_but_a_roles_result():
    allowed = {role + "_result" for role in ROLES}
    found = {}
    for path in yaml_files():
        with open(path) as f:
            text = f.read()
        own = own_names(text) if path.startswith(os.path.join(ROOT, "playbooks")) else set()
        for name in reads(text):
            if name not in allowed and not INVENTORY.match(name) and name not in own:
                found.setdefault(os.path.relpath(path, ROOT), []).append(name)
    assert found == {}, "read through hostvars, not a <role>_result: %s" % found
    assert "gateway_broker_result" in allowed and "mesh_verify_result" in allowed


def test_a_playbooks_own_names_are_its_registers_and_set_facts_keys_only():
    text = ("- name: a\n  command: x\n  register: a_b\n- ansible.builtin.set_fact:\n    c_d: 1\n"
            "    e: \"{{ x }}\"\n  when: y\n- name: f\n  vars:\n    g_h: 1\n")
    assert own_names(text) == {"a_b", "c_d", "e"}


def role_texts(role, parts=("tasks", "vars", "handlers", "templates", "defaults")):
    out = {}
    for part in parts:
        for root, _dirs, files in os.walk(os.path.join(ROOT, "roles", role, part)):
            for name in files:
                with open(os.path.join(root, name)) as f:
                    out[os.path.relpath(os.path.join(root, name), ROOT)] = f.read()
    return out


def test_every_role_publishes_its_result_and_says_so_in_its_readme():
    missing = []
    for role in ROLES:
        tasks = "\n".join(role_texts(role, ("tasks",)).values())
        sets = re.search(r"^\s*%s_result:" % role, tasks, re.M) or ("register: %s_result" % role) in tasks
        with open(os.path.join(ROOT, "roles", role, "README.md")) as f:
            documented = "`%s_result`" % role in f.read()
        if not (sets and documented):
            missing.append(role)
    assert missing == [], "no documented <role>_result: %s" % missing


def registered_by_role():
    """Each role's registers (tasks and handlers), but its result: its own business."""
    return {role: set(REGISTER.findall("\n".join(role_texts(role, ("tasks", "handlers")).values())))
            - {role + "_result"} for role in ROLES}


def test_no_role_reads_what_another_role_registers_but_its_result():
    registered = registered_by_role()
    found = {}
    for role in ROLES:
        for path, text in role_texts(role).items():
            for other, names in registered.items():
                if other == role:
                    continue
                for name in names:
                    if re.search(r"\b%s\b" % re.escape(name), text):
                        found.setdefault(path, []).append(name)
    assert found == {}, "a role reads another role's register: %s" % found


def test_no_playbook_or_scenario_reads_what_a_role_registers_but_its_result():
    registered = set().union(*registered_by_role().values())
    assert "mesh_runtime_state" in registered and "nexus_daemon_unit_stat" in registered
    found = {}
    for top in ("playbooks", "molecule"):
        for root, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if not name.endswith((".yml", ".yaml", ".j2")):
                    continue
                path = os.path.join(root, name)
                with open(path) as f:
                    text = f.read()
                for reg in sorted(registered - own_names(text)):
                    if re.search(r"\b%s\b" % re.escape(reg), text):
                        found.setdefault(os.path.relpath(path, ROOT), []).append(reg)
    assert found == {}, "a playbook reads a role's register, not its <role>_result: %s" % found
