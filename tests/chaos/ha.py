"""The INF pair under faults (issue 30, docs/ha.md), on the lab with LAB_INF=2.

While the gateway publishes CHAOS_RATE (default 5 000) ticks/s and a Subscriber (mt5mesh.client)
listens to both INF XPUBs, each fault in turn hits the host that holds the Patroni leader:

poweroff  its systemd-nspawn process is SIGKILLed (a power cut); after the other INF has taken
          over, `lab.sh up` boots it again on its own disk and it rejoins by itself.
pg_kill   its postmaster is SIGKILLed.
etcd_kill one etcd member that is not on the leader's host (hub) is SIGKILLed: quorum holds, the
          leader stays, writes go on; systemd starts the member again.
partition the leader's host is cut from the other two etcd voters (iptables, 20 s): it loses its
          key and steps down, the other INF takes over; then the cut heals and it rejoins.

Each fault must show: the other INF leads (poweroff) and INF `ticks` grows again within 30 s;
never two leaders at once (sampled every 0.25 s); the Subscriber declares no gap and its largest
pause is under 3 s; verify_mesh.yml green again with no manual step; and, with the gateway
stopped so both nexus catch up, the epoch's seqs in `ticks` run from the first to the last with
no hole (the primary key makes a seq twice impossible; a hole is what is counted).

Every loop is bounded in count and time.

  python tests/chaos/ha.py [poweroff,pg_kill,etcd_kill,partition]   (default: all four)
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import lab  # noqa: E402
sys.path.insert(0, os.path.join(lab.ROOT, "src"))
from mt5mesh.client import Subscriber  # noqa: E402

RATE = int(os.environ.get("CHAOS_RATE", "5000"))
REST_RATE = os.environ.get("CHAOS_REST_RATE", "20")
PAIR = ("inf", "inf2")
FAULTS = ("poweroff", "pg_kill", "etcd_kill", "partition")
PARTITION_S = 20
TAKEOVER_S = 30
MAX_PAUSE_S = 3.0
ENV = {"LAB_INF": "2"}


def lab_sh(*args, timeout=300):
    return subprocess.run(["bash", os.path.join(lab.ROOT, "lab", "lab.sh")] + list(args), env=dict(os.environ, **ENV),
                          capture_output=True, text=True, timeout=timeout, check=False)


def up():
    """The lab with both INF hosts and the mesh established on it (only missing hosts boot)."""
    proc = lab_sh("up")
    assert proc.returncode == 0, proc.stderr[-2000:]
    est = lab.playbook("establish_mesh.yml", env=ENV)
    assert est.returncode == 0 and "FULL MESH CONNECTED & OPERATIONAL" in est.stdout, est.stdout[-3000:]


def role(host):
    """'leader', 'replica' or 'down', from Patroni's REST API (/leader is 200 on the leader only)."""
    try:
        urllib.request.urlopen("http://%s:8008/leader" % lab.lab_addr_cached(host), timeout=0.5)
        return "leader"
    except urllib.error.HTTPError:
        return "replica"
    except OSError:
        return "down"


def ticks(host):
    """Rows of gtw in `ticks` as this host sees them (None when it does not answer)."""
    out = lab.sh(host, "runuser -u postgres -- psql -d mt5_crs -tAc \"SELECT count(*) FROM ticks WHERE gateway = 'gtw'\"",
                 check=False, timeout=5)
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip().isdigit() else None


class Watch(threading.Thread):
    """Every 0.25 s, each host's Patroni role and the rows it sees: (t, {host: (role, rows)})."""

    def __init__(self, limit_s):
        super().__init__(daemon=True)
        self.limit_s, self.running = limit_s, True
        self.max_leaders, self.samples = 0, []

    def run(self):
        end = time.monotonic() + self.limit_s
        while self.running and time.monotonic() < end:
            t = time.monotonic()  # when the sample began: all it saw is from after t
            seen = {h: (role(h), ticks(h)) for h in PAIR}
            self.max_leaders = max(self.max_leaders, sum(r == "leader" for r, _n in seen.values()))
            self.samples.append((t, seen))
            time.sleep(0.25)


def commits(samples):
    """The times a leader's row count grew since the sample before (a commit on the primary)."""
    out = []
    for (_t0, before), (t, now) in zip(samples, samples[1:]):
        for h, (r, n) in now.items():
            n0 = before.get(h, (None, None))[1]
            if r == "leader" and n is not None and n0 is not None and n > n0:
                out.append((t, h))
                break
    return out


