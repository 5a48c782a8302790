"""Soak: the lab gateway at SOAK_RATE (default 20 000) ticks/s for SOAK_MINUTES (default 10).
Samples nexus lag and the RSS of both services every 15 s, then checks that INF holds every
event the gateway published during the soak exactly once, and that nexus recorded none of them
as lost. Writes docs/soak.md. Bounded in time.

The window is the gateway's seq after the rate change to its last seq, not the whole epoch: the
gateway journal keeps its epoch across restarts, so an epoch may hold earlier runs' history
(a chaos stage's deliberate, recorded unrecoverable gap, for one)."""
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


def gateway_position():
    """(epoch, seq) the gateway answers ping with, or None."""
    reply = lab.gateway_requests_from_inf({"cmd": "ping", "id": "soak"})[0]
    return (int(reply["epoch"]), int(reply["seq"])) if reply and reply.get("ok") else None


def window_audit(epoch, after_seq):
    """(events in INF, last seq, recorded unrecoverable) for seq > after_seq of the epoch."""
    row = lab.psql("inf", "mt5_crs", "SELECT count(*), coalesce(max(seq), 0) FROM (SELECT seq FROM ticks WHERE gateway = 'gtw' "
                                     "AND epoch = %d AND seq > %d UNION ALL SELECT seq FROM orders WHERE gateway = 'gtw' "
                                     "AND epoch = %d AND seq > %d) s" % (epoch, after_seq, epoch, after_seq))
    count, hi = (int(x) for x in row.split("|"))
    lost = lab.psql("inf", "mt5_crs", "SELECT coalesce(sum(to_seq - greatest(from_seq, %d) + 1), 0) FROM nexus_discontinuity "
                                      "WHERE kind = 'gap_unrecoverable' AND gateway = 'gtw' AND epoch = %d AND to_seq > %d"
                                      % (after_seq + 1, epoch, after_seq))
    return count, hi, int(lost or 0)


def main():
    set_rate(RATE)  # restarts the gateway (the journal may keep its epoch: the window is by seq)
    position = lab.wait(lambda: lab.healthz().get("state") == "healthy" and gateway_position(), 60)
    if not position:
        print("SOAK FAILED: the gateway or nexus did not come back within 60 s of the rate change")
        return 1
    epoch, start_seq = position
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
    count, hi, lost = window_audit(epoch, start_seq)
    published = hi - start_seq
    set_rate(os.environ.get("SOAK_REST_RATE", "200"))
    lags.sort()
    p99 = lags[int(len(lags) * 0.99)] if lags else None
    ok = count == published and lost == 0 and count >= RATE * MINUTES * 60 * 0.9
    lines = ["# Soak", "", "`tests/chaos/soak.py` on the lab, %s: gateway at %d ticks/s for %s min." % (time.strftime("%Y-%m-%d"), RATE, MINUTES), "",
             "- events published during the soak: %d (epoch %d, seq %d-%d); rows in INF: %d: %s; recorded unrecoverable: %d"
             % (published, epoch, start_seq + 1, hi, count, "equal" if count == published else "DIFFERENT", lost),
             "- nexus lag p99 over %d samples: %s s, max %s s" % (len(lags), p99, lags[-1] if lags else None), "",
             "| t (s) | lag (s) | committed seq | gateway RSS (MiB) | nexus RSS (MiB) |", "|---|---|---|---|---|"]
    lines += ["| %(t_s)s | %(lag_s)s | %(committed_seq)s | %(gateway_rss_mb)s | %(nexus_rss_mb)s |" % s for s in samples]
    with open(os.path.join(lab.ROOT, "docs", "soak.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    # From the first minute on: before that the gateway's 200 000-event ring is still filling.
    first = next((s for s in samples if s["t_s"] >= 60), samples[0]) if samples else {}
    last = samples[-1] if samples else {}
    summary = (("PASSED" if ok else "FAILED"), published, count, p99, first.get("gateway_rss_mb"), last.get("gateway_rss_mb"),
               first.get("nexus_rss_mb"), last.get("nexus_rss_mb"))
    print("SOAK %s: %d ticks published, %d rows in INF, lag p99 %s s, RSS from 1 min to the end: gateway %s -> %s MiB, "
          "nexus %s -> %s MiB" % summary)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
