"""Hostile peers on loopback: the attacks of the hostile-peers issue, each against a real gateway
process (or the real store writer and a real PostgreSQL), each asserting the property in its name.
Bounded in count and time."""
import json
import socket
import time

import pytest
import zmq

from support.servers import Service, free_port, gateway_args, wait_until
from mt5mesh.nexus import health
from mt5mesh.nexus.stores import HubFeeder, TickStore
from mt5mesh.wire import protocol


@pytest.fixture
def gateway(tmp_path):
    """A pull-mode gateway (no synthetic ticks unless asked) and a REQ helper."""
    started = []

    def start(extra=(), rate=1000):
        rep, pub, pull = free_port(), free_port(), free_port()
        args = gateway_args(rep, pub, rate, extra=list(extra) + ["--pull", "tcp://127.0.0.1:%d" % pull])
        gw = Service("mt5mesh-gateway", args, str(tmp_path))
        started.append(gw)
        wait_until(lambda: call(rep, {"cmd": "ping"}, 0.5) is not None, 10, "gateway answers ping")
        return gw, rep, pub, pull

    yield start
    for gw in started:
        gw.stop()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])


def call(rep, msg, timeout=1.0, raw=None):
    """One request on a fresh REQ socket; the decoded reply, or None when none came in time."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect("tcp://127.0.0.1:%d" % rep)
    try:
        sock.send(raw if raw is not None else json.dumps(msg).encode())
        if not sock.poll(int(timeout * 1000)):
            return None
        return json.loads(sock.recv())
    finally:
        sock.close(0)


def push_all(pull, frames_list):
    sock = zmq.Context.instance().socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 2000)
    sock.connect("tcp://127.0.0.1:%d" % pull)
    for frames in frames_list:
        sock.send_multipart(frames)
    sock.close()


def test_deep_nesting_request_is_answered_and_next_ping_within_1s(gateway):
    gw, rep, _pub, _pull = gateway(["--source", "pull"])
    reply = call(rep, None, 2.0, raw=b"[" * 5000)
    assert reply is not None and reply["ok"] is False and "nests deeper" in reply["error"]
    t0 = time.monotonic()
    assert call(rep, {"cmd": "ping"}, 1.0)["ok"] is True
    assert time.monotonic() - t0 < 1.0
    assert gw.proc.poll() is None, gw.output()


def test_poison_pushes_are_dropped_and_gateway_keeps_pinging_within_1s(gateway):
    gw, rep, _pub, pull = gateway(["--source", "pull"])
    poison = [
        b'{"symbol":"EURUSD","bid":1.1,"ask":1.2,"ts":NaN}',
        b'{"symbol":"EURUSD","bid":' + b"9" * 400 + b',"ask":1.2}',
        b'{"symbol":"EURUSD","bid":1.1,"ask":1.2,"x":' + b"[" * 1500 + b"]" * 1500 + b"}",
        b'{"symbol":"EURUSD","bid":1.1,"ask":1.2,"ts":' + b"1" * 401 + b"}",
        b'{"symbol":"EURUSD\\n","bid":1.1,"ask":1.2}',
        b'{"symbol":"EURUSD","bid":1e400,"ask":1.2}',
    ]
    push_all(pull, [[p] for p in poison] + [[b'{"symbol":"EURUSD","bid":1.1,"ask":1.2}']])
    wait_until(lambda: call(rep, {"cmd": "status"})["pushed"] == 1, 5, "the good push published")
    t0 = time.monotonic()
    status = call(rep, {"cmd": "status"}, 1.0)
    assert time.monotonic() - t0 < 1.0
    assert status["dropped"] == len(poison) and status["published"] == 1 and status["errors"] == 0
    assert gw.proc.poll() is None, gw.output()


def test_300_unread_replays_grow_gateway_rss_by_less_than_64mib(gateway):
    gw, rep, _pub, _pull = gateway(rate=20000)
    wait_until(lambda: call(rep, {"cmd": "ping"})["seq"] >= 40000, 20, "ring holds 40 000 ticks")
    before = rss_kb(gw.proc.pid)
    dealer = zmq.Context.instance().socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.RCVHWM, 1)  # a client that never reads
    dealer.connect("tcp://127.0.0.1:%d" % rep)
    try:
        for _i in range(300):
            dealer.send_multipart([b"", protocol.request("replay", from_seq=1, limit=protocol.MAX_REPLAY_LIMIT)])
        time.sleep(3)
        grown_mib = (rss_kb(gw.proc.pid) - before) / 1024.0
        assert grown_mib < 64, "gateway grew %.1f MiB" % grown_mib
        assert call(rep, {"cmd": "ping"}, 1.0)["ok"] is True
    finally:
        dealer.close(0)


def test_replay_reply_is_capped_at_max_replay_bytes(gateway):
    _gw, rep, _pub, _pull = gateway(rate=20000)
    wait_until(lambda: call(rep, {"cmd": "ping"})["seq"] >= 20000, 20, "ring holds 20 000 ticks")
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect("tcp://127.0.0.1:%d" % rep)
    sock.send(protocol.request("replay", from_seq=1, limit=protocol.MAX_REPLAY_LIMIT))
    assert sock.poll(2000)
    raw = sock.recv()
    sock.close(0)
    reply = json.loads(raw)
    assert reply["ok"] and 0 < len(reply["events"]) < protocol.MAX_REPLAY_LIMIT
    assert len(raw) <= protocol.MAX_REPLAY_BYTES + 200
    assert [e["seq"] for e in reply["events"]] == list(range(1, len(reply["events"]) + 1))


def test_heartbeat_gap_stays_under_2s_while_a_dealer_pipelines_replays(gateway):
    _gw, rep, pub, _pull = gateway(rate=5000)
    wait_until(lambda: call(rep, {"cmd": "ping"})["seq"] >= 20000, 20, "ring holds 20 000 ticks")
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_HEARTBEAT)
    sub.connect("tcp://127.0.0.1:%d" % pub)
    time.sleep(0.5)
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect("tcp://127.0.0.1:%d" % rep)
    beats, replies = [], 0
    try:
        deadline = time.monotonic() + 4.0
        sent = 0
        while time.monotonic() < deadline:
            if sent < 3000:
                for _i in range(100):
                    dealer.send_multipart([b"", protocol.request("replay", from_seq=1, limit=20000)])
                sent += 100
            while dealer.poll(0):
                dealer.recv_multipart()
                replies += 1
            while sub.poll(0):
                sub.recv_multipart()
                beats.append(time.monotonic())
            time.sleep(0.01)
    finally:
        dealer.close(0)
        sub.close(0)
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    assert len(beats) >= 5 and max(gaps) < 2.0, (len(beats), gaps and max(gaps), replies)


def heartbeats(pub, within, topic=protocol.TOPIC_HEARTBEAT):
    """The heartbeats a new SUB to ``topic`` receives within ``within`` seconds."""
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect("tcp://127.0.0.1:%d" % pub)
    got, deadline = [], time.monotonic() + within
    try:
        while time.monotonic() < deadline and sub.poll(max(1, int((deadline - time.monotonic()) * 1000))):
            frames = sub.recv_multipart()
            if frames[0] == protocol.TOPIC_HEARTBEAT:
                got.append(json.loads(frames[1]))
                if within <= 5:
                    break
    finally:
        sub.close(0)
    return got


@pytest.mark.parametrize("topic", [protocol.TOPIC_HEARTBEAT, b""])
def test_a_new_heartbeat_subscriber_gets_one_at_once_not_after_the_30s_interval(gateway, topic):
    _gw, rep, pub, _pull = gateway(extra=["--heartbeat", 30])
    epoch = call(rep, {"cmd": "ping"})["epoch"]
    got = heartbeats(pub, 5.0, topic)
    assert got and got[0]["epoch"] == epoch, got


def test_a_subscribe_flood_gets_at_most_one_heartbeat_per_50ms_and_ping_still_answers(gateway):
    _gw, rep, pub, _pull = gateway(extra=["--heartbeat", 30])
    listener = zmq.Context.instance().socket(zmq.SUB)
    listener.setsockopt(zmq.LINGER, 0)
    listener.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_HEARTBEAT)
    listener.connect("tcp://127.0.0.1:%d" % pub)
    wait_until(lambda: listener.poll(100), 5, "the listener's own heartbeat")
    listener.recv_multipart()
    flood = zmq.Context.instance().socket(zmq.XSUB)
    flood.setsockopt(zmq.LINGER, 0)
    flood.connect("tcp://127.0.0.1:%d" % pub)
    start = time.monotonic()
    try:
        for _i in range(3000):  # bounded: 3 000 subscribe/unsubscribe pairs
            flood.send(b"\x01hb")
            flood.send(b"\x00hb")
        time.sleep(0.5)
        elapsed = time.monotonic() - start
        beats = 0
        while listener.poll(0):
            listener.recv_multipart()
            beats += 1
        assert call(rep, {"cmd": "ping"}) is not None
    finally:
        flood.close(0)
        listener.close(0)
    assert 1 <= beats <= elapsed / 0.05 + 2, (beats, elapsed)


def test_bytes_that_are_no_subscription_on_the_pub_port_are_ignored_and_heartbeats_go_on(gateway):
    _gw, rep, pub, _pull = gateway(extra=["--heartbeat", 30])
    junk = zmq.Context.instance().socket(zmq.XSUB)
    junk.setsockopt(zmq.LINGER, 0)
    junk.connect("tcp://127.0.0.1:%d" % pub)
    try:
        for frame in (b"", b"\x05junk", b"\x02" * 4000, b"\xff\xfe", b"\x01" + b"x" * 3000):
            junk.send(frame)
        time.sleep(0.3)
        assert call(rep, {"cmd": "ping"}) is not None
    finally:
        junk.close(0)
    assert heartbeats(pub, 5.0)


def test_synthetic_symbol_with_newline_is_refused_at_start(tmp_path):
    rep, pub = free_port(), free_port()
    gw = Service("mt5mesh-gateway", gateway_args(rep, pub, extra=["--symbols", "EURUSD,BAD\tX"]), str(tmp_path))
    assert gw.proc.wait(20) == 2
    assert "symbols: 'EURUSD,BAD\\tX' is not comma-separated symbols" in gw.output()


@pytest.fixture
def writers(clean_stores):
    """The INF store writer and the HUB feeder on the throwaway stores, closed afterwards."""
    pg, redis_server = clean_stores
    cfg = {"pg_host": "127.0.0.1", "pg_port": pg.port, "pg_db": "mt5_crs", "pg_user": "trader",
           "pg_password": pg.PASSWORD, "hub_pg_host": "127.0.0.1", "hub_pg_port": pg.port,
           "hub_pg_db": "mt5_features", "hub_pg_user": "trader", "hub_pg_password": pg.PASSWORD,
           "hub_redis_url": redis_server.url(1), "gateway": "gtw"}
    store, hub = TickStore(cfg), HubFeeder(cfg)
    yield pg, store, hub
    store.drop()
    hub.drop()


def test_poison_row_is_quarantined_and_following_ticks_reach_inf_and_hub(writers):
    pg, store, hub = writers
    now = time.time()
    rows = [(7, 1, "EURUSD", now, 1.1, 1.2), (7, 2, "EURUSD", 10 ** 401, 1.1, 1.2),
            (7, 3, "EUR\tUSD\nX", now, 1.1, 1.2), (7, 4, "GBPUSD", now, 1.3, 1.4)]
    refused = store.write_checked(rows)
    assert [r[0][1] for r in refused] == [2]
    with pg.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT seq, symbol FROM ticks ORDER BY seq")
        assert cur.fetchall() == [(1, "EURUSD"), (3, "EUR\tUSD\nX"), (4, "GBPUSD")]
        cur.execute("SELECT epoch, seq, reason FROM nexus_quarantine")
        quarantined = cur.fetchall()
        cur.execute("SELECT epoch, seq FROM nexus_checkpoint")
        assert cur.fetchone() == (7, 4)
    assert [(q[0], q[1]) for q in quarantined] == [(7, 2)] and quarantined[0][2]
    assert hub.step() == 3
    with pg.connect("mt5_features") as conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(sum(ticks), 0) FROM bars_1s")
        assert cur.fetchone()[0] == 3
        cur.execute("SELECT seq FROM hub_checkpoint")
        assert cur.fetchone()[0] == 4


def test_hub_skips_an_out_of_range_ts_already_in_inf_and_its_checkpoint_moves_on(writers):
    pg, store, hub = writers
    now = time.time()
    store.write([(8, 1, "EURUSD", 1e300, 1.1, 1.2), (8, 2, "EURUSD", now, 1.1, 1.2)])
    assert hub.step() == 2 and hub.skipped == 1
    with pg.connect("mt5_features") as conn, conn.cursor() as cur:
        cur.execute("SELECT seq FROM hub_checkpoint")
        assert cur.fetchone()[0] == 2


def http_get(port, path):
    """One HTTP/1.0 GET: the server closes after the response, which may come in more than one
    segment (headers, then body), so it is read to the end (bounded)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(b"GET " + path + b" HTTP/1.0\r\n\r\n")
        response = b""
        for _i in range(100):
            chunk = s.recv(4096)
            if not chunk:
                break
            response += chunk
        return response
    finally:
        s.close()


