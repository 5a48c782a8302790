"""No secret in `ansible-playbook -vvv establish_mesh.yml` output, in reports/, or in the services' journals."""
import glob
import os
import subprocess

import pytest
import yaml

from support.lab import ROOT, VENV_BIN, playbook, sh

pytestmark = pytest.mark.lab


def vault_secrets():
    out = subprocess.run([os.path.join(VENV_BIN, "ansible-vault"), "view", "--vault-password-file",
                          os.path.join(ROOT, "inventory", "lab", "vault-password.txt"),
                          os.path.join(ROOT, "inventory", "lab", "group_vars", "all", "vault.yml")],
                         capture_output=True, text=True, check=True)
    secrets = [str(v) for v in yaml.safe_load(out.stdout).values()]
    assert len(secrets) == 4 and all(len(s) >= 8 for s in secrets)
    return secrets


def test_no_secret_in_vvv_output_reports_or_journals(mesh):
    secrets = vault_secrets()
    proc = playbook("establish_mesh.yml", "-vvv")
    assert proc.returncode == 0, proc.stdout[-2000:]
    verify = playbook("verify_mesh.yml", "-vvv")
    texts = {"establish -vvv": proc.stdout + proc.stderr, "verify -vvv": verify.stdout + verify.stderr}
    for path in glob.glob(os.path.join(ROOT, "reports", "*")):
        with open(path, errors="replace") as f:
            texts[path] = f.read()
    texts["gtw journal"] = sh("gtw", "journalctl -u mt5mesh-gateway --no-pager").stdout
    texts["inf journal"] = sh("inf", "journalctl -u mt5mesh-nexus --no-pager").stdout
    leaks = [(name, s[:6] + "...") for name, text in texts.items() for s in secrets if s in text]
    assert not leaks, "secrets leaked: %s" % leaks
    assert len(texts["establish -vvv"]) > 10000  # -vvv really was verbose
