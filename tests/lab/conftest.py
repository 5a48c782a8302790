"""Lab tests: the real three-host lab (make lab-up) with the mesh established on it."""
import json
import os
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def lab(host, command, check=True):
    return subprocess.run(["bash", os.path.join(ROOT, "lab", "lab.sh"), "ssh", host, command],
                          capture_output=True, text=True, check=check, timeout=60)


def lab_addr(host):
    """The lab address of a host, from lab/lab.env (LAB_SUBNET aware)."""
    return subprocess.run(["bash", "-c", '. "%s/lab/lab.env" && lab_addr %s' % (ROOT, host)],
                          capture_output=True, text=True, check=True).stdout.strip()


def playbook(name, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = VENV_BIN + ":" + env.get("PATH", "")
    start = time.monotonic()
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "lab"),
                           os.path.join(ROOT, "playbooks", name)] + list(extra),
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    proc.elapsed = time.monotonic() - start
    return proc


def latest_report():
    with open(os.path.join(ROOT, "reports", "latest.json")) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def mesh():
    if lab("inf", "true", check=False).returncode != 0:
        pytest.fail("the lab is not up: run `make lab-up` (make test does it)")
    proc = playbook("establish_mesh.yml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "FULL MESH CONNECTED & OPERATIONAL" in proc.stdout
    return proc
