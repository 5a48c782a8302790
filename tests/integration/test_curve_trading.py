"""Who may change the account, with CURVE on (real gateway, the strict terminal over rpyc, real ZeroMQ CURVE on
loopback): an authenticated client may close_all with trading off, each client's ids are its own,
and the published events carry neither id nor key."""
import json
import time

import zmq
import zmq.auth

from support.gateway_proc import BUY, Gateway


class CurveClient:
    def __init__(self, rep, secret_file, server_public):
        self.sock = zmq.Context.instance().socket(zmq.REQ)
        self.sock.setsockopt(zmq.LINGER, 0)
        pub, sec = zmq.auth.load_certificate(secret_file)
        self.sock.curve_publickey, self.sock.curve_secretkey, self.sock.curve_serverkey = pub, sec, server_public
        self.sock.connect("tcp://127.0.0.1:%d" % rep)
        self.public = pub.decode()

    def __call__(self, **req):
        self.sock.send(json.dumps(req).encode())
        assert self.sock.poll(5000), "no reply"
        return json.loads(self.sock.recv())

    def close(self):
        self.sock.close(0)


def keys(tmp_path):
    kdir, allowed = tmp_path / "keys", tmp_path / "allowed"
    kdir.mkdir()
    allowed.mkdir()
    _spub, ssec = zmq.auth.create_certificates(str(kdir), "server")
    clients = []
    for name in ("alice", "bob"):
        cpub, csec = zmq.auth.create_certificates(str(kdir), name)
        (allowed / (name + ".key")).write_bytes(open(cpub, "rb").read())
        clients.append(csec)
    return ssec, str(allowed), clients


def test_with_curve_the_same_id_from_two_clients_is_two_orders_and_a_retry_is_each_clients_own(tmp_path):
    ssec, allowed, (alice_sec, bob_sec) = keys(tmp_path)
    gw = Gateway(tmp_path, "--trading", "--curve-secret-key", ssec, "--curve-allowed-dir", allowed)
    spub = zmq.auth.load_certificate(ssec)[0]
    alice, bob = CurveClient(gw.rep, alice_sec, spub), CurveClient(gw.rep, bob_sec, spub)
    try:
        time.sleep(0.5)
        a1 = alice(id="same-1", **BUY)
        b1 = bob(id="same-1", **BUY)
        assert a1["ok"] and b1["ok"] and a1["deal"] != b1["deal"] and a1["client_ref"] != b1["client_ref"]
        assert alice(id="same-1", **BUY) == a1 and bob(id="same-1", **BUY) == b1
        assert len(alice(cmd="positions")["positions"]) == 2
        events = alice(cmd="replay", from_seq=1, limit=20000)["events"]
        text = json.dumps([e for e in events if "trade" in e])
        assert "same-1" not in text and alice.public not in text and bob.public not in text
    finally:
        alice.close()
        bob.close()
        gw.stop()


def test_with_curve_and_trading_off_an_authenticated_client_may_close_all_but_not_open(tmp_path):
    ssec, allowed, (alice_sec, _bob) = keys(tmp_path)
    journal = str(tmp_path / "journal")
    gw = Gateway(tmp_path, "--trading", "--curve-secret-key", ssec, "--curve-allowed-dir", allowed, journal=journal)
    spub = zmq.auth.load_certificate(ssec)[0]
    alice = CurveClient(gw.rep, alice_sec, spub)
    try:
        assert alice(id="o-1", **BUY)["ok"] and alice(id="o-2", **BUY)["ok"]
    finally:
        alice.close()
        gw.svc.stop()
    first = gw  # its terminal holds the account: the next gateway meets the same one
    gw = Gateway(tmp_path, "--curve-secret-key", ssec, "--curve-allowed-dir", allowed, journal=journal,
                 terminal=first.terminal)
    alice = CurveClient(gw.rep, alice_sec, spub)
    try:
        refused = alice(id="o-3", **BUY)
        assert refused == {"ok": False, "error": "trading is disabled on this gateway", "id": "o-3"}
        closed = alice(cmd="close_all", id="flat-1")
        assert closed["ok"] and len(closed["closed"]) == 2
        assert alice(cmd="positions")["positions"] == []
    finally:
        alice.close()
        gw.svc.stop()
        first.stop()
