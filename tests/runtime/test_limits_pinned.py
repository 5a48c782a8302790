"""Every limit that guards the zero-loss path, pinned by value. mutmut does not mutate
module-level constants, so a loosened limit (a bigger request, a longer retention cut, a deeper
nesting) would pass every other test: here it fails, and the reason for each value is beside it
(docs/protocol.md, docs/trading.md, docs/security.md say the same to users)."""
import pytest

from mt5mesh import httpd
from mt5mesh.gateway import broker, journal, orderlog, trading
from mt5mesh.gateway.terminal import follow
from mt5mesh.nexus import storeproc
from mt5mesh.wire import protocol, strict_json

MIB = 1024 * 1024

PINNED = [
    # the wire: what one peer message may cost
    (protocol, "MAX_REQUEST_BYTES", MIB, "a request past it disconnects its peer unbuffered"),
    (protocol, "SOCKET_MAX_BYTES", 16 * MIB, "nexus's SUB: no event is bigger"),
    (protocol, "MAX_DEALS_BYTES", 128 * 1024, "one history_deals page"),
    (protocol, "MAX_REPLAY_LIMIT", 20000, "events per replay request"),
    (protocol, "MAX_REPLAY_BYTES", 128 * 1024, "bytes per replay reply (REP_SNDHWM of them per peer)"),
    (protocol, "MAX_PRICE", 1e9, "a price no symbol reaches"),
    (protocol, "MAX_TS", 4102444800.0, "2100-01-01: a timestamp past it is garbage"),
    (protocol, "MAX_SEQ", 2 ** 62, "fits PostgreSQL bigint with room"),
    (protocol, "MAX_VOLUME", 1e6, "lots per order, before the role's max_volume"),
    (protocol, "MAX_COMMENT", 31, "MT5 keeps 31 characters of a comment"),
    (strict_json, "MAX_DEPTH", 32, "JSON nesting; deeper is refused before parsing"),
    # the gateway broker
    (broker, "REP_SNDHWM", 1000, "replies queued per REP peer"),
    (broker, "PUB_MAX_IN_BYTES", 4096, "what a subscriber may send (CURVE INITIATE ~300 bytes)"),
    (broker, "MAX_SYMBOLS", 1000, "distinct symbols in the snapshot"),
    (broker, "TURN_BUDGET_S", 0.02, "one loop turn of requests, so heartbeats keep their cadence"),
    (broker, "HB_ON_SUBSCRIBE_EVERY_S", 0.05, "heartbeats to new subscribers at most this often"),
    # durability
    (journal, "SEGMENT_BYTES", 32 * MIB, "events per journal segment"),
    (journal, "SYNC_EVERY_S", 1.0, "a power cut loses at most this much of the tick journal"),
    (journal, "RETRY_EVERY_S", 5.0, "a failed journal retries a fresh segment this often"),
    (journal, "BUDGET_BYTES", 2048 * MIB, "journal directory budget (the role's journal_max_mb)"),
    (orderlog, "RETENTION_S", 86400, "an order's reply is kept at least a day: by time, never by count"),
    (orderlog, "COMPACT_BYTES", 4 * MIB, "the order log is compacted past it"),
    (trading, "MAX_BUCKETS", 1000, "per-client rate buckets kept"),
    # the terminal and nexus
    (follow, "BATCH", 5000, "ticks per copy_ticks_from call"),
    (storeproc, "FORWARD_EVERY_S", 0.05, "the stores process reports at least this often"),
    # the health endpoint: a hostile HTTP client
    (httpd, "REQUEST_TIMEOUT_S", 5.0, "per read"),
    (httpd, "REQUEST_DEADLINE_S", 2.0, "per request, however it trickles"),
    (httpd, "MAX_CONNECTIONS", 16, "connections served at once"),
]


@pytest.mark.parametrize("module, name, value, why", PINNED, ids=[p[1] for p in PINNED])
def test_each_limit_keeps_its_reviewed_value(module, name, value, why):
    assert getattr(module, name) == value, "%s.%s changed: %s" % (module.__name__, name, why)


def test_the_id_and_symbol_rules_are_exactly_their_documented_alphabets_and_lengths():
    assert protocol.ID_RE.pattern == r"[A-Za-z0-9._:-]{1,128}"
    assert protocol.SYMBOL_RE.pattern == r"[A-Za-z0-9._#-]{1,32}"
    assert protocol.ID_RULE == "a string of 1-128 characters from A-Z a-z 0-9 . _ : -"
