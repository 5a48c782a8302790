"""host_state.py on plain data: every kind of difference is named exactly, and anything unknown
or unreadable counts as a difference (the role then runs in full, never skips a drift)."""
from ansible_collections.mt5crs.mesh.plugins.module_utils import host_state

CONF = {"path": "/etc/x.yml", "checksum": "abc", "mode": "0640", "owner": "root", "group": "mt5mesh"}
SEEN = {"type": "file", "checksum": "abc", "mode": 0o640, "owner": "root", "group": "mt5mesh"}
UNIT = {"name": "x.service", "enabled": True, "active": True}
RUNNING = {"LoadState": "loaded", "NeedDaemonReload": "no", "UnitFileState": "enabled", "ActiveState": "active"}


def test_same_file_is_no_difference():
    assert host_state.file_differences(CONF, dict(SEEN)) == []


def test_missing_file_is_named_missing():
    assert host_state.file_differences(CONF, None) == ["/etc/x.yml: missing"]


def test_each_differing_attribute_is_named():
    seen = {"type": "file", "checksum": "abd", "mode": 0o644, "owner": "nobody", "group": "root"}
    assert host_state.file_differences(CONF, seen) == [
        "/etc/x.yml: content differs", "/etc/x.yml: mode differs", "/etc/x.yml: owner differs", "/etc/x.yml: group differs"]


def test_unasked_attributes_are_not_compared():
    assert host_state.file_differences({"path": "/p"}, {"type": "file", "mode": 0o777, "owner": "x", "group": "y"}) == []


def test_a_directory_where_a_file_belongs_differs():
    assert host_state.file_differences(CONF, dict(SEEN, type="directory")) == ["/etc/x.yml: is not a file"]
    assert host_state.file_differences({"path": "/d", "state": "directory"}, {"type": "other"}) == ["/d: is not a directory"]


def test_unreadable_file_differs_whatever_else_matches():
    assert host_state.file_differences(CONF, dict(SEEN, type="unreadable")) == ["/etc/x.yml: is not a file"]


def test_absent_wanted_differs_only_when_present():
    assert host_state.file_differences({"path": "/old", "state": "absent"}, None) == []
    assert host_state.file_differences({"path": "/old", "state": "absent"}, {"type": "file"}) == ["/old: present"]


def test_mode_is_read_as_octal():
    assert host_state.file_differences({"path": "/p", "mode": "755"}, {"type": "file", "mode": 0o755}) == []
    assert host_state.file_differences({"path": "/p", "mode": "0755"}, {"type": "file", "mode": 755}) == ["/p: mode differs"]


def test_user_missing_or_with_another_shell_or_home_differs():
    want = {"name": "mt5mesh", "shell": "/usr/sbin/nologin", "home": "/nonexistent"}
    assert host_state.user_differences(want, {"shell": "/usr/sbin/nologin", "home": "/nonexistent"}) == []
    assert host_state.user_differences(want, None) == ["user mt5mesh: missing"]
    assert host_state.user_differences(want, {"shell": "/bin/sh", "home": "/root"}) == [
        "user mt5mesh: shell differs", "user mt5mesh: home differs"]


def test_running_enabled_unit_is_no_difference():
    assert host_state.unit_differences(UNIT, dict(RUNNING)) == []


def test_unknown_or_unloaded_unit_differs():
    assert host_state.unit_differences(UNIT, None) == ["unit x.service: not loaded"]
    assert host_state.unit_differences(UNIT, {}) == ["unit x.service: not loaded"]
    assert host_state.unit_differences(UNIT, dict(RUNNING, LoadState="not-found")) == ["unit x.service: not loaded"]


def test_stopped_disabled_or_stale_unit_differs():
    seen = dict(RUNNING, NeedDaemonReload="yes", UnitFileState="disabled", ActiveState="inactive")
    assert host_state.unit_differences(UNIT, seen) == [
        "unit x.service: systemd has not loaded its file", "unit x.service: not enabled", "unit x.service: not active"]


def test_a_unit_not_asked_to_run_may_be_stopped():
    assert host_state.unit_differences({"name": "x.service"}, dict(RUNNING, ActiveState="inactive", UnitFileState="disabled")) == []


def test_missing_reload_property_differs():
    seen = dict(RUNNING)
    del seen["NeedDaemonReload"]
    assert host_state.unit_differences(UNIT, seen) == ["unit x.service: systemd has not loaded its file"]


def test_lineinfile_last_matching_line_decides():
    want = {"path": "/etc/redis.conf", "regexp": "^port ", "line": "port 6379"}
    assert host_state.line_differences(want, ["port 6380", "port 6379"]) == []
    assert host_state.line_differences(want, ["port 6379", "port 6380"]) == ["/etc/redis.conf: line '^port ' differs"]
    assert host_state.line_differences(want, ["bind 127.0.0.1"]) == ["/etc/redis.conf: line '^port ' differs"]
    assert host_state.line_differences(want, None) == ["/etc/redis.conf: missing"]


