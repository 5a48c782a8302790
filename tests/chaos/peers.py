"""Hostile peers against the lab gateway, from the controller (which the lab allows in): a fuzzed
JSON corpus, deep nesting, NaN/Infinity/huge integers in every numeric field, a DEALER pipelining
replays it never reads, slow and huge subscribers, a connection flood. While under attack it
watches what must not change: the gateway and nexus do not restart, gateway RSS stays under a
bound, heartbeats keep their cadence, nexus keeps committing, and INF's ping is answered.

Every loop is bounded in count and time; `scale` shrinks them for `make test`.
Usage: peers.py [--quick]   (prints one JSON line; exit 1 if a property failed)
"""
import json
import os
import random
import resource
import shlex
import socket
import subprocess
import sys
import threading
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import lab  # noqa: E402

RSS_BOUND_MIB = 300     # the gateway's own bound under attack (MemoryMax is 1G)
HB_GAP_BOUND_S = 2.0
GATEWAY = "mt5mesh-gateway.service"
HUGE_SUBSCRIBER = ("import zmq,time\nc=zmq.Context();s=c.socket(zmq.SUB);s.setsockopt(zmq.LINGER,0)\n"
                   "s.connect('tcp://%s:5556')\nfor i in range(3): s.setsockopt(zmq.SUBSCRIBE,b'x'*1048576)\n"
                   "time.sleep(3)")
NEXUS = "mt5mesh-nexus@gtw.service"


def gateway_rss_mib():
    out = lab.sh("gtw", "ps -o rss= -p $(systemctl show -p MainPID --value %s)" % GATEWAY, check=False)
    return int(out.stdout.strip() or 0) / 1024.0


def restarts():
    return {host: int(lab.sh(host, "systemctl show -p NRestarts --value %s" % unit).stdout.strip() or 0)
            for host, unit in (("gtw", GATEWAY), ("inf", NEXUS))}


def ping_from_inf(addr):
    code = ("import zmq,sys\nc=zmq.Context();s=c.socket(zmq.REQ);s.setsockopt(zmq.LINGER,0)\n"
            "s.connect('tcp://%s:5555');s.send(b'{\"cmd\":\"ping\"}')\nsys.exit(0 if s.poll(2000) else 1)" % addr)
    return lab.sh("inf", "python3 -c %s" % shlex.quote(code), check=False).returncode == 0


def fuzz_corpus(rng, n):
    seeds = [b'{"cmd":"ping"}', b'{"cmd":"replay","from_seq":1,"limit":10}', b'{"cmd":"status","id":[1,{"a":2}]}',
             b'{"cmd":"snapshot"}']
    numbers = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"9" * 400, b"-" + b"9" * 400, b"1e-400",
               b"0.0", b"-0", b"true", b"null", b'"7"']
    for i in range(n):
        kind = i % 5
        if kind == 0:  # mutate a seed byte-wise
            b = bytearray(rng.choice(seeds))
            for _j in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            yield bytes(b)
        elif kind == 1:  # deep nesting, every bracket kind
            d = rng.choice([40, 500, 5000])
            yield rng.choice([b"[" * d, b'{"a":' * d, b'{"cmd":"ping","x":' + b"[" * d + b"]" * d + b"}"])
        elif kind == 2:  # a hostile number in every numeric field
            yield b'{"cmd":"replay","from_seq":%s,"limit":%s,"id":%s}' % (
                rng.choice(numbers), rng.choice(numbers), rng.choice(numbers))
        elif kind == 3:
            yield bytes(rng.getrandbits(8) for _j in range(rng.randint(1, 200)))
        else:
            yield b'{"cmd":"ping","id":"' + b"\\u0000" * rng.randint(1, 50) + b'"}'


class Watch(threading.Thread):
    """Heartbeat gaps (SUB on hb) and nexus commits while the attacks run."""

    def __init__(self, ctx, addr):
        threading.Thread.__init__(self, daemon=True)
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"hb")
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.connect("tcp://%s:5556" % addr)
        self.stop, self.beats = threading.Event(), []

    def run(self):
        while not self.stop.is_set():
            if self.sub.poll(200):
                self.sub.recv_multipart()
                self.beats.append(time.monotonic())
        self.sub.close(0)

    def max_gap(self):
        gaps = [b - a for a, b in zip(self.beats, self.beats[1:])]
        return round(max(gaps), 3) if gaps else None


