# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The "action" JSON dialect of the MT5 ZeroMQ clients that already exist (the system this
project is reborn from, and bridges like it), mapped onto the mesh protocol's commands.

Two variants share the ``action`` key:

* enveloped: ``{"action", "req_id", "timestamp", "payload": {...}}`` answered with
  ``{"req_id", "status": "SUCCESS"|"ERROR", "timestamp", "data", "error"}``;
* flat: ``{"action": "PING"}`` answered ``{"status": "PONG"}``, and ``{"action": "ORDER_SEND",
  "request_id", "symbol", "volume", "type": 0|1, "comment", "magic"}`` answered at the top level
  with ``retcode``, ``deal``, ``order`` and ``comment``.

Pure functions: the gateway maps a request to a mesh command, runs it like any other (same
safety rules, same exactly-once key), and maps the reply back. The probes use ``request`` and
``reply_ok`` to speak the dialect to gateways we did not deploy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
from typing import Any

from . import protocol

_ACTION_RE = re.compile(br'"action"\s*:\s*"([A-Z_]{1,32})"')
_REQ_ID_RE = re.compile(br'"(?:req_id|request_id)"\s*:\s*"(' + protocol.ID_RE.pattern.encode("ascii") + br')"')

# action -> mesh command
ACTIONS = {
    "HEARTBEAT": "ping", "PING": "ping", "GET_ACCOUNT_INFO": "account", "GET_POSITIONS": "positions",
    "GET_SYMBOL_INFO": "symbol_info", "OPEN_ORDER": "order_send", "ORDER_SEND": "order_send",
    "CLOSE_POSITION": "order_close", "KILL_SWITCH": "close_all",
}
FLAT = ("PING", "ORDER_SEND")
SIDES = {"BUY": "buy", "SELL": "sell", 0: "buy", 1: "sell"}


def is_action(obj):
    """True for a request in the action dialect (an object with ``action`` and no ``cmd``)."""
    return isinstance(obj, dict) and "action" in obj and "cmd" not in obj


def sniff(frames):
    """For a frame that failed to decode: the action and req_id it seems to carry, as a minimal
    request object, or None when it does not look like the action dialect. So a malformed action
    request still gets an action-dialect ERROR that its client can match."""
    if len(frames) != 1 or b'"cmd"' in frames[0][:4096]:
        return None
    head = frames[0][:4096]
    action = _ACTION_RE.search(head)
    if action is None:
        return None
    rid = _REQ_ID_RE.search(head)
    return {"action": action.group(1).decode("ascii"), "req_id": rid.group(1).decode("ascii") if rid else None}


def request_id(obj):
    """The client's request id (``req_id``, or ``request_id`` in the flat variant), if any."""
    rid = obj.get("req_id", obj.get("request_id"))
    return rid if protocol.valid_id(rid) else None


def to_command(obj):
    """The mesh request for an action request; raises ProtocolError naming what is wrong."""
    action = obj.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise protocol.ProtocolError("unknown action %r; known: %s" % (str(action)[:64], ", ".join(sorted(ACTIONS))))
    payload = obj if action in FLAT else obj.get("payload") or {}
    if not isinstance(payload, dict):
        raise protocol.ProtocolError("%s: 'payload' must be an object" % action)
    req: "dict[str, Any]" = {"cmd": ACTIONS[action]}
    rid = obj.get("req_id", obj.get("request_id"))
    if rid is not None and not protocol.valid_id(rid):
        raise protocol.ProtocolError("%s: 'req_id' must be %s" % (action, protocol.ID_RULE))
    if rid is not None:
        req["id"] = rid
    if action in ("OPEN_ORDER", "ORDER_SEND"):
        side_key, side = _side(action, payload)
        if isinstance(side, bool) or side not in SIDES:
            raise protocol.ProtocolError("%s: %r must be %s" % (
                action, side_key, "BUY or SELL" if action == "OPEN_ORDER" else "0 (buy) or 1 (sell)"))
        req.update(side=SIDES[side], volume=payload.get("volume"))
        # price is the client's view of the market: a market order fills at the terminal's price.
        for key in ("sl", "tp", "comment", "magic", "deviation"):
            if payload.get(key) is not None and not (key in ("sl", "tp") and payload[key] == 0):
                req[key] = payload[key]
    elif action == "CLOSE_POSITION":
        req["position"] = payload.get("ticket")
    if action in ("OPEN_ORDER", "ORDER_SEND", "GET_SYMBOL_INFO") and payload.get("symbol") is not None:
        req["symbol"] = payload["symbol"]
    problem = protocol.trade_request_problem(req) if req["cmd"] not in ("ping",) else None
    if problem:
        raise protocol.ProtocolError("%s: %s" % (action, problem.replace("'id'", "'req_id'")))
    return req


