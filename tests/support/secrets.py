"""The -vvv secret scan shared by `make test` (tests/lab/test_secrets_lab.py, and the inf_pair
molecule scenario for an INF pair) and `make chaos`: run establish_mesh.yml and verify_mesh.yml
with -vvv, then look for every vaulted secret in their output, in reports/ and in the services'
journals (the gateway's, and nexus's and, on a pair, Patroni's and etcd's on every INF host).

As a command (the inf_pair scenario): python tests/support/secrets.py INF_HOST [INF_HOST ...]
prints the result as JSON and exits 1 on a leak, a failed run, or an establish that changed
something (the -vvv run is the scenario's idempotence check too)."""
import glob
import json
import os
import shlex
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from support.lab import ROOT, playbook, recap, sh, vault_secrets  # noqa: E402  (after the path, as a command)

PAIR_UNITS = ("mt5mesh-nexus@*", "patroni", "etcd")


def scan(inf_hosts=("inf",), inf_units=("mt5mesh-nexus@*",)):
    """Returns {'secrets': n, 'texts': {name: chars}, 'leaks': [(text, secret prefix)], 'rc': {...},
    'recap': (changed, unreachable + failed) of the establish run}."""
    secrets = vault_secrets()
    establish = playbook("establish_mesh.yml", "-vvv")
    verify = playbook("verify_mesh.yml", "-vvv")
    texts = {"establish -vvv": establish.stdout + establish.stderr, "verify -vvv": verify.stdout + verify.stderr}
    for path in sorted(glob.glob(os.path.join(ROOT, "reports", "*"))):
        with open(path, errors="replace") as f:
            texts[os.path.relpath(path, ROOT)] = f.read()
    texts["gtw journal"] = sh("gtw", "journalctl -u mt5mesh-gateway --no-pager").stdout
    for host in inf_hosts:
        units = " ".join("-u " + shlex.quote(u) for u in inf_units)
        texts["%s journal" % host] = sh(host, "journalctl %s --no-pager" % units).stdout
    # A prefix only, so a failure message does not itself print the secret.
    leaks = [(name, s[:3] + "...") for name, text in texts.items() for s in secrets if s in text]
    return {"secrets": len(secrets), "min_secret_len": min(len(s) for s in secrets) if secrets else 0,
            "texts": {name: len(text) for name, text in texts.items()}, "leaks": leaks,
            "rc": {"establish": establish.returncode, "verify": verify.returncode},
            "recap": recap(establish.stdout)}


def main(hosts):
    result = scan(tuple(hosts), PAIR_UNITS)
    print(json.dumps(result, indent=1))
    bad = (result["leaks"] or result["rc"] != {"establish": 0, "verify": 0} or result["recap"] != (0, 0)
           or result["min_secret_len"] < 8 or result["texts"]["establish -vvv"] < 10000)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["inf"]))
