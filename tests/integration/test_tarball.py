"""The built collection tarball ships no lab secret and no developer file (galaxy.yml build_ignore)."""
import os
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")

FORBIDDEN_EXACT = {"Makefile", ".gitignore", "ansible.cfg", "collections"}
FORBIDDEN_PREFIXES = ("inventory/lab/", "tests/output/", "reports/", "dist/", ".venv/", "collections/",
                      "lab/", "molecule/", ".ci/")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--force",
                    "--output-path", str(out), ROOT], check=True, capture_output=True, cwd=ROOT)
    (path,) = out.glob("mt5crs-mesh-*.tar.gz")
    with tarfile.open(path) as tar:
        return path, tar.getnames()


def test_tarball_holds_no_lab_inventory_vault_password_or_developer_files(tarball):
    _path, names = tarball
    bad = [n for n in names if n in FORBIDDEN_EXACT or n.startswith(FORBIDDEN_PREFIXES)
           or n == "inventory/lab" or "vault-password" in n or n.endswith("vault.yml")]
    assert bad == [], bad


def test_tarball_ships_the_example_inventory_without_secrets(tarball):
    path, names = tarball
    assert "inventory/example/hosts.yml" in names
    with tarfile.open(path) as tar:
        for name in names:
            if name.startswith("inventory/example/") and name.endswith(".yml"):
                text = tar.extractfile(name).read().decode()
                assert "$ANSIBLE_VAULT" not in text and "password:" not in text.replace("_password:", "")
