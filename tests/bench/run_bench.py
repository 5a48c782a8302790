"""`make bench`: the runtime against raw baselines measured in the same run, as ratios.

Real processes, real PostgreSQL and Redis on loopback (throwaway, from tests/support).
Writes its table into docs/benchmarks.md (between the bench:runtime markers; the prose there
is written by hand). Every loop is bounded in count and time.
"""
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

import markers  # noqa: E402  (tests/bench, the script's own directory)
from support.servers import PostgresCluster, RedisServer, Service, free_port, gateway_args, nexus_args, wait_until  # noqa: E402

PING = b'{"cmd":"ping","id":1}'


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def raw_rep_server(port, ready, reply=None):
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.bind("tcp://127.0.0.1:%d" % port)
    ready.set()
    reply = reply or b'{"ok":true,"id":1,"version":"0.1.0","protocol":"1.0","epoch":1795675383246,"seq":123456,"uptime_s":1.234}'
    while True:
        msg = rep.recv()
        rep.send(reply)
        if msg == b"quit":
            return


def rtt(port, n=5000):
    ctx = zmq.Context.instance()
    req = ctx.socket(zmq.REQ)
    req.connect("tcp://127.0.0.1:%d" % port)
    for _i in range(500):
        req.send(PING)
        req.recv()
    lat = []
    for _i in range(n):
        t0 = time.perf_counter_ns()
        req.send(PING)
        req.recv()
        lat.append((time.perf_counter_ns() - t0) / 1000.0)
    req.close(0)
    return statistics.median(lat), pct(lat, 0.99)


def bench_ping(tmp):
    port = free_port()
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=raw_rep_server, args=(port, ready), daemon=True)
    proc.start()
    ready.wait(10)
    raw_p50, raw_p99 = rtt(port)
    proc.terminate()
    rep, pub = free_port(), free_port()
    gw = Service("mt5mesh-gateway", gateway_args(rep, pub, rate=1000), tmp)
    time.sleep(1.0)
    gw_p50, gw_p99 = rtt(rep)
    gw.stop()
    return {"raw_p50_us": raw_p50, "raw_p99_us": raw_p99, "gw_p50_us": gw_p50, "gw_p99_us": gw_p99,
            "ratio": gw_p50 / raw_p50}


ORDER_REPLY = (b'{"ok":true,"id":"bench-000001","retcode":10009,"retcode_name":"TRADE_RETCODE_DONE","order":100001,'
               b'"deal":100002,"position":100001,"price":1.00032,"volume":0.01}')


def order_rtt(port, n, client="raw"):
    """order_send round trips, each a new id; with client="lazy" through the Lazy Pirate client."""
    from mt5mesh.wire.lazy_pirate import LazyPirateClient
    ctx = zmq.Context.instance()
    lazy = LazyPirateClient(zmq, "tcp://127.0.0.1:%d" % port, timeout=5.0, retries=1) if client == "lazy" else None
    req = None if lazy else ctx.socket(zmq.REQ)
    if req is not None:
        req.connect("tcp://127.0.0.1:%d" % port)
    lat = []
    for i in range(n + 100):
        side = "buy" if i % 2 else "sell"
        t0 = time.perf_counter_ns()
        if lazy:
            reply = lazy.call("order_send", req_id="bench-%06d" % i, symbol="EURUSD", side=side, volume=0.01)
        else:
            req.send(b'{"cmd":"order_send","id":"bench-%06d","symbol":"EURUSD","side":"%s","volume":0.01}' % (i, side.encode()))
            reply = json.loads(req.recv())
        if i >= 100:
            lat.append((time.perf_counter_ns() - t0) / 1000.0)
        assert reply["ok"], reply
        if reply.get("position"):  # closed untimed, so the account stays at one position (a real one has a few)
            close = b'{"cmd":"order_close","id":"close-%06d","position":%d}' % (i, reply["position"])
            if lazy:
                lazy.call("order_close", req_id="close-%06d" % i, position=reply["position"])
            else:
                req.send(close)
                req.recv()
    (lazy or req).close()
    return statistics.median(lat), pct(lat, 0.99)


