"""Edges of the replay ring, the sequencer and the spool: each test states one boundary that a
mutant of the code would cross (tests with teeth; make mutation checks them)."""
import json
import os

import pytest

from mt5mesh.gateway.ring import Ring
from mt5mesh.nexus import rows
from mt5mesh.nexus.sequencer import GAP, IDLE, Sequencer
from mt5mesh.nexus.spool import Spool, SpoolFull


def test_ring_of_size_one_is_valid_and_keeps_the_newest_event():
    ring = Ring(1)
    ring.put(1, b"a")
    ring.put(2, b"b")
    assert ring.slice(2, 10) == [b"b"] and ring.slice(1, 10) is None and ring.oldest == 2


def test_ring_size_zero_is_refused_with_the_reason():
    with pytest.raises(ValueError) as e:
        Ring(0)
    assert str(e.value) == "ring size must be >= 1"


def test_empty_ring_returns_no_events_and_has_no_oldest():
    ring = Ring(10)
    assert ring.slice(1, 10) == [] and ring.oldest == 0 and ring.last == 0


def test_ring_holding_only_seq_1_returns_it():
    ring = Ring(10)
    ring.put(1, b"one")
    assert ring.slice(1, 5) == [b"one"]


def test_replay_of_exactly_the_newest_event_returns_it_and_past_it_returns_nothing():
    ring = Ring(10)
    for seq in (1, 2, 3):
        ring.put(seq, b"%d" % seq)
    assert ring.slice(3, 10) == [b"3"] and ring.slice(4, 10) == []


def test_sequencer_starts_at_seq_1_with_nothing_known():
    seq = Sequencer(5)
    assert (seq.next_seq, seq.head, seq.behind) == (1, 0, 0)


def test_sequencer_resuming_at_10_knows_the_gateway_reached_9():
    seq = Sequencer(5, 10)
    assert (seq.head, seq.behind) == (9, 0)


def test_heartbeat_revealing_exactly_one_missing_tick_is_a_gap_not_idle():
    seq = Sequencer(5, 10)
    assert seq.offer("hb", {"epoch": 5, "seq": 10}) == (GAP, 10, 10)
    assert seq.offer("hb", {"epoch": 5, "seq": 9})[0] == IDLE


ROWS = [(1, 5, "EURUSD", 1.0, 1.1, 1.2), (1, 6, "EURUSD", 1.0, 1.1, 1.2)]


def test_spool_full_names_the_directory_and_the_limit(tmp_path):
    with pytest.raises(SpoolFull) as e:
        Spool(str(tmp_path), 10).append(ROWS)
    assert str(e.value) == "spool %s full (10 bytes max)" % tmp_path


def test_spool_files_hold_compact_json_and_bytes_count_them(tmp_path):
    spool = Spool(str(tmp_path), 10 ** 6)
    spool.append(ROWS)
    (name,) = os.listdir(str(tmp_path))
    with open(os.path.join(str(tmp_path), name), "rb") as f:
        data = f.read()
    assert data == json.dumps([["tick"] + list(r) for r in ROWS], separators=(",", ":")).encode()
    assert spool.bytes == len(data)


def test_an_event_with_a_trade_becomes_a_trade_row_holding_the_event_and_any_other_a_tick_row():
    tick = {"epoch": 1, "seq": 5, "symbol": "EURUSD", "ts": 1.0, "bid": 1.1, "ask": 1.2}
    trade = {"epoch": 1, "seq": 6, "symbol": "EURUSD", "ts": 1.5, "trade": "fill", "deal": 7}
    assert rows.of_event(tick) == rows.Tick(1, 5, "EURUSD", 1.0, 1.1, 1.2) and isinstance(rows.of_event(tick), rows.Tick)
    row = rows.of_event(trade)
    assert isinstance(row, rows.Trade) and row == rows.Trade(1, 6, "EURUSD", 1.5, trade) and row.event is trade


def test_a_spooled_batch_with_a_trade_reads_back_as_it_was_written_each_row_its_own_kind(tmp_path):
    batch = [rows.Tick(1, 5, "EURUSD", 1.0, 1.1, 1.2),
             rows.Trade(1, 6, "EURUSD", 1.5, {"trade": "fill", "deal": 7, "side": "buy"})]
    spool = Spool(str(tmp_path), 10 ** 6)
    spool.append(batch)
    name, back = Spool(str(tmp_path), 10 ** 6).oldest()  # as a restarted nexus finds it
    assert back == batch and [type(r) for r in back] == [rows.Tick, rows.Trade] and name == Spool.name_for(batch)


def test_rewriting_the_same_batch_does_not_count_its_bytes_twice(tmp_path):
    spool = Spool(str(tmp_path), 10 ** 6)
    spool.append(ROWS)
    once = spool.bytes
    spool.append(ROWS)
    assert spool.bytes == once and spool.depth == 1


def test_removing_a_batch_subtracts_exactly_its_bytes(tmp_path):
    spool = Spool(str(tmp_path), 10 ** 6)
    spool.append(ROWS)
    spool.append([(2, 1, "X", 1.0, 1.0, 1.0)])
    first = spool.bytes
    name, _rows = spool.oldest()
    spool.remove(name)
    remaining = sum(os.path.getsize(os.path.join(str(tmp_path), n)) for n in os.listdir(str(tmp_path)))
    assert spool.bytes == remaining < first


def test_a_write_cut_before_its_rename_leaves_a_tmp_file_in_the_spool_that_the_next_start_removes(tmp_path, monkeypatch):
    spool_dir = tmp_path / "spool"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(str(elsewhere))
    spool = Spool(str(spool_dir), 10 ** 6)

    def crash(src, dst):
        raise OSError("killed before rename")
    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(OSError):
        spool.append(ROWS)
    assert os.listdir(str(elsewhere)) == []
    assert [n for n in os.listdir(str(spool_dir)) if n.endswith(".tmp")]
    monkeypatch.undo()
    again = Spool(str(spool_dir), 10 ** 6)
    assert os.listdir(str(spool_dir)) == [] and again.depth == 0 and again.oldest() is None
