"""Soak: the lab gateway at SOAK_RATE (default 20 000) ticks/s for SOAK_MINUTES (default 10).
Samples nexus lag and the RSS of both services every 15 s, then checks that INF holds every
published tick of the epoch exactly once. Writes docs/soak.md. Bounded in time."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import lab  # noqa: E402

RATE = int(os.environ.get("SOAK_RATE", "20000"))
MINUTES = float(os.environ.get("SOAK_MINUTES", "10"))


def rss_mb(host, unit):
    pid = lab.sh(host, "systemctl show -p MainPID --value %s" % unit).stdout.strip()
    return round(int(lab.sh(host, "ps -o rss= -p %s" % pid).stdout.strip() or 0) / 1024.0, 1)


def set_rate(rate):
    lab.sh("gtw", "sed -i 's/^rate: .*/rate: %s/' /etc/mt5mesh/gateway.yml && systemctl restart mt5mesh-gateway" % float(rate))


def main():
    old_epoch = lab.healthz().get("epoch")
    set_rate(RATE)  # restarts the gateway: the soak is the new epoch
    lab.wait(lambda: lab.healthz().get("state") == "healthy" and lab.healthz().get("epoch") not in (None, old_epoch), 60)
    epoch = lab.healthz()["epoch"]
    samples, lags = [], []
    end = time.monotonic() + MINUTES * 60
    next_sample = time.monotonic()
    while time.monotonic() < end:
        h = lab.healthz()
        if isinstance(h.get("lag_s"), (int, float)):
            lags.append(h["lag_s"])
        if time.monotonic() >= next_sample:
            samples.append({"t_s": round(MINUTES * 60 - (end - time.monotonic())), "lag_s": h.get("lag_s"),
                            "committed_seq": h.get("last_seq"), "gateway_rss_mb": rss_mb("gtw", "mt5mesh-gateway"),
                            "nexus_rss_mb": rss_mb("inf", "mt5mesh-nexus@gtw")})
            print(json.dumps(samples[-1]), flush=True)
            next_sample += 15
        time.sleep(0.5)
    lab.sh("gtw", "systemctl stop mt5mesh-gateway")
    time.sleep(3)
    row = lab.psql("inf", "mt5_crs", "SELECT count(*), min(seq), max(seq) FROM ticks WHERE epoch = %d" % int(epoch))
    count, lo, hi = (int(x) for x in row.split("|"))
    set_rate(os.environ.get("SOAK_REST_RATE", "200"))
    lags.sort()
    p99 = lags[int(len(lags) * 0.99)] if lags else None
    ok = lo == 1 and count == hi and count >= RATE * MINUTES * 60 * 0.9
    lines = ["# Soak", "", "`tests/chaos/soak.py` on the lab, %s: gateway at %d ticks/s for %s min." % (time.strftime("%Y-%m-%d"), RATE, MINUTES), "",
             "- ticks published in the epoch: %d (seq 1-%d); rows in INF `ticks`: %d: %s" % (hi, hi, count, "equal" if count == hi else "DIFFERENT"),
             "- nexus lag p99 over %d samples: %s s, max %s s" % (len(lags), p99, lags[-1] if lags else None), "",
             "| t (s) | lag (s) | committed seq | gateway RSS (MiB) | nexus RSS (MiB) |", "|---|---|---|---|---|"]
    lines += ["| %(t_s)s | %(lag_s)s | %(committed_seq)s | %(gateway_rss_mb)s | %(nexus_rss_mb)s |" % s for s in samples]
    with open(os.path.join(lab.ROOT, "docs", "soak.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    # From the first minute on: before that the gateway's 200 000-event ring is still filling.
    first = next((s for s in samples if s["t_s"] >= 60), samples[0]) if samples else {}
    last = samples[-1] if samples else {}
    summary = (("PASSED" if ok else "FAILED"), hi, count, p99, first.get("gateway_rss_mb"), last.get("gateway_rss_mb"),
               first.get("nexus_rss_mb"), last.get("nexus_rss_mb"))
    print("SOAK %s: %d ticks published, %d rows in INF, lag p99 %s s, RSS from 1 min to the end: gateway %s -> %s MiB, "
          "nexus %s -> %s MiB" % summary)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