def test_blockinfile_text_must_be_whole_and_in_order():
    want = {"path": "/hba", "text": "# BEGIN m\nhost a\n# END m"}
    assert host_state.line_differences(want, ["local all", "# BEGIN m", "host a", "# END m"]) == []
    assert host_state.line_differences(want, ["# BEGIN m", "host b", "# END m"]) == ["/hba: block differs"]
    assert host_state.line_differences({"path": "/e", "text": ""}, []) == []


def test_paths_matching_a_pattern_beyond_the_kept_ones_differ():
    want = {"pattern": "/w/x@*.service", "keep": ["/w/x@gtw.service"]}
    assert host_state.extra_paths(want, ["/w/x@gtw.service"]) == []
    assert host_state.extra_paths(want, ["/w/x@old.service", "/w/x@gtw.service", "/w/x@a.service"]) == [
        "/w/x@a.service: not wanted", "/w/x@old.service: not wanted"]
    assert host_state.extra_paths(want, None) == []


def test_differences_lists_every_kind_in_a_stable_order():
    wanted = {"packages": ["python3-zmq", "python3-yaml"], "users": [{"name": "u"}], "files": [CONF],
              "lines": [{"path": "/r", "regexp": "^a", "line": "a 1"}], "no_other": [{"pattern": "/w/*", "keep": []}],
              "units": [UNIT]}
    observed = {"packages": ["python3-yaml"], "users": {}, "files": {}, "lines": {"/r": ["a 2"]}, "no_other": {"/w/*": ["/w/z"]},
                "units": {"x.service": dict(RUNNING, ActiveState="failed")}}
    assert host_state.differences(wanted, observed) == [
        "package python3-zmq: not installed", "user u: missing", "/etc/x.yml: missing", "/r: line '^a' differs",
        "/w/z: not wanted", "unit x.service: not active"]


def test_nothing_wanted_nothing_differs_even_with_nothing_observed():
    assert host_state.differences({}, {}) == []
    assert host_state.differences({"packages": None, "files": None}, {"packages": None}) == []


def test_everything_in_place_is_converged():
    wanted = {"packages": ["p"], "users": [{"name": "u"}], "files": [CONF], "units": [UNIT]}
    observed = {"packages": ["p"], "users": {"u": {}}, "files": {"/etc/x.yml": dict(SEEN)}, "units": {"x.service": dict(RUNNING)}}
    assert host_state.differences(wanted, observed) == []


def test_kinds_split_unit_state_from_everything_else():
    assert host_state.kinds([]) == []
    assert host_state.kinds(["unit x.service: not active", "unit y.service: not enabled"]) == ["units"]
    assert host_state.kinds(["/etc/x: missing", "unit x.service: not active", "package p: not installed"]) == ["files", "units"]
    assert host_state.kinds(["user u: missing"]) == ["files"]


def test_valid_options_have_no_error():
    assert host_state.validation_error({
        "files": [{"path": "/etc/x", "mode": "0644", "checksum": "a" * 40}, {"path": "/d", "mode": "755"}],
        "packages": ["python3-zmq", "libc6", "g++"], "users": [{"name": "mt5mesh"}],
        "units": [{"name": "mt5mesh-nexus@gtw.service"}, {"name": "postgresql@15-main.service"}],
        "lines": [{"path": "/etc/r", "regexp": "^#? ?requirepass "}, {"path": "/etc/h", "text": "t"}],
        "no_other": [{"pattern": "/w/x@*.service", "keep": ["/w/x@gtw.service"]}]}) is None
    assert host_state.validation_error({}) is None


def test_each_invalid_option_is_named_with_its_value():
    cases = [
        ({"files": [{"path": "etc/x"}]}, "files[].path must be an absolute path, got 'etc/x'"),
        ({"files": [{"path": "/a\x00b"}]}, "files[].path must be an absolute path"),
        ({"files": [{"path": "/a\nb"}]}, "files[].path must be an absolute path"),
        ({"files": [{"path": None}]}, "files[].path must be an absolute path, got 'None'"),
        ({"files": [{"path": "/x", "mode": "rw-"}]}, 'files[].mode must be an octal string such as "0644", got \'rw-\' for /x'),
        ({"files": [{"path": "/x", "mode": "0788"}]}, "files[].mode must be an octal string"),
        ({"files": [{"path": "/x", "mode": "007777"}]}, "files[].mode must be an octal string"),
        ({"files": [{"path": "/x", "checksum": "A" * 40}]}, "files[].checksum must be a SHA-1 in hex (40 characters) for /x"),
        ({"packages": ["-x"]}, "packages[] must be Debian package names, got '-x'"),
        ({"users": [{"name": "-x"}]}, "users[].name must be a user name, got '-x'"),
        ({"units": [{"name": "-x"}]}, "units[].name must be a systemd unit name, got '-x'"),
        ({"lines": [{"path": "r", "text": "t"}]}, "lines[].path must be an absolute path, got 'r'"),
        ({"lines": [{"path": "/r", "regexp": "("}]}, "lines[].regexp is not a regular expression"),
        ({"no_other": [{"pattern": "*.key"}]}, "no_other[].pattern must be an absolute path, got '*.key'"),
        ({"no_other": [{"pattern": "/k/*", "keep": ["/k/a", "k.key"]}]}, "no_other[].keep must be an absolute path, got 'k.key'"),
    ]
    for params, message in cases:
        error = host_state.validation_error(params)
        assert error is not None and error.startswith(message), (params, error)


