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
import re
from typing import Any, Dict, Optional

from .strict_json import MAX_DEPTH, nesting_too_deep

PROTOCOL_VERSION = "1.1"

DEFAULT_REP_PORT = 5555
DEFAULT_PUB_PORT = 5556
DEFAULT_PULL_PORT = 5557
DEFAULT_XPUB_URL = "tcp://127.0.0.1:5558"

# Requests above this size are cut off by the REP socket's ZMQ_MAXMSGSIZE before they are ever
# buffered whole (the peer is disconnected); SOCKET_MAX_BYTES is the limit of the other sockets.
MAX_REQUEST_BYTES = 1024 * 1024
SOCKET_MAX_BYTES = 16 * 1024 * 1024
# A history_deals reply stops at this many bytes of deals; the client pages on with from_ticket.
MAX_DEALS_BYTES = 128 * 1024
MAX_REPLAY_LIMIT = 20000
# A replay reply stops at this many bytes of events; the client pages on with from_seq.
MAX_REPLAY_BYTES = 128 * 1024
# Plausible ranges: anything outside is a hostile or broken peer, not a market.
MAX_PRICE = 1e9
MAX_TS = 4102444800.0  # 2100-01-01
MAX_SEQ = 2 ** 62

TOPIC_HEARTBEAT = b"hb"
TOPIC_TICK_PREFIX = b"tick."
TOPIC_TRADE_PREFIX = b"trade."

# Read-only account commands always work; trading commands need an id (exactly-once) and,
# except close_all (it only reduces risk), a gateway started with --trading.
READ_COMMANDS = ("account", "positions", "orders", "symbol_info", "history_deals")
TRADE_COMMANDS = ("order_send", "order_close", "close_all")
COMMANDS = ("ping", "status", "snapshot", "replay") + READ_COMMANDS + TRADE_COMMANDS
SIDES = ("buy", "sell")
MAX_VOLUME = 1e6
MAX_COMMENT = 31  # MT5 keeps at most 31 characters of an order comment
TRADE_KINDS = ("fill", "placed", "reject", "unknown")
# ENUM_DEAL_ENTRY by name: in, out, inout (a netting reversal), out_by (closed by an opposite one).
DEAL_ENTRIES = ("in", "out", "inout", "out_by")
# Symbols end up in topics and COPY rows: keep them to a safe alphabet.
SYMBOL_RE = re.compile(r"[A-Za-z0-9._#-]{1,32}")
# Request ids (the exactly-once key of a trading command, the action dialect's req_id): strings of
# 1-128 characters from this set. Numbers are refused, not coerced: 777, 777.0 and "777" would be
# three keys for what a client that re-serialises on retry thinks is one order.
ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
ID_RULE = "a string of 1-128 characters from A-Z a-z 0-9 . _ : -"

TICK_FIELDS: "tuple[str, ...]" = ("epoch", "seq", "ts", "symbol", "bid", "ask")
HEARTBEAT_FIELDS: "tuple[str, ...]" = ("epoch", "seq", "ts")
TRADE_FIELDS: "tuple[str, ...]" = ("epoch", "seq", "ts", "symbol", "trade")


class ProtocolError(ValueError):
    """A message that does not follow the protocol."""

    request: Optional[Dict[str, Any]] = None  # the decoded request it is about, when there is one


def encode(obj):
    """Canonical encoding: compact JSON, key order kept, so re-encoding a decoded event
    reproduces its bytes exactly (the nexus proxy relies on this)."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _no_constants(name):
    raise ValueError("%s is not a finite number" % name)


# parse_constant refuses NaN, Infinity and -Infinity, which Python's json accepts. One decoder
# for every frame: json.loads with an argument builds a new one per call (half its cost).
_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _loads(data, what):
    try:
        if not isinstance(data, bytes):
            data = data.encode("utf-8")
        if nesting_too_deep(data):
            raise ProtocolError("%s nests deeper than %d levels or is unbalanced" % (what, MAX_DEPTH))
        return _DECODER.decode(data.decode("utf-8"))
    except ProtocolError:
        raise
    except (UnicodeError, ValueError, RecursionError, TypeError, OverflowError, MemoryError) as e:
        raise ProtocolError("%s is not UTF-8 JSON: %s" % (what, str(e)[:200]))


def finite(value, low, high):
    """True for an int or float (not bool) with low <= value <= high; never raises."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    # Range comparisons only (no float conversion): a 400-digit int must not overflow, and NaN
    # fails both comparisons, so it is out of every range.
    return low <= value <= high