def bench_orders(tmp, n=2000):
    port = free_port()
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=raw_rep_server, args=(port, ready, ORDER_REPLY), daemon=True)
    proc.start()
    ready.wait(10)
    raw_p50, raw_p99 = order_rtt(port, n)
    proc.terminate()
    out = {"raw_p50_us": raw_p50, "raw_p99_us": raw_p99, "orders": n}
    for client in ("raw", "lazy"):
        rep, pub = free_port(), free_port()
        journal = os.path.join(tmp, "journal-%s" % client)
        gw = Service("mt5mesh-gateway", gateway_args(rep, pub, rate=100, extra=[
            "--terminal", "paper", "--symbols", "EURUSD", "--trading", "--allow-insecure-trading", "--journal", journal, "--paper-balance", 1e12,
            "--max-orders-per-s", 100000, "--max-positions", 1000000]), tmp)
        wait_until(lambda: os.path.exists(os.path.join(journal, "lock")), 15, "gateway journal")
        time.sleep(1.0)
        p50, p99 = order_rtt(rep, n, client)
        gw.stop()
        out[client] = {"p50_us": p50, "p99_us": p99, "ratio": p50 / raw_p50}
    return out


def raw_pub_server(port, payload, seconds):
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.bind("tcp://127.0.0.1:%d" % port)
    time.sleep(0.5)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _i in range(1000):
            pub.send_multipart([b"tick.EURUSD", payload])


def count_rate(port, seconds, warmup=1.0):
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sub.connect("tcp://127.0.0.1:%d" % port)
    deadline = time.monotonic() + warmup
    while time.monotonic() < deadline:
        if sub.poll(100):
            sub.recv_multipart()
    n, t0 = 0, time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        if sub.poll(100):
            sub.recv_multipart()
            n += 1
    sub.close(0)
    return n / (time.monotonic() - t0)


def bench_publish(tmp, seconds=4.0):
    payload = json.dumps({"epoch": 1795675383246, "seq": 1234567, "ts": 1795675383.1234567, "symbol": "EURUSD",
                          "bid": 1.084121, "ask": 1.084231}, separators=(",", ":")).encode()
    port = free_port()
    proc = multiprocessing.Process(target=raw_pub_server, args=(port, payload, seconds + 2), daemon=True)
    proc.start()
    raw = count_rate(port, seconds)
    proc.join(10)
    rep, pub = free_port(), free_port()
    gw = Service("mt5mesh-gateway", gateway_args(rep, pub, rate=1000000), tmp)
    time.sleep(0.5)
    rate = count_rate(pub, seconds)
    gw.stop()
    return {"payload_bytes": len(payload), "raw_msgs_s": raw, "gw_msgs_s": rate, "ratio": rate / raw}


def raw_inserts(pg, n=3000):
    conn = pg.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS raw_ticks (epoch bigint, seq bigint, symbol text, ts float8, "
                    "bid float8, ask float8, PRIMARY KEY (epoch, seq))")
    conn.commit()
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        for i in range(n):
            cur.execute("INSERT INTO raw_ticks VALUES (%s, %s, %s, %s, %s, %s)", (1, i, "EURUSD", time.time(), 1.1, 1.2))
            conn.commit()
    rate = n / (time.perf_counter() - t0)
    conn.close()
    return rate


def committed(pg):
    with pg.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(seq), 0) FROM ticks")
        return cur.fetchone()[0]


def reset(pg, redis_server):
    import redis
    for db in ("mt5_crs", "mt5_features"):
        pg.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION trader;", db=db)
    for n in (0, 1):
        redis.Redis.from_url(redis_server.url(n)).flushdb()