def main(quick=False):
    k = 10 if quick else 1
    addr = lab.lab_addr("gtw")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = zmq.Context()
    ctx.setsockopt(zmq.MAX_SOCKETS, 4096)
    before_restarts, rss_before = restarts(), gateway_rss_mib()
    seq_before = lab.healthz().get("last_seq") or 0
    watch = Watch(ctx, addr)
    watch.start()
    result = {"quick": quick, "rss_before_mib": round(rss_before, 1)}
    rng = random.Random(11)
    t0 = time.monotonic()
    # 1-3: fuzzed corpus, nesting, hostile numbers through a DEALER that reads its replies.
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.RCVHWM, 0)
    dealer.setsockopt(zmq.SNDTIMEO, 5000)  # a gateway that stopped reading fails the stage, not hangs it
    dealer.connect("tcp://%s:5555" % addr)
    n, replies = 20000 // k, 0
    for frame in fuzz_corpus(rng, n):
        try:
            dealer.send_multipart([b"", frame])
        except zmq.Again:
            break
        while dealer.poll(0):
            dealer.recv_multipart()
            replies += 1
    end = time.monotonic() + 10
    while replies < n and time.monotonic() < end:
        if dealer.poll(200):
            dealer.recv_multipart()
            replies += 1
    dealer.close(0)
    result.update(fuzz_frames=n, fuzz_replies=replies)
    # 4: replays pipelined by a DEALER that never reads.
    lazy = ctx.socket(zmq.DEALER)
    lazy.setsockopt(zmq.LINGER, 0)
    lazy.setsockopt(zmq.RCVHWM, 1)
    lazy.setsockopt(zmq.SNDTIMEO, 5000)
    lazy.connect("tcp://%s:5555" % addr)
    for _i in range(300):
        try:
            lazy.send_multipart([b"", b'{"cmd":"replay","from_seq":1,"limit":20000}'])
        except zmq.Again:
            break
    # 5-6: slow subscribers that never read, and subscriptions far over the limit.
    slow = []
    for _i in range(5):
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.setsockopt(zmq.RCVHWM, 1)
        s.setsockopt(zmq.RCVBUF, 4096)
        s.setsockopt(zmq.LINGER, 0)
        s.connect("tcp://%s:5556" % addr)
        slow.append(s)
    # In its own process: libzmq (client side) crashes when the gateway cuts such a peer off.
    huge = subprocess.Popen([sys.executable, "-c", HUGE_SUBSCRIBER % addr], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # 7: a connection flood of idle TCP connections.
    conns, refused = [], 0
    for _i in range(1100 // k):
        try:
            conns.append(socket.create_connection((addr, 5555), timeout=2))
        except OSError:
            refused += 1
    hold_end = time.monotonic() + (5 if quick else 20)
    ping_ok, rss_peak = [], rss_before
    while time.monotonic() < hold_end:
        ping_ok.append(ping_from_inf(addr))
        rss_peak = max(rss_peak, gateway_rss_mib())
        time.sleep(0.5)
    seq_after = lab.healthz().get("last_seq") or 0
    for c in conns:
        c.close()
    for s in slow + [lazy]:
        s.close(0)
    try:
        huge.wait(10)
    except subprocess.TimeoutExpired:
        huge.kill()
    watch.stop.set()
    watch.join(5)
    ctx.destroy(linger=0)  # never block on a socket left open (term() would wait for ever)
    after_restarts = restarts()
    result.update(connections=len(conns), connections_refused=refused, inf_pings=len(ping_ok),
                  inf_pings_answered=sum(ping_ok), rss_peak_mib=round(rss_peak, 1), rss_bound_mib=RSS_BOUND_MIB,
                  heartbeats=len(watch.beats), heartbeat_max_gap_s=watch.max_gap(), nexus_seq_before=seq_before,
                  nexus_seq_after=seq_after, restarts_before=before_restarts, restarts_after=after_restarts,
                  elapsed_s=round(time.monotonic() - t0, 1))
    failed = []
    if after_restarts != before_restarts:
        failed.append("a service restarted under attack")
    if rss_peak > RSS_BOUND_MIB:
        failed.append("gateway RSS %.1f MiB over %d" % (rss_peak, RSS_BOUND_MIB))
    if watch.max_gap() is None or watch.max_gap() >= HB_GAP_BOUND_S:
        failed.append("heartbeat gap %s s" % watch.max_gap())
    if not seq_after > seq_before:
        failed.append("nexus did not commit under attack")
    if not ping_ok or not all(ping_ok):
        failed.append("INF ping unanswered %d of %d" % (len(ping_ok) - sum(ping_ok), len(ping_ok)))
    if replies < n:
        failed.append("%d of %d fuzzed requests unanswered" % (n - replies, n))
    result["failed"] = failed
    return not failed, result


if __name__ == "__main__":
    ok, res = main("--quick" in sys.argv)
    print(json.dumps(res))
    sys.exit(0 if ok else 1)
