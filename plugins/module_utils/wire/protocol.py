# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh wire protocol: the one implementation of docs/protocol.md.

Imported by the gateway, the nexus daemon (as ``mt5mesh.wire.protocol``) and by the Ansible
probe modules (as a collection module_util). Pure standard library on purpose: it must load
on lab hosts and inside AnsiballZ with nothing else installed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import re

PROTOCOL_VERSION = "1.0"

DEFAULT_REP_PORT = 5555
DEFAULT_PUB_PORT = 5556
DEFAULT_PULL_PORT = 5557
DEFAULT_XPUB_URL = "tcp://127.0.0.1:5558"

# Requests above this size are answered with an error; far larger ones are cut off by the
# socket's ZMQ_MAXMSGSIZE (SOCKET_MAX_BYTES) before they are ever buffered whole.
MAX_REQUEST_BYTES = 1024 * 1024
SOCKET_MAX_BYTES = 16 * 1024 * 1024
MAX_REPLAY_LIMIT = 20000

TOPIC_HEARTBEAT = b"hb"
TOPIC_TICK_PREFIX = b"tick."

COMMANDS = ("ping", "status", "snapshot", "replay")
# Symbols end up in topics and COPY rows: keep them to a safe alphabet.
SYMBOL_RE = re.compile(r"^[A-Za-z0-9._#-]{1,32}$")

TICK_FIELDS = ("epoch", "seq", "ts", "symbol", "bid", "ask")
HEARTBEAT_FIELDS = ("epoch", "seq", "ts")


class ProtocolError(ValueError):
    """A message that does not follow the protocol."""


def encode(obj):
    """Canonical encoding: compact JSON, key order kept, so re-encoding a decoded event
    reproduces its bytes exactly (the nexus proxy relies on this)."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _loads(data, what):
    try:
        return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError("%s is not UTF-8 JSON: %s" % (what, e))


# --- REQ/REP -------------------------------------------------------------------------

def request(cmd, req_id=None, **fields):
    msg = {"cmd": cmd}
    if req_id is not None:
        msg["id"] = req_id
    msg.update(fields)
    return encode(msg)


def decode_request(frames):
    """Validate a request (a list of frames). Returns the request dict; raises ProtocolError.

    The partial dict (for echoing ``id``) is attached to the error as ``.request``.
    """
    if len(frames) != 1:
        raise ProtocolError("expected 1 frame, got %d" % len(frames))
    frame = frames[0]
    if len(frame) > MAX_REQUEST_BYTES:
        raise ProtocolError("request of %d bytes exceeds the %d byte limit" % (len(frame), MAX_REQUEST_BYTES))
    req = _loads(frame, "request")
    if not isinstance(req, dict):
        raise ProtocolError("request must be a JSON object, got %s" % type(req).__name__)
    cmd = req.get("cmd")
    if not isinstance(cmd, str):
        err = ProtocolError("request needs a string 'cmd'")
        err.request = req
        raise err
    if cmd not in COMMANDS:
        err = ProtocolError("unknown cmd %r; known: %s" % (cmd[:64], ", ".join(COMMANDS)))
        err.request = req
        raise err
    if cmd == "replay":
        for key, minimum in (("from_seq", 1), ("limit", 1)):
            value = req.get(key, 1000 if key == "limit" else None)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                err = ProtocolError("replay needs integer %s >= %d" % (key, minimum))
                err.request = req
                raise err
        req["limit"] = min(req.get("limit", 1000), MAX_REPLAY_LIMIT)
    return req


def reply_ok(req, **fields):
    msg = {"ok": True}
    if isinstance(req, dict) and "id" in req:
        msg["id"] = req["id"]
    msg.update(fields)
    return encode(msg)


def reply_error(req, error, **fields):
    msg = {"ok": False, "error": str(error)}
    if isinstance(req, dict) and "id" in req:
        msg["id"] = req["id"]
    msg.update(fields)
    return encode(msg)


def decode_reply(frame):
    rep = _loads(frame, "reply")
    if not isinstance(rep, dict) or not isinstance(rep.get("ok"), bool):
        raise ProtocolError("reply must be a JSON object with boolean 'ok'")
    return rep


# --- PUB events ----------------------------------------------------------------------

def tick(epoch, seq, ts, symbol, bid, ask):
    """A tick event as its two frames [topic, payload]."""
    payload = encode({"epoch": epoch, "seq": seq, "ts": ts, "symbol": symbol, "bid": bid, "ask": ask})
    return [TOPIC_TICK_PREFIX + symbol.encode("utf-8"), payload]


def heartbeat(epoch, seq, ts):
    return [TOPIC_HEARTBEAT, encode({"epoch": epoch, "seq": seq, "ts": ts})]


def decode_event(frames):
    """Returns (kind, payload dict) where kind is 'tick' or 'hb'. Raises ProtocolError."""
    if len(frames) != 2:
        raise ProtocolError("event must have 2 frames, got %d" % len(frames))
    topic, payload = frames
    data = _loads(payload, "event payload")
    if not isinstance(data, dict):
        raise ProtocolError("event payload must be a JSON object")
    if topic == TOPIC_HEARTBEAT:
        fields, kind = HEARTBEAT_FIELDS, "hb"
    elif topic.startswith(TOPIC_TICK_PREFIX):
        fields, kind = TICK_FIELDS, "tick"
    else:
        raise ProtocolError("unknown topic %r" % topic[:64])
    missing = [f for f in fields if f not in data]
    if missing:
        raise ProtocolError("%s event lacks %s" % (kind, ", ".join(missing)))
    return kind, data


def event_frames(event):
    """Frames of an event dict as returned by ``replay`` (inverse of decode_event)."""
    if "symbol" in event:
        return [TOPIC_TICK_PREFIX + event["symbol"].encode("utf-8"), encode(event)]
    return [TOPIC_HEARTBEAT, encode(event)]


# --- PULL (tick push from an MT5 Expert Advisor) ---------------------------------------

def decode_push(frames):
    """A tick pushed by the EA: one frame {"symbol": str, "bid": num, "ask": num, "ts": num?}."""
    if len(frames) != 1 or len(frames[0]) > 4096:
        raise ProtocolError("push must be one frame of at most 4096 bytes")
    data = _loads(frames[0], "push")
    if not isinstance(data, dict):
        raise ProtocolError("push must be a JSON object")
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
        raise ProtocolError("push needs a 'symbol' of 1-32 characters from A-Z a-z 0-9 . _ # -")
    for key in ("bid", "ask"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
            raise ProtocolError("push needs a number %r" % key)
    ts = data.get("ts")
    if ts is not None and (isinstance(ts, bool) or not isinstance(ts, (int, float))):
        raise ProtocolError("push 'ts' must be a number of seconds since the epoch")
    return data
