"""The mesh_host_state module on real files of this machine: it reads content, mode, owner, lines and
globs itself, changes nothing, and names what differs; systemctl's output is parsed per unit."""
import hashlib
import os

from ansible_collections.mt5crs.mesh.plugins.modules import mesh_host_state
from support.module_harness import patch_exits, run_module


def _sha1(data):
    return hashlib.sha1(data).hexdigest()


def test_files_lines_and_globs_in_place_are_converged_and_nothing_is_changed(tmp_path, monkeypatch):
    patch_exits(monkeypatch)
    conf = tmp_path / "x.yml"
    conf.write_bytes(b"a: 1\n")
    conf.chmod(0o640)
    (tmp_path / "keep.key").write_text("k")
    want = {"files": [{"path": str(conf), "checksum": _sha1(b"a: 1\n"), "mode": "0640", "owner": "root"},
                      {"path": str(tmp_path), "state": "directory"}, {"path": str(tmp_path / "gone"), "state": "absent"}],
            "lines": [{"path": str(conf), "regexp": "^a:", "line": "a: 1"}],
            "no_other": [{"pattern": str(tmp_path / "*.key"), "keep": [str(tmp_path / "keep.key")]}],
            "users": [{"name": "root", "home": "/root"}]}
    status, result = run_module(mesh_host_state, want)
    assert (status, result["converged"], result["differs"], result["changed"]) == ("exit", True, [], False)
    assert conf.read_bytes() == b"a: 1\n" and oct(os.stat(conf).st_mode & 0o777) == "0o640"


def test_drifted_files_are_each_named(tmp_path, monkeypatch):
    patch_exits(monkeypatch)
    conf = tmp_path / "x.yml"
    conf.write_bytes(b"a: 2\n")
    conf.chmod(0o644)
    (tmp_path / "stale.key").write_text("k")
    want = {"files": [{"path": str(conf), "checksum": _sha1(b"a: 1\n"), "mode": "0640"}, {"path": str(tmp_path / "none")}],
            "lines": [{"path": str(conf), "regexp": "^a:", "line": "a: 1"}],
            "no_other": [{"pattern": str(tmp_path / "*.key")}], "users": [{"name": "no-such-user-mt5"}]}
    status, result = run_module(mesh_host_state, want)
    assert status == "exit" and result["converged"] is False
    assert result["differs"] == ["user no-such-user-mt5: missing", "%s: content differs" % conf, "%s: mode differs" % conf,
                                 "%s: missing" % (tmp_path / "none"), "%s: line '^a:' differs" % conf,
                                 "%s: not wanted" % (tmp_path / "stale.key")]


def test_bad_mode_fails_naming_the_path():
    import pytest
    mp = pytest.MonkeyPatch()
    patch_exits(mp)
    try:
        status, result = run_module(mesh_host_state, {"files": [{"path": "/etc/x", "mode": "rw-r--r--"}]})
    finally:
        mp.undo()
    assert status == "fail" and "files[].mode must be an octal string" in result["msg"] and "/etc/x" in result["msg"]


class FakeModule:
    def __init__(self, rc, out):
        self.rc, self.out, self.argv = rc, out, None

    def run_command(self, argv):
        self.argv = argv
        return self.rc, self.out, ""


def test_systemctl_blocks_are_read_in_the_order_asked():
    out = "LoadState=loaded\nActiveState=active\n\nLoadState=not-found\nActiveState=inactive\n"
    module = FakeModule(0, out)
    seen = mesh_host_state.observe_units(module, ["a.service", "b.service"])
    assert seen == {"a.service": {"LoadState": "loaded", "ActiveState": "active"},
                    "b.service": {"LoadState": "not-found", "ActiveState": "inactive"}}
    assert module.argv[-3:] == ["--", "a.service", "b.service"]


def test_systemctl_failure_or_a_short_answer_observes_nothing():
    assert mesh_host_state.observe_units(FakeModule(1, "LoadState=loaded\n"), ["a.service"]) == {}
    assert mesh_host_state.observe_units(FakeModule(0, "LoadState=loaded\n"), ["a.service", "b.service"]) == {}
    assert mesh_host_state.observe_units(FakeModule(0, ""), []) == {}


def test_also_is_judged_on_its_own_in_the_same_run(tmp_path, monkeypatch):
    patch_exits(monkeypatch)
    mine, theirs = tmp_path / "runtime.tar", tmp_path / "gateway.yml"
    mine.write_bytes(b"r")
    theirs.write_bytes(b"drifted\n")
    (tmp_path / "stale.key").write_text("k")
    want = {"files": [{"path": str(mine), "checksum": _sha1(b"r")}],
            "also": {"name": "gateway_broker", "files": [{"path": str(theirs), "checksum": _sha1(b"wanted\n")}],
                     "no_other": [{"pattern": str(tmp_path / "*.key")}]}}
    status, result = run_module(mesh_host_state, want)
    assert status == "exit" and (result["converged"], result["differs"], result["kinds"]) == (True, [], [])
    nothing = {"daemon_reload": False, "enable": [], "start": []}
    assert result["also"] == {"name": "gateway_broker", "converged": False, "kinds": ["files"], "unit_actions": nothing,
                              "differs": ["%s: content differs" % theirs, "%s: not wanted" % (tmp_path / "stale.key")],
                              "paths": [str(theirs)]}
    theirs.write_bytes(b"wanted\n")
    (tmp_path / "stale.key").unlink()
    status, result = run_module(mesh_host_state, want)
    assert result["also"] == {"name": "gateway_broker", "converged": True, "differs": [], "kinds": [],
                              "unit_actions": nothing, "paths": []}


def test_without_also_no_verdict_on_it_is_returned(tmp_path, monkeypatch):
    patch_exits(monkeypatch)
    status, result = run_module(mesh_host_state, {"files": [{"path": str(tmp_path), "state": "directory"}]})
    assert status == "exit" and "also" not in result


def test_a_bad_path_in_also_fails_before_anything_is_read(monkeypatch):
    patch_exits(monkeypatch)
    status, result = run_module(mesh_host_state, {"also": {"name": "x", "files": [{"path": "relative/x"}]}})
    assert status == "fail" and result["msg"].startswith("files[].path must be an absolute path")