def test_health_server_drops_unfinished_requests_and_caps_connections(monkeypatch):
    import threading
    from mt5mesh import httpd
    monkeypatch.setattr(httpd, "REQUEST_TIMEOUT_S", 0.5)
    port = free_port()

    class Log:
        def debug(self, *a):
            pass
    # Counted as a difference: threads left by earlier tests in this process are not the server's.
    before = threading.active_count()
    server = health.serve("127.0.0.1:%d" % port, lambda: (200, {"state": "healthy"}), health.Metrics(), Log())
    try:
        idle = []
        for _i in range(httpd.MAX_CONNECTIONS + 20):
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"GET /healthz HTTP/1.1\r\n")  # never finished
            idle.append(s)
        time.sleep(0.3)
        # One thread per held connection, at most MAX_CONNECTIONS, plus serve_forever and the
        # deadline watcher.
        assert threading.active_count() - before <= httpd.MAX_CONNECTIONS + 2
        time.sleep(1.0)  # past the request timeout: the slots are free again
        assert b"healthy" in http_get(port, b"/healthz")
        for s in idle:
            s.close()
    finally:
        server.shutdown()


def test_16_clients_trickling_a_byte_a_second_are_cut_at_the_whole_request_deadline_and_metrics_answer(monkeypatch):
    from mt5mesh import httpd
    monkeypatch.setattr(httpd, "REQUEST_DEADLINE_S", 1.0)
    port = free_port()

    class Log:
        def debug(self, *a):
            pass
    server = health.serve("127.0.0.1:%d" % port, lambda: (200, {"state": "healthy"}), health.Metrics(), Log())
    slow = []
    try:
        for _i in range(httpd.MAX_CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", port), timeout=3)
            s.sendall(b"G")
            slow.append(s)
        t0 = time.monotonic()
        cut = set()
        while len(cut) < len(slow) and time.monotonic() - t0 < 4.0:  # a byte every 0.5 s: no read times out
            for i, s in enumerate(slow):
                if i in cut:
                    continue
                try:
                    s.sendall(b"E")
                except OSError:
                    cut.add(i)
            time.sleep(0.5)
        assert len(cut) == len(slow) and time.monotonic() - t0 < 3.0
        assert http_get(port, b"/metrics").startswith(b"HTTP/1.0 200")
    finally:
        for s in slow:
            s.close()
        server.shutdown()


@pytest.mark.parametrize("service,yaml_text,needle", [
    ("mt5mesh-nexus", "batch_size: lots\n", "batch_size: 'lots' is not an integer"),
    ("mt5mesh-gateway", "heartbeat: -1\n", "heartbeat: -1 is not a number from 0.01 to 60"),
])
def test_a_bad_yaml_value_exits_2_naming_the_key(tmp_path, service, yaml_text, needle):
    conf = tmp_path / "conf.yml"
    conf.write_text(yaml_text)
    svc = Service(service, ["--config", str(conf)], str(tmp_path))
    assert svc.proc.wait(20) == 2
    assert needle in svc.output()
