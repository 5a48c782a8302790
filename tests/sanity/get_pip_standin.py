"""Install a stand-in for ansible-test's cached get-pip script when it is missing, so that
ansible-test never downloads it: nothing in this repository reaches a host outside the lab or the
package index unasked. With SANITY_GET_PIP_DOWNLOAD=1 it first tries the real script's address
(5 s) and, if that answers, leaves the download to ansible-test.

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
    if os.environ.get("SANITY_GET_PIP_DOWNLOAD") == "1":
        url = "https://ci-files.testing.ansible.com/ansible-test/get-pip-%s.py" % version
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return 0  # reachable, and asked for: ansible-test fetches the real script itself
        except Exception:  # noqa: BLE001 - any failure to download means the stand-in is needed
            pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(STANDIN)
    print("sanity: installed a stand-in for ansible-test's get-pip script at %s (no download; "
          "SANITY_GET_PIP_DOWNLOAD=1 tries the real one)" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
