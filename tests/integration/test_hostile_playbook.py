"""Hostile inventory values through a real ansible-playbook run on localhost: every module fails
with a clear message, no traceback, no MODULE FAILURE (tests/integration/playbooks/hostile_inputs.yml)."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_hostile_values_through_ansible_playbook():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"),
                           os.path.join(ROOT, "tests", "integration", "playbooks", "hostile_inputs.yml")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Traceback" not in out and "MODULE FAILURE" not in out
    assert out.count("...ignoring") == 7  # one per module task, each with every item failed
