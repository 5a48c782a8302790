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
    (check("path", path="/tmp", kind="socket"), "kind must be one of"),
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
