"""The -vvv secret scan shared by `make test` (tests/lab/test_secrets_lab.py) and `make chaos`:
run establish_mesh.yml and verify_mesh.yml with -vvv, then look for every vaulted secret in
their output, in reports/ and in both services' journals."""
import glob
import os

from support.lab import ROOT, playbook, sh, vault_secrets


def scan():
    """Returns {'secrets': n, 'texts': {name: chars}, 'leaks': [(text, secret prefix)], 'rc': {...}}."""
    secrets = vault_secrets()
    establish = playbook("establish_mesh.yml", "-vvv")
    verify = playbook("verify_mesh.yml", "-vvv")
    texts = {"establish -vvv": establish.stdout + establish.stderr, "verify -vvv": verify.stdout + verify.stderr}
    for path in sorted(glob.glob(os.path.join(ROOT, "reports", "*"))):
        with open(path, errors="replace") as f:
            texts[os.path.relpath(path, ROOT)] = f.read()
    texts["gtw journal"] = sh("gtw", "journalctl -u mt5mesh-gateway --no-pager").stdout
    texts["inf journal"] = sh("inf", "journalctl -u 'mt5mesh-nexus@*' --no-pager").stdout
    # A prefix only, so a failure message does not itself print the secret.
    leaks = [(name, s[:3] + "...") for name, text in texts.items() for s in secrets if s in text]
    return {"secrets": len(secrets), "min_secret_len": min(len(s) for s in secrets) if secrets else 0,
            "texts": {name: len(text) for name, text in texts.items()}, "leaks": leaks,
            "rc": {"establish": establish.returncode, "verify": verify.returncode}}
