"""Pure logic of the runtime: ring, sequencer (gaps), spool, breaker, synthetic source."""
import pytest

from mt5mesh.gateway.ring import Ring
from mt5mesh.gateway.sources import SyntheticSource
from mt5mesh.nexus.sequencer import ACCEPT, DUPLICATE, EPOCH_CHANGE, GAP, IDLE, Sequencer
from mt5mesh.nexus.spool import Spool, SpoolFull
from mt5mesh.wire.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


def test_ring_slices_contiguously_and_reports_gone():
    ring = Ring(5)
    for seq in range(1, 9):
        ring.put(seq, b"%d" % seq)
    assert ring.oldest == 4 and ring.last == 8
    assert ring.slice(4, 10) == [b"4", b"5", b"6", b"7", b"8"]
    assert ring.slice(6, 2) == [b"6", b"7"]
    assert ring.slice(3, 2) is None
    assert ring.slice(9, 5) == []


def tick(seq, epoch=1):
    return {"epoch": epoch, "seq": seq}


def test_sequencer_accepts_drops_duplicates_and_finds_gaps():
    s = Sequencer(1, 1)
    assert s.offer("tick", tick(1))[0] == ACCEPT
    s.accepted(1)
    assert s.offer("tick", tick(1))[0] == DUPLICATE
    assert s.offer("tick", tick(5)) == (GAP, 2, 4)
    assert s.offer("tick", tick(2, epoch=2))[0] == EPOCH_CHANGE


def test_heartbeat_reveals_a_gap_on_a_quiet_stream():
    s = Sequencer(1, 4)
    assert s.offer("hb", tick(3))[0] == IDLE
    assert s.offer("hb", tick(6)) == (GAP, 4, 6)
    assert s.behind == 3


def test_skip_to_never_goes_back():
    s = Sequencer(1, 10)
    s.skip_to(5)
    assert s.next_seq == 10
    s.skip_to(20)
    assert s.next_seq == 20


def test_spool_keeps_order_and_is_bounded(tmp_path):
    sp = Spool(str(tmp_path), max_bytes=400)
    sp.append([(1, 10, "EURUSD", 1.0, 1.1, 1.2)])
    sp.append([(1, 9, "EURUSD", 1.0, 1.1, 1.2)])
    name, rows = sp.oldest()
    assert rows[0][1] == 9
    sp.remove(name)
    assert sp.depth == 1
    with pytest.raises(SpoolFull):
        sp.append([(1, s, "EURUSD", 1.0, 1.1, 1.2) for s in range(11, 40)])
    assert sp.depth == 1  # nothing half-written


def test_spool_discards_partial_files_on_start(tmp_path):
    (tmp_path / "x.json.tmp").write_text("[")
    sp = Spool(str(tmp_path), 1000)
    assert sp.depth == 0 and not list(tmp_path.glob("*.tmp"))


def test_breaker_opens_then_half_opens_then_closes():
    now = [0.0]
    b = CircuitBreaker(failure_threshold=2, reset_timeout=5, clock=lambda: now[0])
    b.failure()
    assert b.allow() and b.state == CLOSED
    b.failure()
    assert b.state == OPEN and not b.allow()
    now[0] = 5.0
    assert b.allow() and b.state == HALF_OPEN
    b.failure()  # the probe failed: open again at once
    assert b.state == OPEN and not b.allow()
    now[0] = 10.0
    assert b.allow()
    b.success()
    assert b.state == CLOSED and b.times_opened == 2


def test_synthetic_source_is_seeded_and_paced():
    a = SyntheticSource(["EURUSD", "GBPUSD"], rate=1000, seed=1)
    b = SyntheticSource(["EURUSD", "GBPUSD"], rate=1000, seed=1)
    a.start = b.start = 0.0
    assert a.due(0.05) == b.due(0.05)
    assert len(a.due(0.1)) == 50
    assert a.due(0.1) == []
    # Far behind: catch up at most max_burst at once.
    assert len(a.due(1000.0)) == a.max_burst
