"""inf_project on this machine (a local connection, a temporary project directory): it never
overwrites a file it did not write, names each one it leaves alone (in check mode too), and a
file it wrote is kept up to date; a second run changes nothing."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
PLAY = """- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: {python}
    inf_project_dir: {project}
    mesh_inf_pg_password: not-a-real-secret
    mesh_gtw_address: 127.0.0.1
  roles:
    - role: mt5crs.mesh.inf_project
"""
MINE = "# my own requirements, not the role's\nnumpy\n"


def converge(tmp_path, project, *extra):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(python=os.path.join(VENV_BIN, "python"), project=project))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               PATH=VENV_BIN + ":" + os.environ.get("PATH", ""))
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", str(play)] + list(extra),
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc


def changed(stdout):
    return int(stdout.rsplit("changed=", 1)[1].split()[0])


def test_an_operators_own_file_is_never_overwritten_and_named_while_the_roles_files_are_kept_and_a_rerun_changes_nothing(tmp_path):
    project = tmp_path / "mt5crs"
    project.mkdir()
    (project / "requirements.txt").write_text(MINE)
    named = "%s/requirements.txt as they are (NOT overwritten)" % project
    preview = converge(tmp_path, project, "--check", "--diff")
    assert named in preview.stdout
    assert (project / "requirements.txt").read_text() == MINE and not (project / "scripts").exists()
    first = converge(tmp_path, project)
    assert named in first.stdout and (project / "requirements.txt").read_text() == MINE
    ours = project / "scripts" / "project_cli.py"
    written = ours.read_text()
    assert "inf_project wrote this file" in written
    # A file the role wrote and someone edited is the role's: it is brought back.
    ours.write_text(written.replace("#!/usr/bin/env python3", "#!/usr/bin/env python3\n# an edit"))
    fixed = converge(tmp_path, project)
    assert changed(fixed.stdout) > 0 and ours.read_text() == written and named in fixed.stdout
    assert changed(converge(tmp_path, project).stdout) == 0