def bench_ingest(tmp, pg, redis_server, backlog=300000):
    """A backlog of ``backlog`` ticks in the gateway ring, then nexus is started: it replays and
    commits them (PostgreSQL COPY + Redis pipeline + HUB bars). Ticks/s from start to last commit."""
    reset(pg, redis_server)
    raw = raw_inserts(pg)
    rep, pub, pull = free_port(), free_port(), free_port()
    # The pull source publishes exactly what is pushed: a fixed backlog, no moving target.
    pull_args = ["--source", "pull", "--pull", "tcp://127.0.0.1:%d" % pull, "--ring-size", backlog + 1000]
    gw = Service("mt5mesh-gateway", gateway_args(rep, pub, extra=pull_args), tmp)
    ctx = zmq.Context.instance()
    req = ctx.socket(zmq.REQ)
    req.connect("tcp://127.0.0.1:%d" % rep)

    def gw_seq():
        req.send(PING)
        return json.loads(req.recv())["seq"]
    wait_until(lambda: gw_seq() >= 0, 10, "gateway up")
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDHWM, 0)
    push.connect("tcp://127.0.0.1:%d" % pull)
    symbols = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD")
    for i in range(backlog):
        push.send(b'{"symbol":"%s","bid":1.%06d,"ask":1.%06d}' % (symbols[i % 4].encode(), i % 999999, i % 999999 + 1))
    wait_until(lambda: gw_seq() >= backlog, 120, "gateway backlog of %d" % backlog, interval=0.2)
    push.close(0)
    health = free_port()
    t0 = time.monotonic()
    nx = Service("mt5mesh-nexus", nexus_args(pg, redis_server, "tcp://127.0.0.1:%d" % rep, "tcp://127.0.0.1:%d" % pub,
                                             health, os.path.join(tmp, "spool")), tmp)
    target = backlog
    wait_until(lambda: committed(pg) >= target, 120, "nexus caught up to %d" % target, interval=0.1)
    elapsed = time.monotonic() - t0
    nx.stop()
    gw.stop()
    req.close(0)
    return {"ticks": target, "seconds": elapsed, "nexus_ticks_s": target / elapsed, "raw_insert_rows_s": raw,
            "ratio": target / elapsed / raw}


