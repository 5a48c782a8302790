"""Controller-side access to the lab (lab/lab.sh): commands on hosts, addresses, playbooks,
nexus health and store audits. Used by the lab tests and the fault suite; it only ever
targets the lab's own hosts."""
import json
import os
import re
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def sh(host, command, check=True, timeout=60):
    out = subprocess.run(["bash", os.path.join(ROOT, "lab", "lab.sh"), "ssh", host, command],
                         capture_output=True, text=True, timeout=timeout, check=False)
    if check and out.returncode != 0:
        raise RuntimeError("%s: %s failed: %s" % (host, command, out.stderr.strip() or out.stdout.strip()))
    return out


def controller(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def lab_addr(host):
    """The lab address of a host, from lab/lab.env (LAB_SUBNET aware)."""
    return controller("bash", "-c", '. "%s/lab/lab.env" && lab_addr %s' % (ROOT, host))


_ADDRS = {}


def lab_addr_cached(host):
    """lab_addr, asked once per host (fault loops call it many times a second)."""
    if host not in _ADDRS:
        _ADDRS[host] = lab_addr(host)
    return _ADDRS[host]


def playbook(name, *extra, env=None):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", **(env or {}))
    env["PATH"] = VENV_BIN + ":" + env.get("PATH", "")
    started_at = time.time()
    start = time.monotonic()
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "lab"),
                           os.path.join(ROOT, "playbooks", name)] + list(extra),
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900, check=False)
    proc.elapsed = time.monotonic() - start
    proc.started_at = started_at
    return proc


# argv: timeout in ms, url, requests; a request unanswered in time gives None and ends the run.
GATEWAY_CLIENT = ("import json,sys,zmq\n"
                  "s=zmq.Context().socket(zmq.REQ); s.setsockopt(zmq.LINGER,0); s.connect(sys.argv[2])\n"
                  "out=[]\n"
                  "for r in sys.argv[3:]:\n"
                  "    s.send(r.encode())\n"
                  "    if not s.poll(int(sys.argv[1])):\n"
                  "        out.append(None); break\n"
                  "    out.append(json.loads(s.recv()))\n"
                  "print(json.dumps(out))\n")


def gateway_requests_from_inf(*requests, timeout_ms=10000):
    """Requests sent by a plain pyzmq REQ client on INF (the gateway's allowed client); the replies."""
    import shlex
    url = "tcp://%s:5555" % lab_addr("gtw")
    args = " ".join(shlex.quote(json.dumps(r)) for r in requests)
    out = sh("inf", "python3 -c %s %d %s %s" % (shlex.quote(GATEWAY_CLIENT), timeout_ms, url, args),
             timeout=15 + timeout_ms * len(requests) / 1000.0)
    return json.loads(out.stdout)