def valid_id(value):
    """Whether ``value`` is a well-formed request id (pure; never raises)."""
    return isinstance(value, str) and ID_RE.fullmatch(value) is not None


def valid_symbol(symbol):
    # fullmatch: with match and "$", "EURUSD\n" would pass and inject a COPY row.
    return isinstance(symbol, str) and SYMBOL_RE.fullmatch(symbol) is not None


def check_tick(data):
    """Raise ProtocolError unless a tick event's fields are of the right type and range."""
    if not (finite(data.get("epoch"), 0, MAX_SEQ) and isinstance(data["epoch"], int)):
        raise ProtocolError("tick 'epoch' must be an integer")
    if not (finite(data.get("seq"), 1, MAX_SEQ) and isinstance(data["seq"], int)):
        raise ProtocolError("tick 'seq' must be an integer >= 1")
    if not finite(data.get("ts"), 0, MAX_TS):
        raise ProtocolError("tick 'ts' must be seconds since 1970 before 2100")
    if not valid_symbol(data.get("symbol")):
        raise ProtocolError("tick 'symbol' must be 1-32 characters from A-Z a-z 0-9 . _ # -")
    for key in ("bid", "ask"):
        if not finite(data.get(key), 0, MAX_PRICE):
            raise ProtocolError("tick %r must be a finite price between 0 and %g" % (key, MAX_PRICE))
    for key in TERMINAL_TICK_FIELDS:
        if key in data and not finite(data[key], 0, MAX_SEQ):
            raise ProtocolError("tick %r must be a finite number >= 0" % key)
    return data


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
    return check_request(decode_object(frames))


def decode_object(frames):
    """One frame of at most MAX_REQUEST_BYTES holding a JSON object (either dialect); raises ProtocolError."""
    if len(frames) != 1:
        raise ProtocolError("expected 1 frame, got %d" % len(frames))
    frame = frames[0]
    if len(frame) > MAX_REQUEST_BYTES:
        raise ProtocolError("request of %d bytes exceeds the %d byte limit" % (len(frame), MAX_REQUEST_BYTES))
    req = _loads(frame, "request")
    if not isinstance(req, dict):
        raise ProtocolError("request must be a JSON object, got %s" % type(req).__name__)
    return req


def check_request(req):
    """A decoded request object checked as a mesh command; raises ProtocolError with ``.request``."""
    cmd = req.get("cmd")
    if "id" in req and not valid_id(req["id"]):
        err = ProtocolError("'id' must be %s" % ID_RULE)
        err.request = req
        raise err
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
    elif cmd in READ_COMMANDS or cmd in TRADE_COMMANDS:
        problem = trade_request_problem(req)
        if problem:
            err = ProtocolError("%s: %s" % (cmd, problem))
            err.request = req
            raise err
    return req


def _integer(value, low, high):
    """An int (not bool) with low <= value <= high; never raises."""
    return isinstance(value, int) and finite(value, low, high)