def bench_latency(tmp, pg, redis_server, rate=10000, seconds=10):
    """Publish -> PostgreSQL row latency at ``rate`` ticks/s, by polling max(seq) every 5 ms."""
    reset(pg, redis_server)
    rep, pub, health = free_port(), free_port(), free_port()
    gw = Service("mt5mesh-gateway", gateway_args(rep, pub, rate=rate), tmp)
    time.sleep(0.5)
    nx = Service("mt5mesh-nexus", nexus_args(pg, redis_server, "tcp://127.0.0.1:%d" % rep, "tcp://127.0.0.1:%d" % pub,
                                             health, os.path.join(tmp, "spool")), tmp)
    wait_until(lambda: committed(pg) > 0, 30, "first commit")
    time.sleep(1.0)
    conn = pg.connect()
    seen = []  # (wall time, max seq)
    end = time.monotonic() + seconds
    with conn.cursor() as cur:
        while time.monotonic() < end:
            cur.execute("SELECT max(seq) FROM ticks")
            seen.append((time.time(), cur.fetchone()[0]))
            conn.commit()
            time.sleep(0.005)
        lo, hi = seen[0][1] + 1, seen[-1][1]
        cur.execute("SELECT seq, ts FROM ticks WHERE seq BETWEEN %s AND %s ORDER BY seq", (lo, hi))
        rows = cur.fetchall()
    conn.close()
    lat, i = [], 0
    for seq, ts in rows:
        while seen[i][1] < seq:
            i += 1
        lat.append((seen[i][0] - ts) * 1000.0)
    nx.stop()
    gw.stop()
    return {"rate": rate, "samples": len(lat), "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99)}


def tick_subscriber(url, seconds, out):
    """A strategy's subscriber: every tick's seq and age on arrival (now - its publish ts), in
    ms, for ``seconds`` after a 1 s warm-up. Runs in its own process so two subscribers never
    share a GIL; keeps two flat lists (no tuple per tick) so its own garbage collector never
    pauses it mid-run."""
    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.connect(url)
    seqs, ages, start = [], [], time.time()
    warm, end = start + 1.0, start + 1.0 + seconds
    while time.time() < end:
        if not sock.poll(100):
            continue
        frames = sock.recv_multipart()
        now = time.time()
        if now >= warm:
            tick = json.loads(frames[1])
            seqs.append(tick["seq"])
            ages.append((now - tick["ts"]) * 1000.0)
    sock.close(0)
    out.put((seqs, ages))


def tick_round(urls, seconds):
    """One round: both subscribers at once; per path p50/p99, and per tick the extra time the
    nexus path took (its age minus the same tick's direct age): what nexus itself adds."""
    queues = {k: multiprocessing.Queue() for k in urls}
    procs = [multiprocessing.Process(target=tick_subscriber, args=(urls[k], seconds, queues[k])) for k in urls]
    for proc in procs:
        proc.start()
    got = {k: q.get(timeout=seconds + 30) for k, q in queues.items()}
    for proc in procs:
        proc.join(10)
    row = {k: {"samples": len(ages), "p50_ms": pct(ages, 0.5), "p99_ms": pct(ages, 0.99)} for k, (seqs, ages) in got.items()}
    direct = dict(zip(*got["direct"]))
    hop = [age - direct[seq] for seq, age in zip(*got["nexus"]) if seq in direct]
    row["hop"] = {"samples": len(hop), "p50_ms": pct(hop, 0.5), "p99_ms": pct(hop, 0.99)}
    row["ratio_p99"] = row["nexus"]["p99_ms"] / max(row["direct"]["p99_ms"], 1e-6)
    return row


def bench_tick_latency(tmp, pg, redis_server, rates=(1000, 10000), seconds=5, rounds=3):
    """Gateway publish -> a strategy's subscriber, straight on the gateway PUB and through nexus's
    local XPUB proxy, both subscribed at once to the same gateway (same ticks, same run).
    ``rounds`` rounds per rate on the same gateway and nexus; the round with the median p99
    ratio is reported, with the range of the others (one 5 s p99 on 2 shared cores swings)."""
    out = {}
    for rate in rates:
        reset(pg, redis_server)
        rep, pub, health, xpub = free_port(), free_port(), free_port(), free_port()
        gw = Service("mt5mesh-gateway", gateway_args(rep, pub, rate=rate), tmp)
        nx = Service("mt5mesh-nexus", nexus_args(pg, redis_server, "tcp://127.0.0.1:%d" % rep,
                                                 "tcp://127.0.0.1:%d" % pub, health, os.path.join(tmp, "spool"),
                                                 xpub_port=xpub), tmp)
        try:
            wait_until(lambda: committed(pg) > 0, 30, "first commit")
            urls = {"direct": "tcp://127.0.0.1:%d" % pub, "nexus": "tcp://127.0.0.1:%d" % xpub}
            done = sorted((tick_round(urls, seconds) for _i in range(rounds)), key=lambda r: r["ratio_p99"])
        finally:
            nx.stop()
            gw.stop()
        row = dict(done[len(done) // 2], rate=rate, rounds=rounds)
        row["ratios_p99"] = [r["ratio_p99"] for r in done]
        out[rate] = row
    return out


RESTART_SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD")


def full_journal(path, ring=200000, events=338000, segment_events=200000):
    """A journal as a 20 000 ticks/s run leaves it: a full ring and most of a segment more."""
    from mt5mesh.gateway.journal import Journal
    journal = Journal(path, ring)
    journal.lock()
    seq = 0
    while seq < events:
        journal.start(seq + 1, {"epoch": 1, "seq": seq, "cursors": {}, "replies": [], "intents": []})
        for _i in range(min(segment_events, events - seq)):
            seq += 1
            journal.event(seq, b'{"epoch":1,"seq":%d,"ts":%.3f,"symbol":"%s","bid":1.08%03d,"ask":1.08%03d,'
                          b'"time_msc":%d,"last":0.0,"volume":0,"flags":6}'
                          % (seq, 1.7e9 + seq / 1000.0, RESTART_SYMBOLS[seq % 4].encode(), seq % 997, seq % 997 + 2,
                             1700000000000 + seq))
    journal.close()


def start_to_ping(tmp, journal_from, name):
    """Seconds from starting a paper-terminal gateway on a copy of ``journal_from`` (or none) to
    its first answer to ping."""
    import shutil
    path = os.path.join(tmp, name)
    shutil.rmtree(path, ignore_errors=True)
    if journal_from:
        shutil.copytree(journal_from, path)
    rep, pub = free_port(), free_port()
    started = time.monotonic()
    gw = Service("mt5mesh-gateway", ["--rep", "tcp://127.0.0.1:%d" % rep, "--pub", "tcp://127.0.0.1:%d" % pub,
                                     "--terminal", "paper", "--symbols", ",".join(RESTART_SYMBOLS), "--rate", 10,
                                     "--journal", path], tmp)
    ctx = zmq.Context.instance()
    try:
        while time.monotonic() - started < 30:  # bounded
            s = ctx.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.connect("tcp://127.0.0.1:%d" % rep)
            s.send(PING)
            answered = s.poll(50)
            s.close()
            if answered:
                return time.monotonic() - started
        raise RuntimeError("gateway did not answer ping within 30 s:\n" + gw.output())
    finally:
        gw.stop()


def bench_restart(tmp, runs=3):
    """A gateway's start with a full journal against the same start with none (same run)."""
    full = os.path.join(tmp, "journal-full")
    full_journal(full)
    empty = [start_to_ping(tmp, None, "journal-empty") for _i in range(runs)]
    loaded = [start_to_ping(tmp, full, "journal-copy") for _i in range(runs)]
    return {"empty_s": statistics.median(empty), "full_s": statistics.median(loaded), "runs": runs,
            "ratio": statistics.median(loaded) / statistics.median(empty)}


def main():
    tmp = tempfile.mkdtemp(prefix="mt5-bench-")
    if sys.argv[1:] == ["--tick-latency"]:  # one benchmark alone, printed, docs untouched
        pg, redis_server = PostgresCluster(), RedisServer()
        try:
            print(json.dumps(bench_tick_latency(tmp, pg, redis_server), indent=2))
        finally:
            pg.destroy()
            redis_server.stop()
        return
    if sys.argv[1:] == ["--restart"]:  # one benchmark alone, printed, docs untouched
        print(json.dumps(bench_restart(tmp), indent=2))
        return
    if sys.argv[1:] == ["--orders"]:  # one benchmark alone, printed, docs untouched
        print(json.dumps(bench_orders(tmp), indent=2))
        return
    results = {"ping": bench_ping(tmp), "publish": bench_publish(tmp), "orders": bench_orders(tmp),
               "restart": bench_restart(tmp)}
    pg, redis_server = PostgresCluster(), RedisServer()
    try:
        results["ingest"] = bench_ingest(tmp, pg, redis_server)
        results["latency"] = bench_latency(tmp, pg, redis_server)
        results["tick_latency"] = bench_tick_latency(tmp, pg, redis_server)
    finally:
        pg.destroy()
        redis_server.stop()
    o = results["orders"]
    p, u, g, lt = results["ping"], results["publish"], results["ingest"], results["latency"]
    rows = [
        ("Gateway `ping` round trip p50", "%.0f us (p99 %.0f)" % (p["gw_p50_us"], p["gw_p99_us"]),
         "raw pyzmq REQ/REP %.0f us (p99 %.0f)" % (p["raw_p50_us"], p["raw_p99_us"]), "%.2fx" % p["ratio"], "<= 2.0x",
         "met" if p["ratio"] <= 2.0 else "MISSED"),
        ("Gateway publish rate (%d B payload)" % u["payload_bytes"], "%.0f msg/s" % u["gw_msgs_s"],
         "raw pyzmq PUB %.0f msg/s" % u["raw_msgs_s"], "%.2fx" % u["ratio"], ">= 0.3x",
         "met" if u["ratio"] >= 0.3 else "MISSED"),
        ("Ingest gateway -> nexus -> PostgreSQL + Redis (+HUB)", "%.0f ticks/s (%d ticks in %.1f s)" % (g["nexus_ticks_s"], g["ticks"], g["seconds"]),
         "row INSERT+commit %.0f rows/s" % g["raw_insert_rows_s"], "%.1fx" % g["ratio"], ">= 100 000 ticks/s",
         "met" if g["nexus_ticks_s"] >= 100000 else "MISSED"),
        ("Publish -> PostgreSQL row at %d ticks/s" % lt["rate"], "p50 %.1f ms, p99 %.1f ms (%d ticks)" % (lt["p50_ms"], lt["p99_ms"], lt["samples"]),
         "-", "-", "p99 < 100 ms", "met" if lt["p99_ms"] < 100 else "MISSED"),
        ("`order_send` round trip p50, paper terminal, journal on", "%.0f us (p99 %.0f)" % (o["raw"]["p50_us"], o["raw"]["p99_us"]),
         "raw pyzmq REQ/REP %.0f us (p99 %.0f)" % (o["raw_p50_us"], o["raw_p99_us"]), "%.2fx" % o["raw"]["ratio"], "<= 3.0x",
         "met" if o["raw"]["ratio"] <= 3.0 else "MISSED"),
        ("`order_send` round trip p50, Lazy Pirate client", "%.0f us (p99 %.0f)" % (o["lazy"]["p50_us"], o["lazy"]["p99_us"]),
         "raw pyzmq REQ/REP %.0f us (p99 %.0f)" % (o["raw_p50_us"], o["raw_p99_us"]), "%.2fx" % o["lazy"]["ratio"], "<= 3.0x",
         "met" if o["lazy"]["ratio"] <= 3.0 else "MISSED"),
    ]
    r = results["restart"]
    rows.append(("Gateway start to first `ping` answer, journal of a full 200 000-event ring + 138 000 older events",
                 "%.2f s (median of %d)" % (r["full_s"], r["runs"]), "the same start, no journal: %.2f s" % r["empty_s"],
                 "%.2fx" % r["ratio"], "<= 1.0 s (systemd restarts a killed gateway within 2 s)",
                 "met" if r["full_s"] <= 1.0 else "MISSED"))
    for rate, t in sorted(results["tick_latency"].items()):
        rows.append(("Tick to a strategy through nexus's XPUB at %d ticks/s (median of %d rounds)" % (rate, t["rounds"]),
                     "p50 %.2f ms, p99 %.2f ms (%d ticks); per tick nexus adds p50 %.2f ms, p99 %.2f ms"
                     % (t["nexus"]["p50_ms"], t["nexus"]["p99_ms"], t["nexus"]["samples"], t["hop"]["p50_ms"],
                        t["hop"]["p99_ms"]),
                     "straight from the gateway PUB: p50 %.2f ms, p99 %.2f ms" % (t["direct"]["p50_ms"], t["direct"]["p99_ms"]),
                     "%.2fx (p99; rounds %s)" % (t["ratio_p99"], ", ".join("%.2f" % r for r in t["ratios_p99"])),
                     "p99 <= 1.5x", "met" if t["ratio_p99"] <= 1.5 else "MISSED"))
    table = ["| benchmark | mt5mesh | raw baseline (same run) | ratio | goal | |", "|---|---|---|---|---|---|"]
    table += ["| %s |" % " | ".join(r) for r in rows]
    text = "\n".join(table)
    print(text)
    print(json.dumps(results, indent=2))
    out = markers.replace_block("bench:runtime", "Produced by `make bench` on %s, %d CPUs.\n\n%s"
                                % (time.strftime("%Y-%m-%d"), os.cpu_count(), text))
    print("wrote", out)


if __name__ == "__main__":
    main()
