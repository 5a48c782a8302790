"""A restart reads only what the ring keeps: the segments it needs, events older than the ring
counted and not parsed, the restart scans (latest tick, cursors) stopping once the gateway's own
symbols are known; and it restores exactly what a full replay restores."""
import json

import pytest
from hypothesis import given, strategies as st

from mt5mesh.gateway.journal import (Journal, JournalCorrupt, Loaded, _line, cursors_from, event_count,
                                     latest_from, needed_from, replay_lines)


def head(seq=0, **kw):
    return _line(b"H", json.dumps(dict(epoch=7, seq=seq, **kw), separators=(",", ":")).encode())


def ev(seq, symbol="EURUSD", msc=1000):
    return _line(b"E", b'%d {"seq":%d,"symbol":"%s","time_msc":%d}' % (seq, seq, symbol.encode(), msc))


def seqs(loaded):
    return [s for s, _p in loaded.events]


def test_needed_from_is_the_newest_segment_that_starts_a_ring_or_more_before_the_newest():
    assert needed_from([1, 100, 300, 500], 200) == 2  # 500 - 300 == 200: 300.. holds a ring
    assert needed_from([1, 100, 300, 500], 201) == 1
    assert needed_from([1, 100, 300, 500], 10000) == 0
    assert needed_from([1, 200001, 338001], 200000) == 0  # the soak's journal: both old segments
    assert needed_from([7], 1) == 0


def test_event_count_counts_event_lines_but_not_a_torn_last_one():
    assert event_count([[head(), ev(1)], [head(1), ev(2), ev(3)]]) == 3
    assert event_count([[head(), ev(1), ev(2), ev(3)[:30]]]) == 2
    assert event_count([[head(), ev(1), _line(b"I", b'"k"')[:12]]]) == 1
    assert event_count([[head(), ev(1)[:30] + b"\n", ev(2)]]) == 2  # torn in the middle: counted, and corrupt
    assert event_count([]) == 0


def test_a_damaged_event_older_than_the_ring_is_not_read_and_does_not_set_the_journal_aside():
    damaged = ev(2)[:20] + b"\n"  # the newest event the ring does not keep
    loaded = replay_lines([[head(), ev(1), damaged, ev(3), ev(4)]], 2)
    assert seqs(loaded) == [3, 4]


def test_a_damaged_event_inside_the_ring_still_makes_the_journal_corrupt():
    with pytest.raises(JournalCorrupt, match="segment 1 line 4 fails its checksum"):
        replay_lines([[head(), ev(1), ev(2), ev(3)[:20] + b"\n", ev(4)]], 2)


def test_records_among_events_older_than_the_ring_are_still_read():
    lines = [head(), ev(1), _line(b"I", b'"k1"'), ev(2), _line(b"I", b'"k2"'),
             _line(b"R", b'["k1",{"ok":true}]'), ev(3), ev(4)]
    loaded = replay_lines([lines], 1)
    assert seqs(loaded) == [4]
    assert loaded.intents == ["k2"] and loaded.replies == {"k1": {"ok": True}}
    with pytest.raises(JournalCorrupt, match="line 3 fails its checksum"):
        replay_lines([[head(), ev(1), _line(b"I", b'"k1"')[:13] + b"\n", ev(2), ev(3)]], 1)


def test_a_torn_last_event_does_not_cost_the_ring_an_event():
    loaded = replay_lines([[head(), ev(1), ev(2), ev(3), ev(4)[:20]]], 2)
    assert seqs(loaded) == [2, 3]