class Stream(threading.Thread):
    """A Subscriber on both INF XPUBs: what it delivered, its declared gaps, its longest pause."""

    def __init__(self, limit_s):
        super().__init__(daemon=True)
        self.limit_s, self.running = limit_s, True
        self.delivered, self.gaps, self.out_of_order, self.max_pause = 0, [], 0, 0.0
        self.sub = Subscriber(["tcp://%s:5558" % lab.lab_addr_cached(h) for h in PAIR])

    def run(self):
        end, last, prev = time.monotonic() + self.limit_s, None, None
        while self.running and time.monotonic() < end:
            ev = self.sub.recv(timeout=0.5)
            now = time.monotonic()
            self.gaps += self.sub.take_gaps()
            if ev is None:
                continue
            if last is not None:
                self.max_pause = max(self.max_pause, now - last)
            if prev is not None and ev["epoch"] == prev[0] and ev["seq"] != prev[1] + 1:
                self.out_of_order += 1
            last, prev = now, (ev["epoch"], ev["seq"])
            self.delivered += 1
        self.sub.close()


def write_rto(samples, t_fault, window_s=TAKEOVER_S):
    """The longest time without a commit, from the last commit before the fault to ``window_s``
    after it (a leader cut from etcd writes on for a few seconds before it steps down)."""
    seen = [t for t, _h in commits(samples)]
    before = [t for t in seen if t <= t_fault]
    during = [t for t in seen if t_fault < t <= t_fault + window_s]
    if not before or not during:
        return None
    times = [before[-1]] + during
    return round(max(b - a for a, b in zip(times, times[1:])), 2)


def audit(host):
    """gtw's epochs as ``host`` holds them: rows, first and last seq, and the holes between."""
    rows = lab.sh(host, "runuser -u postgres -- psql -d mt5_crs -tA -F'|' -c \"SELECT epoch, count(*), min(seq), max(seq) "
                        "FROM (SELECT epoch, seq FROM ticks WHERE gateway = 'gtw' UNION ALL SELECT epoch, seq FROM orders "
                        "WHERE gateway = 'gtw') s GROUP BY epoch ORDER BY epoch\"").stdout
    lost = lab.sh(host, "runuser -u postgres -- psql -d mt5_crs -tAc \"SELECT coalesce(sum(to_seq - from_seq + 1), 0) "
                        "FROM nexus_discontinuity WHERE gateway = 'gtw' AND kind = 'gap_unrecoverable'\"").stdout.strip()
    out = []
    for line in rows.split():
        epoch, count, lo, hi = (int(x) for x in line.split("|"))
        out.append({"epoch": epoch, "rows": count, "first": lo, "last": hi, "holes": hi - lo + 1 - count})
    return {"epochs": out, "recorded_unrecoverable": int(lost or 0)}


def set_rate(rate):
    lab.sh("gtw", "sed -i 's/^rate: .*/rate: %s/' /etc/mt5mesh/gateway.yml && systemctl restart mt5mesh-gateway" % float(rate))


def verify_green(timeout):
    """verify_mesh.yml passes (retried, bounded); the seconds it took, or None."""
    start = time.monotonic()
    for _attempt in range(20):
        proc = lab.playbook("verify_mesh.yml", env=ENV)
        if proc.returncode == 0:
            return round(time.monotonic() - start, 1)
        if time.monotonic() - start > timeout:
            print(proc.stdout[-2500:], flush=True)
            return None
        time.sleep(3)
    return None


def caught_up(host, port=9110):
    return lab.healthz(port, host=host).get("behind") == 0


def etcd_cut(victim, action):
    """iptables rules on ``victim`` that drop its etcd traffic with the other voters (-I adds, -D removes)."""
    rules = []
    for other in ("inf", "inf2", "hub"):
        if other == victim:
            continue
        addr = lab.lab_addr_cached(other)
        rules += ["iptables %s INPUT -s %s -p tcp -m multiport --ports 2379,2380 -j DROP" % (action, addr),
                  "iptables %s OUTPUT -d %s -p tcp -m multiport --ports 2379,2380 -j DROP" % (action, addr)]
    return " && ".join(rules)


def inject(fault, victim):
    if fault == "poweroff":
        with open(os.path.join(os.environ.get("LAB_RUN", "/run/mt5lab"), victim + ".pid")) as f:
            os.kill(int(f.read().strip()), 9)
    elif fault == "pg_kill":
        lab.sh(victim, "kill -KILL $(head -n 1 /var/lib/postgresql/15/main/postmaster.pid)")
    elif fault == "etcd_kill":
        lab.sh("hub", "systemctl kill -s KILL --kill-whom=main etcd.service")
    else:
        lab.sh(victim, etcd_cut(victim, "-I"))


def heal(fault, victim):
    if fault == "partition":
        time.sleep(PARTITION_S)
        lab.sh(victim, etcd_cut(victim, "-D"))