def trade_request_problem(req):
    """What is wrong with an account or trading request's fields, naming the field; None when
    the request is well formed (pure: the terminal is not asked anything here)."""
    cmd = req["cmd"]
    if cmd in TRADE_COMMANDS and "id" not in req:
        return "a trading command needs an 'id' (without one it could never be retried safely)"
    if cmd in ("symbol_info", "order_send") and "symbol" not in req:
        return "'symbol' is required"
    if "symbol" in req and not valid_symbol(req["symbol"]):
        return "'symbol' must be 1-32 characters from A-Z a-z 0-9 . _ # -"
    if "magic" in req and not _integer(req["magic"], 0, 2 ** 63 - 1):
        return "'magic' must be an integer >= 0"
    if cmd == "order_send":
        if req.get("side") not in SIDES:
            return "'side' must be buy or sell"
        if not finite(req.get("volume"), 0, MAX_VOLUME) or req["volume"] <= 0:
            return "'volume' must be a number > 0 and <= %g" % MAX_VOLUME
        for key in ("sl", "tp"):
            if key in req and not finite(req[key], 0, MAX_PRICE):
                return "%r must be a finite price between 0 and %g" % (key, MAX_PRICE)
        if "deviation" in req and not _integer(req["deviation"], 0, 100000):
            return "'deviation' must be an integer of points from 0 to 100000"
        if "comment" in req and not (isinstance(req["comment"], str) and len(req["comment"]) <= MAX_COMMENT
                                     and req["comment"].isprintable()):
            return "'comment' must be printable text of at most %d characters" % MAX_COMMENT
    elif cmd == "order_close":
        if not _integer(req.get("position"), 1, MAX_SEQ):
            return "'position' must be a ticket (an integer >= 1)"
        if "volume" in req and not (finite(req["volume"], 0, MAX_VOLUME) and req["volume"] > 0):
            return "'volume' must be a number > 0 and <= %g" % MAX_VOLUME
    elif cmd == "history_deals":
        for key in ("from", "to"):
            if not finite(req.get(key), 0, MAX_TS):
                return "%r must be seconds since 1970 before 2100" % key
        if req["from"] > req["to"]:
            return "'from' must not be after 'to'"
        if "from_ticket" in req and not _integer(req["from_ticket"], 0, MAX_SEQ):
            return "'from_ticket' must be a deal ticket (an integer >= 0)"
    return None


def _echo_id(req, msg):
    """Echo the request's id only when it is a well-formed id: a peer's 1e400 (inf once parsed)
    or a megabyte of id must not break or bloat the reply."""
    if isinstance(req, dict) and valid_id(req.get("id")):
        msg["id"] = req["id"]


def reply_ok(req, **fields):
    msg = {"ok": True}
    _echo_id(req, msg)
    msg.update(fields)
    return encode(msg)


def reply_error(req, error, **fields):
    msg = {"ok": False, "error": str(error)[:500]}
    _echo_id(req, msg)
    msg.update(fields)
    return encode(msg)


def decode_reply_object(frame):
    """Any JSON object reply (the action dialect has no ``ok``); raises ProtocolError."""
    rep = _loads(frame, "reply")
    if not isinstance(rep, dict):
        raise ProtocolError("reply must be a JSON object")
    return rep


def decode_reply(frame):
    rep = _loads(frame, "reply")
    if not isinstance(rep, dict) or not isinstance(rep.get("ok"), bool):
        raise ProtocolError("reply must be a JSON object with boolean 'ok'")
    return rep


# --- PUB events ----------------------------------------------------------------------

# Optional tick fields from a terminal backend (protocol 1.1, additive): MT5's own tick record.
TERMINAL_TICK_FIELDS = ("time_msc", "last", "volume", "flags")


def tick(epoch, seq, ts, symbol, bid, ask, extra=None):
    """A tick event as its two frames [topic, payload]; ``extra`` adds the terminal's fields."""
    event = {"epoch": epoch, "seq": seq, "ts": ts, "symbol": symbol, "bid": bid, "ask": ask}
    if extra:
        event.update(extra)
    return [TOPIC_TICK_PREFIX + symbol.encode("utf-8"), encode(event)]


def heartbeat(epoch, seq, ts):
    return [TOPIC_HEARTBEAT, encode({"epoch": epoch, "seq": seq, "ts": ts})]


def trade(epoch, seq, ts, symbol, fields):
    """A trade event as its two frames [topic, payload]: an order's outcome (``trade``: fill,
    placed (accepted, its deal not seen yet), reject, or unknown for an order cut off by a restart)
    with the terminal's retcode and tickets."""
    event = {"epoch": epoch, "seq": seq, "ts": ts, "symbol": symbol}
    event.update(fields)
    return [TOPIC_TRADE_PREFIX + symbol.encode("utf-8"), encode(event)]


