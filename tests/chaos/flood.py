"""Bad input at scale: 100 000 malformed frames at the gateway REP and PULL ports (a gateway
on loopback in pull mode), then ping latency and memory. Bounded in count and time."""
import json
import os
import random
import sys
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support.servers import Service, free_port, gateway_args, wait_until  # noqa: E402


WINDOW = 500


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])


def ping_latencies(ctx, rep, n=2000):
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect("tcp://127.0.0.1:%d" % rep)
    lat = []
    for _i in range(n):
        t0 = time.perf_counter()
        req.send(b'{"cmd":"ping"}')
        if not req.poll(2000):
            raise RuntimeError("gateway stopped answering ping")
        req.recv()
        lat.append((time.perf_counter() - t0) * 1000)
    req.close(0)
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)]


def malformed(rng, i):
    kind = i % 6
    if kind == 0:
        return [b"", bytes(rng.getrandbits(8) for _j in range(rng.randint(1, 64)))]
    if kind == 1:
        return [b"", b'{"cmd": "ping"' + b"}" * rng.randint(0, 2) + b"garbage"]
    if kind == 2:
        return [b"", b"[1, 2, 3]"]
    if kind == 3:
        return [b"", b'{"cmd": "replay", "from_seq": -1}']
    if kind == 4:
        return [b"", b"a", b"b", b"c"]  # multi-frame
    return [b"", b'{"cmd": "%s"}' % (b"x" * rng.randint(1, 100))]


def main(frames=100000, huge=20):
    tmp = "/tmp/mt5-flood"
    os.makedirs(tmp, exist_ok=True)
    rep, pub, pull = free_port(), free_port(), free_port()
    gw = Service("mt5mesh-gateway", gateway_args(rep, pub, extra=["--source", "pull", "--pull", "tcp://127.0.0.1:%d" % pull]), tmp)
    ctx = zmq.Context.instance()
    try:
        wait_until(lambda: ping_latencies(ctx, rep, 10), 10, "gateway up")
        before_p50, before_p99 = ping_latencies(ctx, rep)
        rss_before = rss_kb(gw.proc.pid)
        rng = random.Random(7)
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        # REP (like ROUTER) drops replies to a peer whose queue is full; this client reads its
        # replies only between sends, so it takes an unbounded queue to count every one.
        dealer.setsockopt(zmq.RCVHWM, 0)
        dealer.connect("tcp://127.0.0.1:%d" % rep)
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.connect("tcp://127.0.0.1:%d" % pull)
        t0 = time.monotonic()
        replies = 0
        for i in range(frames):
            dealer.send_multipart(malformed(rng, i))
            push.send_multipart(malformed(rng, i)[1:] if i % 6 != 4 else [b"x", b"y"])
            # At most WINDOW requests in flight: the gateway queues 1 000 replies per peer and
            # (REP semantics) drops past that, so a pipelining client must read as it goes.
            while dealer.poll(0 if i + 1 - replies < WINDOW else 2000):
                dealer.recv_multipart()
                replies += 1
                if i + 1 - replies < WINDOW:
                    break
        # Frames past the request limit (ZMQ_MAXMSGSIZE) disconnect their peer unread: they come
        # from their own sockets, which get no reply, and cost the gateway nothing.
        big = ctx.socket(zmq.DEALER)
        big.setsockopt(zmq.LINGER, 0)
        big.connect("tcp://127.0.0.1:%d" % rep)
        big_push = ctx.socket(zmq.PUSH)
        big_push.setsockopt(zmq.LINGER, 0)
        big_push.connect("tcp://127.0.0.1:%d" % pull)
        for _i in range(huge):
            big.send_multipart([b"", b"x" * (3 * 1024 * 1024)], copy=False)
            big_push.send(b"x" * (3 * 1024 * 1024), copy=False)
        deadline = time.monotonic() + 60
        while replies < frames and time.monotonic() < deadline:
            if dealer.poll(500):
                dealer.recv_multipart()
                replies += 1
        huge_replies = 0
        while big.poll(1000) and huge_replies < huge:
            big.recv_multipart()
            huge_replies += 1
        big.close(0)
        big_push.close(0)
        flood_s = time.monotonic() - t0
        after_p50, after_p99 = ping_latencies(ctx, rep)
        rss_after = rss_kb(gw.proc.pid)
        status_req = ctx.socket(zmq.REQ)
        status_req.connect("tcp://127.0.0.1:%d" % rep)
        status_req.send(b'{"cmd":"status"}')
        status = json.loads(status_req.recv())
        status_req.close(0)
        dealer.close(0)
        push.close(0)
        alive = gw.proc.poll() is None
    finally:
        gw.stop()
    result = {"frames_rep": frames, "frames_pull": frames, "huge": huge, "huge_replies": huge_replies,
              "replies": replies, "flood_s": round(flood_s, 1),
              "ping_p50_ms_before": round(before_p50, 3), "ping_p99_ms_before": round(before_p99, 3),
              "ping_p50_ms_after": round(after_p50, 3), "ping_p99_ms_after": round(after_p99, 3),
              "rss_kb_before": rss_before, "rss_kb_after": rss_after, "rejected": status["rejected"],
              "pull_dropped": status["dropped"], "alive": alive}
    ok = alive and after_p99 < 10 and rss_after - rss_before < 100 * 1024 and replies == frames and huge_replies == 0
    return ok, result


if __name__ == "__main__":
    ok, result = main()
    print(json.dumps(result, indent=1))
    sys.exit(0 if ok else 1)
