"""The security part of `make chaos`, on the lab: no vaulted secret in -vvv output, reports or
journals; the systemd exposure score of both units (must stay under 4.0); no service listening
on a wildcard address (the gateway on its lab address); CURVE rejections (real ZeroMQ)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import lab, secrets  # noqa: E402

UNITS = (("gtw", "mt5mesh-gateway.service"), ("inf", "mt5mesh-nexus@gtw.service"))
MAX_EXPOSURE = 4.0
WILDCARDS = ("0.0.0.0", "*", "[::]")


def exposure():
    scores = {}
    for host, unit in UNITS:
        out = lab.sh(host, "systemd-analyze security --no-pager %s | tail -n 1" % unit).stdout
        m = re.search(r"exposure level for \S+: ([0-9.]+) (\S+)", out)
        scores[unit] = (float(m.group(1)), m.group(2)) if m else (None, out.strip()[-80:])
    return scores


def listeners():
    """(host, local address, port) of every TCP listener; only sshd may use a wildcard."""
    found, bad = [], []
    for host in ("inf", "gtw", "hub"):
        for line in lab.sh(host, "ss -ltnH").stdout.splitlines():
            local = line.split()[3]
            addr, port = local.rsplit(":", 1)
            found.append((host, addr, int(port)))
            if addr in WILDCARDS and port != "22":
                bad.append("%s %s" % (host, local))
    gtw = lab.lab_addr("gtw")
    broker = sorted((a, p) for h, a, p in found if h == "gtw" and p in (5555, 5556))
    if broker != [(gtw, 5555), (gtw, 5556)]:
        bad.append("gateway listens on %s, expected %s:5555 and %s:5556 only" % (broker, gtw, gtw))
    return found, bad


def curve():
    """The CURVE test of the runtime (real gateway, real ZeroMQ clients on loopback)."""
    return lab.pytest(os.path.join(lab.ROOT, "tests", "integration", "test_runtime.py"), "-k", "curve")


def run():
    scan = secrets.scan()
    scores = exposure()
    found, bad_binds = listeners()
    curve_ok, curve_line = curve()
    problems = ["secret leaked: %s" % (leak,) for leak in scan["leaks"]]
    problems += ["%s exposure %s" % (u, s) for u, s in scores.items() if s[0] is None or s[0] >= MAX_EXPOSURE]
    problems += ["wildcard or unexpected listener: %s" % b for b in bad_binds]
    problems += [] if curve_ok else ["CURVE test failed: %s" % curve_line]
    problems += ["%s -vvv exited %d" % (k, v) for k, v in scan["rc"].items() if v != 0]
    return {"secrets": scan["secrets"], "texts_scanned": len(scan["texts"]), "chars_scanned": sum(scan["texts"].values()),
            "leaks": scan["leaks"], "exposure": scores, "listeners": found, "curve": curve_line,
            "problems": problems}


def markdown(result):
    lines = ["## Security", "",
             "- Vaulted secrets: %d, searched in %d texts (%d characters: `establish_mesh.yml -vvv` and `verify_mesh.yml "
             "-vvv` output, every file in `reports/`, both services' journals): %d found."
             % (result["secrets"], result["texts_scanned"], result["chars_scanned"], len(result["leaks"])),
             "- `systemd-analyze security` exposure (goal < %.1f): %s; what is left is explained in "
             "[security.md](security.md)." % (MAX_EXPOSURE, ", ".join("%s **%s %s**" % (u, s[0], s[1])
                                                                      for u, s in result["exposure"].items())),
             "- Listeners on the lab hosts: %s. No service but sshd on a wildcard address."
             % ", ".join("%s %s:%d" % x for x in result["listeners"] if x[2] != 22),
             "- CURVE (a client without the server key, or with a key not on the allowed list, gets no reply and "
             "no data): `%s`." % " ".join(result["curve"]), ""]
    return lines
