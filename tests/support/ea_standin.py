"""A stand-in for someone else's MT5 gateway (an Expert Advisor that binds REP and PUB itself)
speaking the action dialect: HEARTBEAT -> SUCCESS, PING -> PONG, anything else an ERROR, and one
JSON tick frame every 0.1 s. Pure pyzmq, no mt5mesh import, so it runs as is on a lab host.
Bounded: it exits after --seconds (at most 900).

    python3 ea_standin.py REP_URL PUB_URL [SECONDS]
"""
import json
import sys
import time

import zmq


def main(rep_url, pub_url, seconds=300.0):
    ctx = zmq.Context()
    rep, pub = ctx.socket(zmq.REP), ctx.socket(zmq.PUB)
    rep.setsockopt(zmq.LINGER, 0)
    pub.setsockopt(zmq.LINGER, 0)
    rep.bind(rep_url)
    pub.bind(pub_url)
    end, next_tick, bid = time.monotonic() + min(float(seconds), 900.0), 0.0, 1.1
    while time.monotonic() < end:
        if rep.poll(20):
            try:
                req = json.loads(rep.recv())
            except ValueError:
                req = {}
            action = req.get("action") if isinstance(req, dict) else None
            if action == "PING":
                reply = {"status": "PONG"}
            else:
                reply = {"req_id": req.get("req_id") if isinstance(req, dict) else None, "timestamp": time.time(),
                         "status": "SUCCESS" if action == "HEARTBEAT" else "ERROR", "data": {},
                         "error": None if action == "HEARTBEAT" else "unsupported"}
            rep.send_json(reply)
        if time.monotonic() >= next_tick:
            bid = round(bid + 0.00001, 5)
            pub.send_json({"type": "TICK", "symbol": "EURUSD", "bid": bid, "ask": round(bid + 0.0002, 5),
                           "time": time.time()})
            next_tick = time.monotonic() + 0.1
    rep.close(0)
    pub.close(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 300.0)
