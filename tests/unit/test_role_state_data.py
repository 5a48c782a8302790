"""Each writing role says its desired files once, as data (``_<role>_files`` in vars/main.yml):
its mesh_host_state check takes ``_<role>_wanted_files``, derived from that data, and its template tasks
render only entries of it. A template task with a literal source would write a file the check
never compares, and the converged fast path would never repair it."""
import os
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DECLARING = ("gateway_broker", "nexus_daemon", "mesh_runtime", "mesh_stores")
LINE_MODULES = ("ansible.builtin.lineinfile", "ansible.builtin.blockinfile")


def tasks(role):
    folder = os.path.join(ROOT, "roles", role, "tasks")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            yield from _flatten(yaml.safe_load(f) or [], name)


def _flatten(items, name):
    for task in items:
        yield name, task
        yield from _flatten(task.get("block", []), name)


def template_sources(role):
    return [(name, task.get("name"), task["ansible.builtin.template"]["src"])
            for name, task in tasks(role) if "ansible.builtin.template" in task]


@pytest.mark.parametrize("role", DECLARING)
def test_every_template_a_declaring_role_writes_comes_from_its_files_data(role):
    sources = template_sources(role)
    assert sources and {src for _n, _t, src in sources} == {"{{ item.template }}"}, sources
    for _name, task in tasks(role):
        if "ansible.builtin.template" in task:
            assert "_%s_files" % role in task["loop"], task["name"]


@pytest.mark.parametrize("role", DECLARING)
def test_every_line_a_declaring_role_writes_comes_from_its_lines_data(role):
    for _name, task in tasks(role):
        for module in LINE_MODULES:
            if module in task:
                assert "_%s_lines" % role in task["loop"], task["name"]
                assert set(task[module].values()) <= {"{{ item.%s }}" % k for k in ("path", "regexp", "line", "marker", "block")}, task


@pytest.mark.parametrize("role", DECLARING)
def test_a_declaring_roles_check_compares_what_its_files_data_derives(role):
    with open(os.path.join(ROOT, "roles", role, "vars", "main.yml")) as f:
        data = yaml.safe_load(f)
    assert "_%s_files" % role in data["_%s_wanted_files" % role]
    checks = [task["mt5crs.mesh.mesh_host_state"] for _n, task in tasks(role) if "mt5crs.mesh.mesh_host_state" in task]
    assert checks and all(c["files"] == "{{ _%s_wanted_files }}" % role for c in checks), checks
    if "_%s_lines" % role in data:
        assert "_%s_lines" % role in data["_%s_wanted_lines" % role]
        assert all(c["lines"] == "{{ _%s_wanted_lines }}" % role for c in checks), checks


def test_the_reader_sees_a_template_task_with_a_literal_source_in_a_block(tmp_path, monkeypatch):
    """The checker itself can fail: a literal source nested in a block is found."""
    role = tmp_path / "roles" / "r" / "tasks"
    role.mkdir(parents=True)
    (role / "main.yml").write_text(yaml.safe_dump([{"name": "b", "block": [
        {"name": "t", "ansible.builtin.template": {"src": "x.j2", "dest": "/x"}}]}]))
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    assert template_sources("r") == [("main.yml", "t", "x.j2")]