def _side(action, payload):
    """(key, value) of the order's side. OPEN_ORDER clients send it as ``action``, as ``side``
    (with ``type`` MARKET, LIMIT, ...) or, in the oldest form, as ``type``; pending orders (a
    ``type`` of LIMIT or STOP) are refused: the gateway sends market orders only."""
    if action == "ORDER_SEND":
        return "type", payload.get("type")
    order_type = payload.get("type")
    if isinstance(order_type, str) and order_type.upper() not in ("BUY", "SELL", "MARKET"):
        raise protocol.ProtocolError("OPEN_ORDER: 'type' %s is a pending order; this gateway sends market orders only"
                                     % order_type[:16])
    for key in ("action", "side", "type"):
        if isinstance(payload.get(key), str) and payload[key].upper() in ("BUY", "SELL"):
            return key, payload[key].upper()
    return "action", payload.get("action")


def _data(reply):
    return dict((k, v) for k, v in reply.items() if k not in ("ok", "error", "id"))


def to_reply(obj, reply):
    """The action-dialect reply (a dict) for the mesh reply dict of the same request."""
    action = obj.get("action") if isinstance(obj, dict) else None
    ok = bool(reply.get("ok"))
    if action == "PING":
        return {"status": "PONG" if ok else "ERROR", "timestamp": time.time()}
    if action == "ORDER_SEND":
        out = {"request_id": request_id(obj), "status": "SUCCESS" if ok else "ERROR", "timestamp": time.time()}
        for key in ("retcode", "deal", "order", "price", "volume", "position"):
            out[key] = reply.get(key)
        out["comment"] = "" if ok else reply.get("error") or ""
        return out
    data = _data(reply)
    if action in ("OPEN_ORDER", "CLOSE_POSITION") and (reply.get("position") or reply.get("order")):
        data["ticket"] = reply.get("position") or reply.get("order")  # what CLOSE_POSITION takes
    if action == "GET_POSITIONS":
        data = reply.get("positions", [])
    return {"req_id": request_id(obj) if isinstance(obj, dict) else None, "status": "SUCCESS" if ok else "ERROR",
            "timestamp": time.time(), "data": data if ok or data else None,
            "error": None if ok else str(reply.get("error") or "error")[:500]}


def error_reply(obj, error):
    """An action-dialect ERROR for a request that could not be mapped."""
    return to_reply(obj, {"ok": False, "error": str(error)})


# --- the client side (probes) ----------------------------------------------------------

def request(action, req_id=None, **payload):
    """An enveloped action request (``PING`` and ``ORDER_SEND`` are flat)."""
    if action in FLAT:
        msg = {"action": action}
        if req_id is not None:
            msg["request_id"] = req_id
        msg.update(payload)
        return protocol.encode(msg)
    return protocol.encode({"action": action, "req_id": req_id or "probe", "timestamp": time.time(), "payload": payload})


def reply_ok(frame, action="HEARTBEAT"):
    """(ok, detail) for a gateway's reply to ``request(action)``; never raises."""
    try:
        rep = protocol.decode_reply_object(frame)
    except protocol.ProtocolError as e:
        return False, "not an action-dialect reply: %s" % e
    if action == "PING":
        return rep.get("status") == "PONG", "status %r" % rep.get("status")
    missing = [k for k in ("req_id", "status", "timestamp") if k not in rep]
    if missing:
        return False, "reply lacks %s" % ", ".join(missing)
    if rep.get("status") != "SUCCESS":
        return False, "status %r: %s" % (rep.get("status"), rep.get("error"))
    return True, "status SUCCESS"
