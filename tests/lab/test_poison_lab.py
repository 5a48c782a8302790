"""On the lab: a tick with a poison `ts` pushed at a gateway edge on GTW is rejected there and
counted, and the gateway keeps serving. A second gateway in `ea` mode on spare ports of the lab
GTW takes the pushes (the lab's own gateway faces the paper terminal, which has no PULL socket)."""
import json
import time

import zmq

from support import lab

PORTS = (25655, 25656, 25657)


def test_poison_ts_pushed_to_a_lab_gateway_is_rejected_at_the_edge(mesh):
    addr = lab.lab_addr("gtw")
    rep, pub, pull = PORTS
    unit = "mt5-poison-edge"
    lab.sh("gtw", "systemctl reset-failed %s 2>/dev/null; systemd-run --unit=%s --collect --quiet "
                  "/usr/local/bin/mt5mesh-gateway --terminal ea --rep tcp://%s:%d --pub tcp://%s:%d --pull tcp://%s:%d"
           % (unit, unit, addr, rep, addr, pub, addr, pull), check=False)
    ctx = zmq.Context()
    try:
        req = ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.connect("tcp://%s:%d" % (addr, rep))

        def status():
            req.send(b'{"cmd":"status"}')
            assert req.poll(3000), "the edge gateway does not answer"
            return json.loads(req.recv())
        assert lab.wait(lambda: _answers(ctx, addr, rep), 15), "edge gateway did not come up"
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 2000)
        push.connect("tcp://%s:%d" % (addr, pull))
        push.send(b'{"symbol":"EURUSD","bid":1.1,"ask":1.2,"ts":' + b"1" * 401 + b"}")
        push.send(b'{"symbol":"EURUSD","bid":1.1,"ask":1.2,"ts":NaN}')
        push.send(b'{"symbol":"EURUSD","bid":1.1,"ask":1.2}')
        push.close()
        assert lab.wait(lambda: status()["pushed"] == 1, 10)
        s = status()
        assert s["dropped"] == 2 and s["published"] == 1 and s["errors"] == 0
    finally:
        ctx.destroy(linger=0)
        lab.sh("gtw", "systemctl stop %s" % unit, check=False)


def _answers(ctx, addr, rep):
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect("tcp://%s:%d" % (addr, rep))
    s.send(b'{"cmd":"ping"}')
    ok = bool(s.poll(1000))
    s.close(0)
    time.sleep(0.1)
    return ok or None
