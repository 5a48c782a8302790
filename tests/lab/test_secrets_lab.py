"""No secret in `ansible-playbook -vvv establish_mesh.yml` output, in reports/, or in the services' journals."""
import glob
import os
import pytest

from support.lab import ROOT, playbook, sh, vault_secrets

pytestmark = pytest.mark.lab


def test_no_secret_in_vvv_output_reports_or_journals(mesh):
    secrets = vault_secrets()
    assert len(secrets) == 4 and all(len(x) >= 8 for x in secrets)
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