def test_the_first_invalid_value_is_the_one_named():
    params = {"files": [{"path": "/ok"}, {"path": "bad1"}], "packages": ["-bad2"]}
    assert host_state.validation_error(params) == "files[].path must be an absolute path, got 'bad1'"
    assert host_state.validation_error({"packages": ["ok", "-bad"]}) == "packages[] must be Debian package names, got '-bad'"


def test_a_long_hostile_value_is_cut_in_the_message():
    long = "x" * 200
    assert host_state.validation_error({"files": [{"path": long}]}) == "files[].path must be an absolute path, got %r" % ("x" * 80)
    assert host_state.validation_error({"lines": [{"path": "/r", "regexp": "(" * 200}]}).endswith(": %r" % ("(" * 80))
    assert host_state.validation_error({"files": [{"path": "/x", "mode": "9" * 50}]}) == (
        'files[].mode must be an octal string such as "0644", got %r for /x' % ("9" * 20))
    assert host_state.validation_error({"packages": ["-" * 200]}) == "packages[] must be Debian package names, got %r" % ("-" * 80)
    assert host_state.validation_error({"users": [{"name": "-" * 200}]}) == "users[].name must be a user name, got %r" % ("-" * 80)
    assert host_state.validation_error({"units": [{"name": "-" * 300}]}) == "units[].name must be a systemd unit name, got %r" % ("-" * 80)


# --- what the units' differences need, as fields ----------------------------------------------

def actions(units, seen):
    return host_state.unit_actions({"units": units}, {"units": seen})


def test_a_running_enabled_unit_needs_nothing():
    assert actions([UNIT], {"x.service": dict(RUNNING)}) == {"daemon_reload": False, "enable": [], "start": []}
    assert host_state.unit_actions({}, {}) == {"daemon_reload": False, "enable": [], "start": []}


def test_a_unit_systemd_does_not_know_needs_a_reload_enabling_and_starting():
    for seen in ({}, {"x.service": None}, {"x.service": {}}, {"x.service": dict(RUNNING, LoadState="not-found")}):
        assert actions([UNIT], seen) == {"daemon_reload": True, "enable": ["x.service"], "start": ["x.service"]}
    assert host_state.unit_actions({"units": [UNIT]}, {}) == {"daemon_reload": True, "enable": ["x.service"],
                                                              "start": ["x.service"]}


def test_a_changed_unit_file_needs_a_reload_only():
    assert actions([UNIT], {"x.service": dict(RUNNING, NeedDaemonReload="yes")}) == {
        "daemon_reload": True, "enable": [], "start": []}
    assert actions([UNIT], {"x.service": dict(RUNNING, NeedDaemonReload=None)})["daemon_reload"] is True


def test_a_disabled_or_stopped_unit_is_enabled_or_started_only_when_wanted_so():
    disabled_stopped = {"x.service": dict(RUNNING, UnitFileState="disabled", ActiveState="inactive")}
    assert actions([UNIT], disabled_stopped) == {"daemon_reload": False, "enable": ["x.service"], "start": ["x.service"]}
    assert actions([{"name": "x.service"}], disabled_stopped) == {"daemon_reload": False, "enable": [], "start": []}
    assert actions([{"name": "x.service", "active": True}], disabled_stopped) == {
        "daemon_reload": False, "enable": [], "start": ["x.service"]}


def test_several_units_keep_their_order_and_one_reload_serves_all():
    units = [UNIT, dict(UNIT, name="y.service"), dict(UNIT, name="z.service")]
    seen = {"x.service": dict(RUNNING, ActiveState="failed"), "y.service": dict(RUNNING),
            "z.service": dict(RUNNING, NeedDaemonReload="yes", UnitFileState="disabled", ActiveState="inactive")}
    assert actions(units, seen) == {"daemon_reload": True, "enable": ["z.service"], "start": ["x.service", "z.service"]}


def test_the_paths_to_write_are_the_differing_files_in_the_wanted_order():
    other = {"path": "/etc/a", "state": "directory", "mode": "0755"}
    wanted = {"files": [other, CONF, {"path": "/etc/u.service", "checksum": "def"}]}
    observed = {"files": {"/etc/a": {"type": "directory", "mode": 0o755}, "/etc/x.yml": dict(SEEN, mode=0o600)}}
    assert host_state.file_paths(wanted, observed) == ["/etc/x.yml", "/etc/u.service"]
    observed["files"]["/etc/a"] = {"type": "file", "mode": 0o755}
    assert host_state.file_paths(wanted, observed) == ["/etc/a", "/etc/x.yml", "/etc/u.service"]


def test_nothing_to_write_when_nothing_is_wanted_or_all_is_in_place():
    assert host_state.file_paths({}, {}) == []
    assert host_state.file_paths({"files": None}, {"files": None}) == []
    assert host_state.file_paths({"files": [CONF]}, {"files": {"/etc/x.yml": dict(SEEN)}}) == []