TRADE_INT_FIELDS = ("retcode", "order", "deal", "position", "magic", "time_msc", "terminal_time_msc")
TRADE_NUMBER_FIELDS = ("volume", "price", "profit", "sl", "tp")
TRADE_TEXT_FIELDS = ("cmd", "client_id", "client_ref", "retcode_name", "comment", "error")


def check_trade(data):
    """Raise ProtocolError unless a trade event's fields are of the right type and range."""
    # The stream fields are checked as a tick's (a trade's volume may not pass a tick's checks).
    check_tick(dict(epoch=data.get("epoch"), seq=data.get("seq"), ts=data.get("ts"), symbol=data.get("symbol"), bid=0, ask=0))
    if data.get("trade") not in TRADE_KINDS:
        raise ProtocolError("trade 'trade' must be one of %s" % ", ".join(TRADE_KINDS))
    if data.get("side") not in SIDES + (None,) or data.get("entry") not in DEAL_ENTRIES + (None,):
        raise ProtocolError("trade 'side' must be buy or sell and 'entry' one of %s" % ", ".join(DEAL_ENTRIES))
    for key in TRADE_INT_FIELDS:
        if key in data and not _integer(data[key], -MAX_SEQ, MAX_SEQ):
            raise ProtocolError("trade %r must be an integer" % key)
    for key in TRADE_NUMBER_FIELDS:
        if key in data and not finite(data[key], -MAX_PRICE * MAX_VOLUME, MAX_PRICE * MAX_VOLUME):
            raise ProtocolError("trade %r must be a finite number" % key)
    for key in TRADE_TEXT_FIELDS:
        if key in data and not (isinstance(data[key], str) and len(data[key]) <= 600):
            raise ProtocolError("trade %r must be text of at most 600 characters" % key)
    return data


def check_event(data):
    """A tick or trade event from a replay or snapshot: checked like one that came live."""
    if not isinstance(data, dict):
        raise ProtocolError("event is not a JSON object")
    return check_trade(data) if "trade" in data else check_tick(data)


def decode_event(frames):
    """Returns (event_type, payload dict) where event_type is 'tick', 'trade' or 'hb'. Raises ProtocolError."""
    if len(frames) != 2:
        raise ProtocolError("event must have 2 frames, got %d" % len(frames))
    topic, payload = frames
    data = _loads(payload, "event payload")
    if not isinstance(data, dict):
        raise ProtocolError("event payload must be a JSON object")
    if topic == TOPIC_HEARTBEAT:
        fields, event_type = HEARTBEAT_FIELDS, "hb"
    elif topic.startswith(TOPIC_TICK_PREFIX):
        fields, event_type = TICK_FIELDS, "tick"
    elif topic.startswith(TOPIC_TRADE_PREFIX):
        fields, event_type = TRADE_FIELDS, "trade"
    else:
        raise ProtocolError("unknown topic %r" % topic[:64])
    missing = [f for f in fields if f not in data]
    if missing:
        raise ProtocolError("%s event lacks %s" % (event_type, ", ".join(missing)))
    if event_type == "tick":
        check_tick(data)
    elif event_type == "trade":
        check_trade(data)
    elif not (isinstance(data["epoch"], int) and finite(data["epoch"], 0, MAX_SEQ)
              and isinstance(data["seq"], int) and finite(data["seq"], 0, MAX_SEQ)
              and finite(data["ts"], 0, MAX_TS)):
        raise ProtocolError("heartbeat needs integer epoch and seq and a plausible ts")
    return event_type, data


def event_frames(event):
    """Frames of an event dict as returned by ``replay`` (inverse of decode_event)."""
    if "trade" in event:
        return [TOPIC_TRADE_PREFIX + event["symbol"].encode("utf-8"), encode(event)]
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
    if not valid_symbol(data.get("symbol")):
        raise ProtocolError("push needs a 'symbol' of 1-32 characters from A-Z a-z 0-9 . _ # -")
    for key in ("bid", "ask"):
        if not finite(data.get(key), 0, MAX_PRICE):
            raise ProtocolError("push needs a finite price %r between 0 and %g" % (key, MAX_PRICE))
    ts = data.get("ts")
    if ts is not None and not finite(ts, 0, MAX_TS):
        raise ProtocolError("push 'ts' must be seconds since 1970 before 2100")
    return data
