"""Install a stand-in for ansible-test's cached get-pip script, only when it is missing and
the real one cannot be downloaded (machines whose only way out is a package registry).

The stand-in bootstraps pip with ensurepip, then installs what ansible-test asked for with
the machine's normal pip configuration (index, certificates). A machine with internet never
gets it: ansible-test downloads and caches the real script there.
"""
import os
import sys
import types
import urllib.request

STANDIN = r'''
import ensurepip, os, subprocess, sys
ensurepip.bootstrap()
# ensurepip leaves these set; they would hide this machine's pip config (index, certificates).
for key in ("PIP_CONFIG_FILE", "ENSUREPIP_OPTIONS"):
    os.environ.pop(key, None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
'''


def main():
    from ansible_test._internal.python_requirements import get_venv_packages
    version = get_venv_packages(types.SimpleNamespace(version="%d.%d" % sys.version_info[:2]))["pip"]
    path = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    if os.path.exists(path):
        return 0
    url = "https://ci-files.testing.ansible.com/ansible-test/get-pip-%s.py" % version
    try:
        urllib.request.urlopen(url, timeout=5).close()
        return 0  # reachable: ansible-test fetches the real script itself
    except Exception:  # noqa: BLE001 - any failure to download means the stand-in is needed
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(STANDIN)
    print("sanity: no access to ansible-test's get-pip download; installed a stand-in at %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