def run_fault(fault):
    leaders = [h for h in PAIR if role(h) == "leader"]
    assert len(leaders) == 1, "before %s: leaders %s" % (fault, leaders)
    victim = leaders[0]
    survivor = [h for h in PAIR if h != victim][0]
    watch, stream = Watch(240), Stream(240)
    watch.start()
    stream.start()
    time.sleep(5)  # a baseline of growth and of the stream
    t_fault = time.monotonic()
    inject(fault, victim)
    if fault == "etcd_kill":
        time.sleep(5)  # writes must not even pause: any commit after the kill will do
    # A power cut or a leader cut from etcd must move the leader (a commit on the other host); a lost
    # etcd member must not (commits go on on the same host); after a killed postmaster either may lead.
    want = {"poweroff": survivor, "partition": survivor, "etcd_kill": victim}.get(fault)
    grew = lab.wait(lambda: [h for t, h in commits(list(watch.samples)) if t > t_fault and h == (want or h)],
                    TAKEOVER_S, interval=0.25)
    took_over = bool(grew) and (fault != "etcd_kill" or all(
        h == victim for t, h in commits(list(watch.samples)) if t > t_fault))
    heal(fault, victim)
    result = {"fault": fault, "victim": victim, "grew_within_s": TAKEOVER_S if grew else None,
              "first_commit_on": grew[0] if grew else None, "took_over": took_over}
    time.sleep(5)
    if fault == "poweroff":
        t_boot = time.monotonic()
        booted = lab_sh("up")
        result["booted_again"] = booted.returncode == 0
        result["boot_s"] = round(time.monotonic() - t_boot, 1)
    result["verify_green_after_s"] = verify_green(180)
    time.sleep(3)
    watch.running = stream.running = False
    watch.join(10)
    stream.join(10)
    result.update(write_rto_s=write_rto(watch.samples, t_fault), max_leaders_seen=watch.max_leaders,
                  subscriber={"delivered": stream.delivered, "gaps": stream.gaps, "out_of_order": stream.out_of_order,
                              "max_pause_s": round(stream.max_pause, 2)})
    return result


def final_audit():
    """With the gateway stopped, both nexus instances catch up; then every host's view of the epoch."""
    lab.sh("gtw", "systemctl stop mt5mesh-gateway")
    try:
        lab.wait(lambda: all(caught_up(h) for h in PAIR), 120, interval=1.0)
        leader = [h for h in PAIR if role(h) == "leader"][0]
        lab.wait(lambda: ticks(leader) == ticks([h for h in PAIR if h != leader][0]), 60, interval=0.5)
        return {h: audit(h) for h in PAIR}
    finally:
        lab.sh("gtw", "systemctl start mt5mesh-gateway")


def problems(results, final):
    out = []
    for r in results:
        name = r["fault"]
        if not r["grew_within_s"]:
            out.append("%s: INF ticks did not grow within %d s" % (name, TAKEOVER_S))
        if not r["took_over"]:
            out.append("%s: the other INF did not take over (first commit on %s)" % (name, r["first_commit_on"]))
        if r["write_rto_s"] is None:
            out.append("%s: no commit around the fault was seen" % name)
        if r["max_leaders_seen"] > 1:
            out.append("%s: two leaders at once" % name)
        if r["subscriber"]["gaps"] or r["subscriber"]["out_of_order"]:
            out.append("%s: the Subscriber saw gaps %s, %d out of order" % (name, r["subscriber"]["gaps"],
                                                                            r["subscriber"]["out_of_order"]))
        if r["subscriber"]["max_pause_s"] >= MAX_PAUSE_S or not r["subscriber"]["delivered"]:
            out.append("%s: the Subscriber paused %.2f s" % (name, r["subscriber"]["max_pause_s"]))
        if r["verify_green_after_s"] is None:
            out.append("%s: verify_mesh.yml not green again" % name)
    for host, a in final.items():
        for e in a["epochs"]:
            if e["holes"] != 0 and a["recorded_unrecoverable"] == 0:
                out.append("%s: epoch %d has %d holes" % (host, e["epoch"], e["holes"]))
    return out


def main(argv):
    faults = [f for f in (argv[0].split(",") if argv and not argv[0].startswith("-") else FAULTS) if f]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        print("unknown fault(s): %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(FAULTS)))
        return 2
    up()
    results = []
    set_rate(RATE)
    try:
        assert lab.wait(lambda: all(caught_up(h) for h in PAIR), 90, interval=1.0), "nexus never caught up at %d/s" % RATE
        for fault in faults:
            print("ha fault: %s" % fault, flush=True)
            r = run_fault(fault)
            print(json.dumps(r), flush=True)
            results.append(r)
        final = final_audit()
    finally:
        set_rate(REST_RATE)
    print(json.dumps(final), flush=True)
    failed = problems(results, final)
    if failed:
        print("HA FAILED: %s" % "; ".join(failed))
        return 1
    print("HA PASSED: %s" % "; ".join("%s write RTO %s s, Subscriber max pause %s s" % (
        r["fault"], r["write_rto_s"], r["subscriber"]["max_pause_s"]) for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