_RECAP = re.compile(r"^\S+\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(stdout):
    """(changed, unreachable + failed) summed over a playbook's PLAY RECAP; None without one."""
    rows = _RECAP.findall(stdout)
    if not rows:
        return None
    return sum(int(r[0]) for r in rows), sum(int(r[1]) + int(r[2]) for r in rows)


def mitogen_env():
    """The documented opt-in (docs/operations-speed.md): the mitogen_linear strategy from the
    mitogen package's own plugin directory."""
    import ansible_mitogen
    plugins = os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")
    return {"ANSIBLE_STRATEGY_PLUGINS": plugins, "ANSIBLE_STRATEGY": "mitogen_linear"}


def pytest(*args):
    """Runs pytest from the project's .venv: (passed, its summary line)."""
    proc = subprocess.run([os.path.join(VENV_BIN, "pytest"), "-q", "-p", "no:cacheprovider"] + list(args),
                          capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"), timeout=600, check=False)
    return proc.returncode == 0 and " passed" in proc.stdout, proc.stdout.strip().splitlines()[-1:]


def latest_report(proc):
    """reports/latest.json as ``proc`` (a playbook() run) wrote it. A report older than the run
    is an earlier run's: the playbook stopped before writing one, and that is a failure here,
    never a pass read from someone else's report."""
    path = os.path.join(ROOT, "reports", "latest.json")
    written = os.path.getmtime(path) if os.path.exists(path) else None
    if written is None or written < proc.started_at - 1.0:  # mtime granularity
        raise AssertionError("the playbook (rc %d) wrote no report: reports/latest.json is %s\n%s"
                             % (proc.returncode, "missing" if written is None else "from an earlier run",
                                (proc.stdout + proc.stderr)[-3000:]))
    with open(path) as f:
        return json.load(f)


def healthz(port=9110, host="inf"):
    """nexus /healthz, read inside an INF host's network namespace (it listens on that host's
    loopback); the first gateway's instance on ``inf`` by default (9110 + i for the i-th)."""
    code = ("import urllib.request,urllib.error,sys\n"
            "try:\n r=urllib.request.urlopen('http://127.0.0.1:%d/healthz',timeout=1)\n"
            "except urllib.error.HTTPError as e:\n r=e\n"
            "except OSError:\n sys.exit(0)\n"
            "sys.stdout.write(r.read().decode())") % port
    try:
        out = subprocess.run(["ip", "netns", "exec", "mt5-" + host, "python3", "-c", code],
                             capture_output=True, text=True, timeout=5, check=False)
        return json.loads(out.stdout)
    except (ValueError, subprocess.TimeoutExpired):
        return {"state": "unreachable"}


def gateway_answers():
    """The gateway answers a ping from INF (its allowed client) within 3 s."""
    try:
        reply = gateway_requests_from_inf({"cmd": "ping"}, timeout_ms=3000)[0]
    except (RuntimeError, ValueError, subprocess.TimeoutExpired):
        return False
    return bool(reply) and reply.get("ok") is True


def wait_healthy(timeout=90):
    """Waits until the gateway answers and nexus reports healthy (after a test restarted
    anything); returns None when healthy, else what was seen last, for the failure message."""
    seen = {}

    def healthy():
        seen["gateway answers ping"] = gateway_answers()
        seen["nexus"] = healthz()
        return seen["gateway answers ping"] and seen["nexus"].get("state") == "healthy"
    return None if wait(healthy, timeout, interval=1.0) else seen


def psql(host, db, sql):
    return sh(host, "runuser -u postgres -- psql -d %s -tA -F'|' -c \"%s\"" % (db, sql)).stdout.strip()


def audit(gateway=None):
    """Per gateway and epoch in INF ticks: count, min, max, and the ticks nexus recorded as
    unrecoverable (only ``gateway``'s when given).

    An epoch is whole when count + recorded unrecoverable == max - min + 1 and min == 1.
    """
    where = "WHERE gateway = '%s'" % gateway if gateway else ""
    # Trade events share the seq stream with ticks: an epoch is whole over both tables.
    rows = psql("inf", "mt5_crs", "SELECT gateway, epoch, count(*), min(seq), max(seq) FROM (SELECT gateway, epoch, seq "
                                  "FROM ticks UNION ALL SELECT gateway, epoch, seq FROM orders) s %s "
                                  "GROUP BY gateway, epoch ORDER BY gateway, epoch" % where)
    lost = psql("inf", "mt5_crs", "SELECT gateway, epoch, coalesce(sum(to_seq - from_seq + 1), 0), min(from_seq) "
                                  "FROM nexus_discontinuity WHERE kind = 'gap_unrecoverable' GROUP BY gateway, epoch")
    lost_by_epoch = {(g, int(e)): (int(n), int(lo)) for g, e, n, lo in (line.split("|") for line in lost.splitlines() if line)}
    epochs = []
    for line in rows.splitlines():
        name, epoch, count, lo, hi = line.split("|")
        epoch, count, lo, hi = int(epoch), int(count), int(lo), int(hi)
        recorded, first_lost = lost_by_epoch.get((name, epoch), (0, lo))
        lo = min(lo, first_lost)  # a recorded gap may open the epoch (nexus started past the ring)
        missing = (hi - lo + 1) - count
        epochs.append({"gateway": name, "epoch": epoch, "count": count, "min": lo, "max": hi, "recorded_lost": recorded,
                       "silently_missing": missing - recorded, "starts_at_1": lo == 1})
    return epochs


def hub_total(gateway="gtw"):
    return int(psql("hub", "mt5_features", "SELECT coalesce(sum(ticks), 0) FROM bars_1s WHERE gateway = '%s'" % gateway)
               or 0)


def inf_total(gateway="gtw"):
    return int(psql("inf", "mt5_crs", "SELECT count(*) FROM ticks WHERE gateway = '%s'" % gateway) or 0)


def wait(fn, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    return None


def vault_secrets():
    """The lab's vaulted secrets, to prove they appear nowhere they should not."""
    import yaml
    out = subprocess.run([os.path.join(VENV_BIN, "ansible-vault"), "view", "--vault-password-file",
                          os.path.join(ROOT, "inventory", "lab", "vault-password.txt"),
                          os.path.join(ROOT, "inventory", "lab", "group_vars", "all", "vault.yml")],
                         capture_output=True, text=True, check=True)
    return [str(v) for v in yaml.safe_load(out.stdout).values()]
