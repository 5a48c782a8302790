"""The built collection tarball ships no lab secret and no developer file (galaxy.yml build_ignore)."""
import importlib.util
import os
import shutil
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")

FORBIDDEN_EXACT = {"Makefile", ".gitignore", "ansible.cfg", "collections", "requirements.txt", "pyproject.toml"}
# Issue 31's list: no lab suites, no molecule, no molecule config (it names the vault password file),
# no development requirements; nor the other developer-only suites.
FORBIDDEN_PREFIXES = ("inventory/lab/", "tests/output/", "reports/", "dist/", ".venv/", "collections/",
                      "lab/", "molecule/", ".ci/", ".config/", "tests/lab/", "tests/chaos/", "tests/bench/",
                      "tests/mutation/", "tests/faults/", "tests/matrix/", "tests/typing/", "tests/galaxy/",
                      # the runtime's sources ship packed, inside roles/mesh_runtime/files/
                      "src/")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(["make", "-s", "build", "DIST=%s" % out], check=True, capture_output=True, cwd=ROOT)
    (path,) = out.glob("mt5crs-mesh-*.tar.gz")
    with tarfile.open(path) as tar:
        return path, tar.getnames()


def test_tarball_holds_no_lab_inventory_vault_password_or_developer_files(tarball):
    _path, names = tarball
    bad = [n for n in names if n in FORBIDDEN_EXACT or n.startswith(FORBIDDEN_PREFIXES)
           or n == "inventory/lab" or "vault-password" in n or n.endswith("vault.yml")]
    assert bad == [], bad


# What the build itself writes: ansible-galaxy's manifests and make build's packed runtime.
BUILT = {"MANIFEST.json", "FILES.json", "roles/mesh_runtime/files/mt5mesh-runtime.tar"}


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, ".git")), reason="needs a git checkout")
def test_tarball_ships_only_files_git_tracks_and_the_builds_own_so_no_check_cache_rides_along(tarball):
    """A check's cache in the working tree (mypy's .mypy_cache, written by make test's types
    step before its galaxy step builds) must not reach users: only tracked files ship."""
    path, _names = tarball
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split("\n"))
    with tarfile.open(path) as tar:
        files = [m.name for m in tar.getmembers() if not m.isdir()]
    assert [n for n in files if n not in tracked and n not in BUILT] == []


def test_tarball_carries_the_runtime_prebuilt_in_its_role_identical_to_the_sources(tarball):
    path, names = tarball
    name = "roles/mesh_runtime/files/mt5mesh-runtime.tar"
    assert name in names
    spec = importlib.util.spec_from_file_location("pack_runtime", os.path.join(ROOT, "roles/mesh_runtime/files/pack_runtime.py"))
    pack_runtime = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pack_runtime)
    with tarfile.open(path) as tar:
        assert tar.extractfile(name).read() == pack_runtime.source_bundle(ROOT)


def test_tarball_ships_the_example_inventory_without_secrets(tarball):
    path, names = tarball
    assert "inventory/example/hosts.yml" in names
    with tarfile.open(path) as tar:
        for name in names:
            if name.startswith("inventory/example/") and name.endswith(".yml"):
                text = tar.extractfile(name).read().decode()
                assert "$ANSIBLE_VAULT" not in text and "password:" not in text.replace("_password:", "")


def test_installed_tarball_runs_verify_with_reports_in_the_working_directory(tarball, tmp_path):
    """As a user of the published collection: install the tarball, run its verify playbook by FQCN
    from a directory of one's own (no ansible.cfg of ours), and find the reports there, not inside
    the installed collection."""
    path, _names = tarball
    collections = tmp_path / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_NOCOLOR="1")
    subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", str(path), "-p", str(collections)],
                   check=True, capture_output=True, env=env, cwd=str(tmp_path))
    installed = collections / "ansible_collections" / "mt5crs" / "mesh"
    work = tmp_path / "ops"
    # The shipped example inventory's group_vars, with this controller as INF and test-only
    # stand-ins for the vaulted passwords (the one check used here needs none of them).
    shutil.copytree(installed / "inventory" / "example" / "group_vars", work / "group_vars")
    (work / "hosts.yml").write_text(
        "all:\n  vars: {vault_mesh_inf_pg_password: t, vault_mesh_hub_pg_password: t, vault_mesh_inf_redis_password: t,\n"
        "         vault_mesh_hub_redis_password: t}\n  children:\n"
        "    inf: {hosts: {localhost: {ansible_connection: local, ansible_host: 127.0.0.1}}}\n"
        "    gtw: {hosts: {gtw.test: {ansible_host: 127.0.0.2}}}\n    hub: {hosts: {hub.test: {ansible_host: 127.0.0.3}}}\n")
    # One check that holds on any controller: the catalog is inventory data (README).
    catalog = '{"mesh_verify_catalog": [{"id": "local.python", "phase": 1, "name": "Python", "kind": "python"}], ' \
              '"mesh_verify_extended": false, "ansible_python_interpreter": "%s"}' % os.path.join(VENV_BIN, "python")
    run = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "hosts.yml", "mt5crs.mesh.verify_mesh",
                          "-e", catalog], capture_output=True, text=True, env=env, cwd=str(work), timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    reports = sorted(p.name for p in (work / "reports").iterdir())
    assert "latest.json" in reports and any(n.endswith(".xml") for n in reports), reports
    assert installed.is_dir() and not (installed / "reports").exists()
