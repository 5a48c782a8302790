"""The check catalog's allow-list: dangerous arguments are refused, by name, before any probe runs."""
import pytest

from ansible_collections.mt5crs.mesh.plugins.module_utils import catalog

CREDS = {"inf_pg": "s3cret-pass"}


def check(check_kind, **args):
    return [{"id": "x.1", "phase": 2, "name": "n", "kind": check_kind, "args": args}]


@pytest.mark.parametrize("checks,needle", [
    (check("postgres", host="h", db="d", user="u", password_from="inf_pg", query="DROP TABLE ticks"), "takes no arg 'query'"),
    (check("postgres", host="h", db="d", user="u", password="plain"), "password in args"),
    (check("postgres", host="h", pg={"password": "plain"}, db="d", user="u", password_from="inf_pg"), "password in args"),
    (check("imports", modules=["antigravity"]), "allow-list"),
    (check("imports", modules=["zmq", "os"]), "os"),
    (check("http", url="https://h/", validate_certs=False), "allow_insecure_tls"),
    (check("http", url="https://h/", validate_certs="no"), "true or false"),
    (check("http", url="https://h/", expect_status=99), "expect_status"),
    (check("path", path="/tmp", path_type="socket"), "path_type must be one of"),
    (check("path", path="/tmp", kind="socket"), "path_type must be one of"),
    (check("path", path="/tmp", kind="file", path_type="dir"), "give path_type only (kind is its old name)"),
    (check("tcp", host="h", port=1, kind="file"), "takes no arg 'kind'"),
    (check("postgres", host="h", db=5, user="u", password_from="inf_pg"), "db must be a string"),
    (check("postgres", host="h", db="d", user="u", password_from=7), "password_from must be"),
])
def test_dangerous_or_mistyped_args_are_refused_naming_the_check(checks, needle):
    errors = catalog.validate(checks, CREDS)
    assert any(needle in e and "check x.1" in e for e in errors), errors


def test_insecure_tls_passes_only_with_the_explicit_override():
    checks = check("http", url="https://h/", validate_certs=False)
    assert catalog.validate(checks, CREDS, allow_insecure_tls=True) == []


def test_the_shipped_kinds_with_allowed_args_pass():
    checks = (check("imports", modules=["zmq", "redis", "psycopg2"])
              + [dict(check("postgres", host="h", db="d", user="u", password_from="inf_pg")[0], id="x.2")]
              + [dict(check("http", url="https://h/", ca_path="/etc/ca.pem")[0], id="x.3")])
    assert catalog.validate(checks, CREDS) == []


def test_the_shipped_catalog_passes_the_allow_list():
    import yaml
    import os
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
    with open(os.path.join(root, "roles/mesh_verify/defaults/main.yml")) as f:
        defaults = yaml.safe_load(f)
    for key in ("mesh_verify_catalog", "mesh_verify_extended_catalog"):
        for c in defaults[key]:
            errors = catalog._policy_errors(c.get("args", {}), False)
            assert errors == [], (c["id"], errors)


def test_a_path_checks_old_arg_kind_is_read_as_path_type_in_one_place(tmp_path):
    old = check("path", path=str(tmp_path), kind="dir")
    assert catalog.check_args(old[0]) == {"path": str(tmp_path), "path_type": "dir"}
    assert catalog.validate(old, CREDS) == []
    assert catalog.deprecated_args(old) == ["check x.1: arg kind of a path check is now path_type"]
    result = catalog.run_check(dict(old[0], phase_name="p"), CREDS)
    assert result["ok"] and result["detail"] == "%s exists (dir)" % tmp_path
    assert not catalog.run_check(dict(check("path", path=str(tmp_path), kind="file")[0]), CREDS)["ok"]


def test_a_check_in_the_new_spelling_is_left_as_it_is_and_not_warned_about():
    new = check("path", path="/tmp", path_type="dir")
    assert catalog.check_args(new[0]) is new[0]["args"]
    assert catalog.check_args({"kind": "path"}) == {}
    assert catalog.deprecated_args(new + ["x", {"kind": "path", "args": "text"}]) == []
    # `kind` is an old name only for the path check: another kind's `kind` arg is left to validate.
    assert catalog.check_args(check("tcp", kind="file")[0]) == {"kind": "file"}


def test_both_spellings_at_once_are_refused_with_one_exact_error():
    errors = catalog.validate(check("path", path="/tmp", kind="file", path_type="dir"), CREDS)
    assert errors == ["check x.1: give path_type only (kind is its old name)"]


def test_a_path_check_without_args_is_refused_for_its_missing_path_not_with_an_exception():
    errors = catalog.validate([{"id": "x.1", "phase": 2, "name": "n", "kind": "path"}], CREDS)
    assert errors == ["check x.1: kind path needs path"]


def test_every_check_using_an_old_name_is_warned_about_even_after_an_entry_that_is_no_mapping():
    old = check("path", path="/tmp", kind="dir")
    assert catalog.deprecated_args(["x", {"kind": "path", "args": "text"}] + old) == [
        "check x.1: arg kind of a path check is now path_type"]
