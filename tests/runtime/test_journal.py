"""The gateway journal: pure replay of its lines, cursors, and the directory it owns."""
import os

import pytest

from mt5mesh.gateway.journal import (Journal, JournalCorrupt, JournalError, Loaded, _line, cursors_from,
                                     parse_line, replay_lines)

HEAD = _line(b"H", b'{"epoch":7,"seq":0,"cursors":{},"replies":[],"intents":[]}')


def ev(seq, symbol="EURUSD", msc=1000):
    return _line(b"E", b'%d {"epoch":7,"seq":%d,"symbol":"%s","time_msc":%d}' % (seq, seq, symbol.encode(), msc))


def test_parse_line_rejects_a_torn_or_altered_line():
    good = ev(1)
    assert parse_line(good)[0] == b"E"
    assert parse_line(good[:-1]) is None  # no newline: torn
    assert parse_line(good[:-5] + b"X}}}\n") is None  # altered: checksum fails
    assert parse_line(b"zzzzzzzz E 1\n") is None


def test_a_torn_last_line_is_cut_off_and_everything_before_it_kept():
    loaded = replay_lines([[HEAD, ev(1), ev(2), ev(3)[:20]]], 100)
    assert loaded.epoch == 7 and [s for s, _p in loaded.events] == [1, 2]


def test_a_bad_line_before_the_end_makes_the_journal_corrupt():
    with pytest.raises(JournalCorrupt, match="checksum"):
        replay_lines([[HEAD, ev(1)[:20] + b"\n", ev(2)]], 100)


def test_a_seq_jump_makes_the_journal_corrupt():
    with pytest.raises(JournalCorrupt, match="jump"):
        replay_lines([[HEAD, ev(1), ev(3)]], 100)


def test_segments_of_two_epochs_make_the_journal_corrupt():
    other = _line(b"H", b'{"epoch":8}')
    with pytest.raises(JournalCorrupt, match="two epochs"):
        replay_lines([[HEAD, ev(1)], [other, ev(2)]], 100)


def test_no_checkpoint_is_corrupt():
    with pytest.raises(JournalCorrupt, match="no checkpoint"):
        replay_lines([[ev(1)]], 100)


def test_only_the_ring_size_newest_events_are_loaded():
    loaded = replay_lines([[HEAD] + [ev(i) for i in range(1, 11)]], 4)
    assert [s for s, _p in loaded.events] == [7, 8, 9, 10] and loaded.last_seq == 10


def test_an_intent_without_a_reply_stays_an_intent_and_a_reply_clears_it():
    lines = [HEAD, _line(b"I", b'"a"'), _line(b"I", b'"b"'), _line(b"R", b'["a",["fp",{"ok":true}]]')]
    loaded = replay_lines([lines], 10)
    assert loaded.intents == ["b"] and loaded.replies == {"a": ["fp", {"ok": True}]}


def test_cursors_count_the_ticks_of_the_last_millisecond_after_the_checkpoint():
    loaded = Loaded(7, [(1, b'{"symbol":"A","time_msc":5}'), (2, b'{"symbol":"A","time_msc":6}'),
                        (3, b'{"symbol":"B","time_msc":6}'), (4, b'{"symbol":"A","time_msc":6}'),
                        (5, b'{"symbol":"A","trade":"fill","time_msc":9}')],
                    {"C": [3, 2]}, {}, [])
    assert cursors_from(loaded) == {"A": [6, 2], "B": [6, 1], "C": [3, 2]}


def test_cursors_add_the_checkpoint_count_when_the_millisecond_continues():
    loaded = Loaded(7, [(1, b'{"symbol":"A","time_msc":6}'), (2, b'{"symbol":"A","time_msc":6}')],
                    {"A": [6, 3]}, {}, [], checkpoint_seq=1)
    assert cursors_from(loaded) == {"A": [6, 4]}


def test_a_second_journal_on_the_same_directory_is_refused(tmp_path):
    first = Journal(str(tmp_path), 10)
    first.lock()
    second = Journal(str(tmp_path), 10)
    with pytest.raises(JournalError, match="in use by another gateway \\(pid %d\\)" % os.getpid()):
        second.lock()
    first.close()
    second.lock()
    second.close()


def test_journal_round_trip_and_old_segments_are_dropped_so_disk_stays_bounded(tmp_path):
    j = Journal(str(tmp_path), 10, segment_bytes=400)
    j.lock()
    j.start(1, {"epoch": 7, "seq": 0})
    for seq in range(1, 61):
        j.event(seq, b'{"seq":%d}' % seq)
        if j.due():
            j.start(seq + 1, {"epoch": 7, "seq": seq})
            j.drop_older_than(max(1, seq - 10 + 1))
    j.close()
    assert 2 <= len(j.segments) <= 4
    again = Journal(str(tmp_path), 10)
    again.lock()
    loaded = again.load()
    assert loaded.epoch == 7 and [s for s, _p in loaded.events] == list(range(51, 61))
    again.close()


def test_fsync_happens_at_least_once_a_second_of_writes(tmp_path):
    now = [0.0]
    j = Journal(str(tmp_path), 10, clock=lambda: now[0])
    j.lock()
    j.start(1, {"epoch": 1})
    base = j.syncs
    j.event(1, b"{}")
    j.due()
    assert j.syncs == base
    now[0] = 1.0
    j.due()
    assert j.syncs == base + 1
    j.close()


def test_a_corrupt_journal_is_set_aside_not_deleted(tmp_path):
    with open(tmp_path / "seg-00000000000000000001.log", "wb") as f:
        f.write(b"garbage\nmore garbage\n")
    j = Journal(str(tmp_path), 10)
    j.lock()
    with pytest.raises(JournalCorrupt):
        j.load()
    j.set_aside("test")
    assert j.load() is None
    assert any(n.startswith("corrupt-") for n in os.listdir(tmp_path))
    j.close()
