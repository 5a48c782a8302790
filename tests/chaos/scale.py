"""Verify at scale: verify_mesh.yml from every host of an inventory of 3, 10, 20 and 30 hosts.

The three lab hosts plus N-3 simulated hosts (lab.sh sim-up: sshd-only containers in their own
network namespaces on the lab bridge). Every host is a vantage (mesh_verify_all_vantage) and runs
the checks that make sense away from INF: ICMP, both ZMQ ports by protocol, the HTTPS and DNS
stand-ins, the gateway stand-in, HUB Redis. INF runs the whole catalog. Each size runs twice:
"cold" with new SSH connections, "warm" reusing them (ControlPersist), as an operator re-running
a check would. Writes docs/scale.md; exits non-zero when a vantage fails a check.

  python tests/chaos/scale.py [--sizes 3,10,20,30] [--forks N]

Bounded: at most 99 simulated hosts, one playbook run of at most 15 min per measurement.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import lab  # noqa: E402

# What a host other than INF can check of the mesh. HUB PostgreSQL only admits INF (pg_hba),
# so the HUB bar, HUB PG and clock checks stay INF's.
REMOTE_CHECKS = ["net.gtw", "net.hub", "app.gtw_req", "app.gtw_sub", "app.github", "app.notion",
                 "inet.dns", "inet.gateway", "ext.hub_redis"]


def lab_sh(*argv):
    subprocess.run(["bash", os.path.join(lab.ROOT, "lab", "lab.sh")] + list(argv), check=True, timeout=180)


def write_inventory(path, sims):
    """The simulated hosts, and GTW/HUB too, as `observers` that run the remote checks only."""
    hosts = {"sim%02d" % i: {"ansible_host": lab.lab_addr("sim%02d" % i)} for i in range(1, sims + 1)}
    hosts.update({"gtw.lab": {}, "hub.lab": {}})
    doc = {"all": {"children": {"observers": {"hosts": hosts, "vars": {"mesh_verify_only": REMOTE_CHECKS}}}}}
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)


def measure(size, inventory, forks, control_dir):
    proc = lab.playbook("verify_mesh.yml", "-i", inventory, "-f", str(forks), "-e", "mesh_verify_all_vantage=true",
                        env={"ANSIBLE_SSH_CONTROL_PATH_DIR": control_dir})
    report = lab.latest_report(proc)
    vantages = report.get("vantages") or {report.get("vantage", "inf.lab"): report}
    failing = {h: [c["id"] for c in v["failures"]] for h, v in vantages.items() if v["failures"]}
    return {"hosts": size, "forks": forks, "wall_s": round(proc.elapsed, 1), "rc": proc.returncode,
            "vantages": len(vantages), "checks_run": sum(v["total"] + (v.get("extended") or {}).get("total", 0) for v in vantages.values()),
            "slowest_vantage_ms": max(v.get("elapsed_ms", 0) for v in vantages.values()),
            "failing": failing, "tail": proc.stdout[-1500:] if proc.returncode else ""}


def write_doc(rows):
    lines = ["# Verify at scale", "",
             "Produced by `tests/chaos/scale.py` (part of `make chaos`) on the lab, %s. `verify_mesh.yml -e "
             "mesh_verify_all_vantage=true` from every host of the inventory: INF runs the whole catalog (17 + 6 "
             "extended), every other host the %d checks that make sense away from INF (%s). The extra hosts are "
             "simulated: sshd-only containers from the lab image, each in its own network namespace on the lab "
             "bridge (`lab/lab.sh sim-up N`), so every check crosses a real (virtual) network to the real mesh."
             % (time.strftime("%Y-%m-%d"), len(REMOTE_CHECKS), ", ".join(REMOTE_CHECKS)), "",
             "\"cold\": new SSH connections; \"warm\": the same run again while ControlPersist keeps them.", "",
             "| hosts | forks | run | wall time (s) | per host (s) | slowest vantage, checks only (ms) | vantages failing |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %d | %d | %s | %.1f | %.2f | %d | %d |" % (
            r["hosts"], r["forks"], r["run"], r["wall_s"], r["wall_s"] / r["hosts"], r["slowest_vantage_ms"], len(r["failing"])))
    lines += ["", GROWTH_NOTE, ""]
    for run in ("cold", "warm"):
        pts = [(r["hosts"], r["wall_s"]) for r in rows if r["run"] == run and r["forks"] == rows[0]["forks"]]
        if len(pts) >= 2:
            a, b = linear_fit(pts)
            lines.append("Least-squares fit, %s, forks %d: wall time = %.1f s + %.2f s x hosts (so 100 hosts would take "
                         "about %.0f s)." % (run, rows[0]["forks"], a, b, a + 100 * b))
    lines.append("")
    out = os.path.join(lab.ROOT, "docs", "scale.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    return out


def linear_fit(points):
    n = float(len(points))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


GROWTH_NOTE = """## How it grows

The checks themselves run in parallel inside each host (`mesh_verify_parallel`, 16 threads) and
take well under a second per vantage, so the wall time is Ansible's: one SSH session and one
module transfer per host per task, `forks` hosts at a time, all of it on the controller's CPU
(this lab controller has 2 cores, shared with the 30 hosts and the mesh itself). Growth is linear
in hosts / forks: the per-host cost falls as the fixed playbook start-up is shared, and raising
`forks` helps only until the controller's cores are busy. Setting `forks` to the number of
vantages and keeping SSH connections warm (ControlPersist, pipelining, both in `ansible.cfg`) are
the two knobs; the checks are never the bottleneck."""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="3,10,20,30")
    parser.add_argument("--forks", type=int, default=10, help="forks for every size (ansible.cfg has 10)")
    parser.add_argument("--also-forks", type=int, default=30, help="one more cold+warm run of the largest size "
                                                                   "with this many forks (0: none)")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if sizes[0] < 3 or sizes[-1] > 102:
        parser.error("sizes must be 3-102 (the lab's three hosts plus at most 99 simulated)")
    plan = [(n, args.forks) for n in sizes] + ([(sizes[-1], args.also_forks)] if args.also_forks else [])
    work = tempfile.mkdtemp(prefix="mt5scale-")
    rows = []
    try:
        for size, forks in plan:
            sims = size - 3
            if sims:
                lab_sh("sim-up", str(sims))
            else:
                lab_sh("sim-down")
            inventory = os.path.join(work, "scale-%d.yml" % size)
            write_inventory(inventory, sims)
            control_dir = tempfile.mkdtemp(dir=work)  # new directory: new SSH connections
            for run in ("cold", "warm"):
                r = measure(size, inventory, forks, control_dir)
                r["run"] = run
                print("scale: %(hosts)d hosts, forks %(forks)d, %(run)s: %(wall_s)s s, rc %(rc)s, "
                      "%(vantages)d vantages, failing %(failing)s" % r, flush=True)
                if r["tail"]:
                    print(r["tail"])
                rows.append(r)
    finally:
        lab_sh("sim-down")
        shutil.rmtree(work, ignore_errors=True)
    if not args.no_report:
        print("wrote", write_doc(rows))
    bad = [r for r in rows if r["rc"] != 0 or r["failing"] or r["vantages"] != r["hosts"]]
    if bad:
        print("SCALE FAILED: %s" % ["%(hosts)d hosts %(run)s: rc %(rc)s failing %(failing)s" % r for r in bad])
        return 1
    print("SCALE PASSED: every vantage passed every check at every size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