@st.composite
def journals(draw):
    """Segments as a gateway writes them: each opens with a checkpoint of the state so far."""
    segments, seq, intents, replies = [], 0, [], {}
    for _segment in range(draw(st.integers(1, 4))):
        lines = [head(seq, intents=list(intents), replies=sorted(replies.items()))]
        for step in draw(st.lists(st.sampled_from("EEEIR"), max_size=12)):
            if step == "E":
                seq += 1
                lines.append(ev(seq, draw(st.sampled_from(["A", "B"])), seq // 3))
            elif step == "I":
                key = "k%d" % len(lines)
                intents.append(key)
                lines.append(_line(b"I", json.dumps(key).encode()))
            elif intents:
                key = intents.pop(0)
                replies[key] = seq
                lines.append(_line(b"R", json.dumps([key, seq]).encode()))
        segments.append(lines)
    torn = draw(st.booleans())
    if torn:
        segments[-1].append(ev(seq + 1)[:20])
    return segments


@given(journals(), st.integers(1, 30))
def test_reading_the_needed_segments_restores_what_the_whole_journal_restores(segments, ring):
    whole = replay_lines(segments, 10 ** 6)
    firsts = [int(json.loads(s[0][11:])["seq"]) + 1 for s in segments]
    part = replay_lines(segments[needed_from(firsts, ring):], ring)
    assert part.events == whole.events[-ring:]
    assert (part.epoch, part.cursors, part.replies, part.intents) == (whole.epoch, whole.cursors, whole.replies,
                                                                      whole.intents)
    assert part.last_seq == whole.last_seq


def test_load_reads_only_the_segments_the_ring_needs(tmp_path):
    journal = Journal(str(tmp_path / "j"), ring_size=3)
    journal.lock()
    journal.start(1, {"epoch": 7, "seq": 0})
    for seq in range(1, 4):
        journal.event(seq, b'{"seq":%d}' % seq)
    journal.start(4, {"epoch": 7, "seq": 3})
    for seq in range(4, 8):
        journal.event(seq, b'{"seq":%d}' % seq)
    journal.start(8, {"epoch": 7, "seq": 7})
    journal.event(8, b'{"seq":8}')
    journal.close()
    with open(str(tmp_path / "j" / "seg-00000000000000000001.log"), "ab") as f:
        f.write(b"not a record\n")  # the oldest segment: a read of it would be corrupt
    again = Journal(str(tmp_path / "j"), ring_size=3)
    again.lock()
    loaded = again.load()
    again.close()
    assert seqs(loaded) == [6, 7, 8] and loaded.last_seq == 8
    assert len(again.segments) == 3  # all still listed: dropping them stays drop_older_than's job


def test_latest_from_stops_once_the_gateways_symbols_are_found():
    events = [(1, b'{"symbol":"B"}'), (2, b'{"symbol":"A"}'), (3, b'{"symbol":"A"}')]
    loaded = Loaded(7, events, {}, {}, [])
    assert latest_from(loaded, 1000, ["A"]) == {"A": b'{"symbol":"A"}'}
    assert latest_from(loaded, 1000) == {"A": b'{"symbol":"A"}', "B": b'{"symbol":"B"}'}
    assert set(latest_from(loaded, 1000, ["A", "B"])) == {"A", "B"}
    assert set(latest_from(loaded, 1000, ["A", "C"])) == {"A", "B"}  # C never ticked: the whole ring


def test_cursors_from_skips_other_symbols_between_a_wanted_symbols_ticks():
    events = [(2, b'{"symbol":"A","time_msc":5}'), (3, b'{"symbol":"A","time_msc":6}'),
              (4, b'{"symbol":"B","time_msc":4}'), (5, b'{"symbol":"A","time_msc":6}')]
    loaded = Loaded(7, events, {"B": [1, 1]}, {}, [], checkpoint_seq=1)
    assert cursors_from(loaded, ["A"]) == {"A": [6, 2], "B": [1, 1]}


def test_an_event_payload_with_spaces_is_kept_whole():
    payload = b'{"seq":1,"symbol":"A","comment":"close all now"}'
    loaded = replay_lines([[head(), _line(b"E", b"1 " + payload)]], 10)
    assert loaded.events == [(1, payload)]


def test_the_checkpoint_mark_is_the_last_event_before_it_when_events_were_read():
    assert replay_lines([[head(), ev(1), ev(2)], [head(seq=2)]], 10).checkpoint_seq == 2
    assert replay_lines([[head(seq=9)]], 10).checkpoint_seq == 9


def test_a_checkpoint_past_the_last_event_is_a_gap_that_keeps_the_cursors_before_it():
    # A segment begun after writes failed (a full disk): the events between were never written.
    with pytest.raises(JournalCorrupt) as e:
        replay_lines([[head(cursors={"EURUSD": [5, 1]}), ev(1, msc=7), ev(2, msc=8)], [head(seq=9)]], 10)
    assert str(e.value) == "events jump from seq 2 to a checkpoint at 9"
    assert e.value.cursors == {"EURUSD": [8, 1]}


def test_cursors_from_advances_only_the_terminals_symbols_and_stops_once_each_is_known():
    events = [(2, b'{"symbol":"B","time_msc":4}'), (3, b'{"symbol":"A","time_msc":5}'),
              (4, b'{"symbol":"A","time_msc":6}'), (5, b'{"symbol":"A","time_msc":6}')]
    loaded = Loaded(7, events, {"B": [1, 1], "Z": [9, 9]}, {}, [], checkpoint_seq=1)
    assert cursors_from(loaded, ["A"]) == {"A": [6, 2], "B": [1, 1], "Z": [9, 9]}
    assert cursors_from(loaded) == {"A": [6, 2], "B": [4, 1], "Z": [9, 9]}
    assert cursors_from(loaded, ["A", "B"]) == {"A": [6, 2], "B": [4, 1], "Z": [9, 9]}
