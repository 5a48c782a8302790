"""The collection as a stranger installs it: `make build`, the tarball installed alone into an empty
collections path, and establish_mesh run by FQCN from a directory of one's own, with an ansible.cfg
that knows only that path. It converges the lab, and a second run changes nothing (issue 31).

The installed copy has no src/ and no pyproject.toml: a role that read outside the collection's
own directories (the runtime's sources, the alert rules) fails here."""
import os
import subprocess

from support import lab

CFG = """[defaults]
inventory = {root}/inventory/lab
collections_path = {collections}
vault_password_file = {root}/inventory/lab/vault-password.txt
interpreter_python = auto_silent
forks = 10
retry_files_enabled = False
callbacks_enabled = mt5crs.mesh.mesh_summary

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o LogLevel=ERROR
"""


def stranger_env(work):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_HOME=str(work / "home"), ANSIBLE_FORCE_COLOR="0",
               PATH=lab.VENV_BIN + ":" + os.environ.get("PATH", ""))
    return env


def run(argv, env, cwd, timeout=900):
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(cwd), timeout=timeout, check=False)


def test_the_installed_tarball_alone_establishes_the_lab_and_a_second_run_changes_nothing(mesh, tmp_path):
    dist = tmp_path / "dist"
    built = run(["make", "-s", "build", "DIST=%s" % dist], dict(os.environ), lab.ROOT)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (tarball,) = dist.glob("mt5crs-mesh-*.tar.gz")
    work = tmp_path / "ops"
    work.mkdir()
    collections = tmp_path / "collections"
    (work / "ansible.cfg").write_text(CFG.format(root=lab.ROOT, collections=collections))
    env = stranger_env(work)
    installed = run([os.path.join(lab.VENV_BIN, "ansible-galaxy"), "collection", "install", str(tarball),
                     "-p", str(collections)], env, work)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    root = collections / "ansible_collections" / "mt5crs" / "mesh"
    assert not (root / "src").exists() and not (root / "pyproject.toml").exists()
    assert (root / "roles" / "mesh_runtime" / "files" / "mt5mesh-runtime.tar").is_file()
    # The only copy Ansible can find is the installed one.
    listed = run([os.path.join(lab.VENV_BIN, "ansible-galaxy"), "collection", "list", "mt5crs.mesh"], env, work)
    assert str(collections) in listed.stdout and lab.ROOT not in listed.stdout, listed.stdout

    playbook = [os.path.join(lab.VENV_BIN, "ansible-playbook"), "mt5crs.mesh.establish_mesh"]
    first = run(playbook, env, work)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "FULL MESH CONNECTED & OPERATIONAL" in first.stdout, first.stdout[-2000:]
    second = run(playbook, env, work)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
    assert lab.recap(second.stdout) == (0, 0), second.stdout[-3000:]
    # Reports go to the working directory, never into the installed collection.
    assert (work / "reports" / "latest.json").is_file() and not (root / "reports").exists()
