"""The gateway journal, exactly: the bytes of a record, each corruption named with its segment and
line, what a checkpoint resets, the restart scans (latest tick, cursors) at their edges, and what
intent and reply put on disk and when they fsync."""
import os
import stat
import zlib

import pytest

from mt5mesh.gateway.journal import (Journal, JournalCorrupt, JournalError, Loaded, _line, cursors_from, latest_from,
                                     parse_line, replay_lines)


def head(epoch=7, seq=0, **kw):
    body = dict(epoch=epoch, seq=seq, **kw)
    import json
    return _line(b"H", json.dumps(body, separators=(",", ":")).encode())


def ev(seq, symbol="EURUSD", msc=1000, trade=False):
    extra = b',"trade":"fill"' if trade else b""
    return _line(b"E", b'%d {"seq":%d,"symbol":"%s","time_msc":%d%s}' % (seq, seq, symbol.encode(), msc, extra))


def test_a_record_is_its_crc32_in_8_hex_digits_a_space_the_body_and_a_newline():
    assert _line(b"E", b"1 {}") == b"%08x E 1 {}\n" % zlib.crc32(b"E 1 {}")
    assert _line(b"I", b'"k"')[:8] == b"%08x" % zlib.crc32(b'I "k"')
    assert parse_line(_line(b"E", b"1 {}")) == (b"E", b"1 {}")


def test_parse_line_refuses_short_misplaced_or_unspaced_lines():
    good = _line(b"E", b"1 {}")
    assert parse_line(good[:11] + b"\n") is None  # shorter than a record can be
    assert parse_line(b"0" * 8 + b"X" + good[9:]) is None  # no space after the checksum
    crc = b"%08x" % zlib.crc32(b"EX1")
    assert parse_line(crc + b" EX1\n") is None  # no space after the type
    body = b"E 1 {}"
    assert parse_line(b"%08x" % zlib.crc32(body) + b"X" + body + b"\n") is None  # a right checksum, no space after it


def test_each_corruption_is_named_with_its_segment_and_line():
    def corrupt(segments):
        with pytest.raises(JournalCorrupt) as e:
            replay_lines(segments, 100)
        return str(e.value)
    assert corrupt([[head(), ev(1)[:20] + b"\n", ev(2)]]) == "segment 1 line 2 fails its checksum"
    # a torn last line is forgiven only at the very end of the newest segment
    assert corrupt([[head(), ev(1), ev(2)[:20]], [head(seq=1), ev(2)]]) == "segment 1 line 3 fails its checksum"
    assert corrupt([[head(), ev(1), ev(3)]]) == "events jump from seq 1 to 3"
    assert corrupt([[head(), ev(1)], [head(epoch=8), ev(2)]]) == "segments of two epochs (7 and 8)"
    assert corrupt([[head(), _line(b"X", b"1")]]) == "unknown record type b'X'"
    assert corrupt([[head(), _line(b"E", b"nospace")]]).startswith("segment 1 line 2: ")
    assert corrupt([[head(), _line(b"R", b'["only-a-key"]')]]).startswith("segment 1 line 2: ")
    assert corrupt([[_line(b"H", b'{"seq":0}')]]).startswith("segment 1 line 1: ")
    assert corrupt([[]]) == "no checkpoint record"


def test_the_newest_checkpoint_resets_cursors_replies_and_intents_and_marks_its_seq():
    lines_1 = [head(cursors={"EURUSD": [5, 1]}, replies=[["a", 1]], intents=["x"]), ev(1), ev(2)]
    lines_2 = [head(seq=2, cursors={"GBPUSD": [9, 2]}, replies=[["b", 2]], intents=["y"]), ev(3)]
    loaded = replay_lines([lines_1, lines_2], 100)
    assert (loaded.cursors, loaded.replies, loaded.intents) == ({"GBPUSD": [9, 2]}, {"b": 2}, ["y"])
    assert loaded.checkpoint_seq == 2 and loaded.last_seq == 3 and [s for s, _name in loaded.events] == [1, 2, 3]
    only_head = replay_lines([[head(seq=41)]], 100)
    assert only_head.events == [] and only_head.checkpoint_seq == 41 and only_head.last_seq == 41
    bare = replay_lines([[_line(b"H", b'{"epoch":3}')]], 100)
    assert (bare.cursors, bare.replies, bare.intents, bare.checkpoint_seq) == ({}, {}, [], 0)


def test_a_reply_for_a_key_not_in_flight_is_kept_and_intents_keep_their_order():
    lines = [head(), _line(b"I", b'"a"'), _line(b"I", b'"b"'), _line(b"I", b'"c"'), _line(b"R", b'["z",1]'),
             _line(b"R", b'["b",2]')]
    loaded = replay_lines([lines], 10)
    assert loaded.intents == ["a", "c"] and loaded.replies == {"z": 1, "b": 2}


def test_latest_from_keeps_the_newest_tick_per_symbol_skips_trades_and_stops_at_the_limit():
    events = [(1, b'{"symbol":"A","n":1}'), (2, b'{"symbol":"B","n":2}'), (3, b'{"symbol":"A","n":3}'),
              (4, b'{"symbol":"C","trade":"fill"}'), (5, b'{"x":1}')]
    loaded = Loaded(1, events, {}, {}, [])
    assert latest_from(loaded, 10) == {"A": b'{"symbol":"A","n":3}', "B": b'{"symbol":"B","n":2}'}
    assert latest_from(loaded, 1) == {"A": b'{"symbol":"A","n":3}'}
    assert latest_from(Loaded(1, [], {}, {}, []), 5) == {}


def test_cursors_ignore_events_the_checkpoint_counted_trades_and_untimed_events():
    events = [(1, b'{"symbol":"A","time_msc":5}'), (2, b'{"symbol":"A","time_msc":7}'),
              (3, b'{"symbol":"A","time_msc":7,"trade":"fill"}'), (4, b'{"symbol":"B"}')]
    loaded = Loaded(1, events, {"A": [5, 1]}, {}, [], checkpoint_seq=1)
    assert cursors_from(loaded) == {"A": [7, 1]}
    assert cursors_from(Loaded(1, events, {"A": [5, 1]}, {}, [], checkpoint_seq=4)) == {"A": [5, 1]}


def test_cursors_count_only_the_newest_millisecond_and_continue_the_checkpoints_count():
    events = [(2, b'{"symbol":"A","time_msc":6}'), (3, b'{"symbol":"A","time_msc":7}'), (4, b'{"symbol":"A","time_msc":7}')]
    assert cursors_from(Loaded(1, events, {}, {}, [], checkpoint_seq=1)) == {"A": [7, 2]}
    # every event after the checkpoint is in the checkpoint's millisecond: the counts add up
    same = [(2, b'{"symbol":"A","time_msc":7}'), (3, b'{"symbol":"A","time_msc":7}')]
    assert cursors_from(Loaded(1, same, {"A": [7, 3]}, {}, [], checkpoint_seq=1)) == {"A": [7, 5]}
    # a newer millisecond after the checkpoint's: the checkpoint's count no longer applies
    assert cursors_from(Loaded(1, events, {"A": [7, 3]}, {}, [], checkpoint_seq=1)) == {"A": [7, 2]}


def test_the_journal_writes_no_order_state_and_an_event_waits_for_the_second_sync(tmp_path):
    now = [0.0]
    j = Journal(str(tmp_path), 10, clock=lambda: now[0])
    j.lock()
    j.start(1, {"epoch": 2, "seq": 0})
    synced = j.syncs
    assert not hasattr(j, "intent") and not hasattr(j, "reply")
    j.event(1, b"{}")
    assert j.syncs == synced and j.due(0.5) is False and j.syncs == synced
    j.due(1.0)
    assert j.syncs == synced + 1
    with open(tmp_path / "seg-00000000000000000001.log", "rb") as f:
        lines = f.readlines()
    assert lines == [_line(b"H", b'{"epoch":2,"seq":0}'), _line(b"E", b"1 {}")]
    j.close()
    j.close()  # closing twice is harmless
    again = Journal(str(tmp_path), 10)
    again.lock()
    loaded = again.load()
    assert loaded.intents == [] and loaded.replies == {} and loaded.epoch == 2 and loaded.events == [(1, b"{}")]
    again.close()


def test_fsync_happens_at_most_once_a_second_on_a_clock_that_does_not_start_at_zero(tmp_path):
    # A clock far from 0 (as time.monotonic is): a sync that forgot its time, or measured from 0,
    # would fsync on every loop turn.
    now = [5000.25]
    j = Journal(str(tmp_path), 10, clock=lambda: now[0])
    j.lock()
    j.start(1, {"epoch": 1, "seq": 0})
    base = j.syncs
    j.event(1, b"{}")
    assert [j.due(t) for t in (5000.25, 5001.0, 5001.24)] == [False] * 3 and j.syncs == base
    now[0] = 5001.25
    j.due(5001.25)
    assert j.syncs == base + 1
    j.event(2, b"{}")
    for t in (5001.25, 5001.5, 5002.0, 5002.24):
        now[0] = t
        j.due(t)
    assert j.syncs == base + 1  # written, but less than a second since the last fsync
    now[0] = 5002.25
    j.due(5002.25)
    assert j.syncs == base + 2
    now[0] = 5010.0
    j.due(5010.0)
    assert j.syncs == base + 2  # nothing written since: nothing to fsync
    j.close()


def test_files_are_private_and_the_lock_names_this_pid(tmp_path):
    path = tmp_path / "j"
    j = Journal(str(path), 10)
    j.lock()
    j.start(7, {"epoch": 1})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path / "lock").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path / "seg-00000000000000000007.log").st_mode) == 0o600
    assert (path / "lock").read_bytes() == b"%d\n" % os.getpid()
    assert j.segments == [(7, "seg-00000000000000000007.log")]
    j.close()


def test_a_journal_under_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(JournalError) as e:
        Journal(str(tmp_path / "file" / "j"), 10).lock()
    assert str(e.value).startswith("journal %s: cannot open: " % (tmp_path / "file" / "j"))


def test_the_segment_is_full_exactly_at_its_size(tmp_path):
    j = Journal(str(tmp_path), 10, segment_bytes=10 ** 6)
    j.lock()
    j.start(1, {"epoch": 1})
    j.segment_bytes = j._size
    assert j.due() is True
    j.segment_bytes = j._size + 1
    assert j.due() is False
    j.close()


def test_a_segment_is_dropped_only_when_the_next_one_starts_at_or_below_the_oldest_seq(tmp_path):
    j = Journal(str(tmp_path), 10)
    j.lock()
    for first in (1, 11, 21):
        j.start(first, {"epoch": 1, "seq": first - 1})
    j.drop_older_than(10)
    assert [s for s, _name in j.segments] == [1, 11, 21]
    j.drop_older_than(11)
    assert [s for s, _name in j.segments] == [11, 21] and not (tmp_path / "seg-00000000000000000001.log").exists()
    j.drop_older_than(10 ** 6)
    assert [s for s, _name in j.segments] == [21]  # never the open one
    j.close()


def test_set_aside_moves_every_segment_and_keeps_their_names(tmp_path):
    j = Journal(str(tmp_path), 10)
    j.lock()
    j.start(1, {"epoch": 1})
    j.start(5, {"epoch": 1, "seq": 4})
    j.close()
    j.set_aside("test")
    aside = [n for n in os.listdir(tmp_path) if n.startswith("corrupt-")]
    assert len(aside) == 1 and sorted(os.listdir(tmp_path / aside[0])) == [
        "seg-00000000000000000001.log", "seg-00000000000000000005.log"]
    assert j.segments == [] and j._segment_files() == []


def test_the_shortest_record_is_a_type_and_no_data_and_a_line_without_newline_is_torn():
    assert parse_line(_line(b"E", b"")) == (b"E", b"")  # 12 bytes: "<crc> E \n"
    # Without its newline the line is torn, even when its other bytes would check out.
    body = b"E 1 {}"
    assert parse_line(b"%08x " % zlib.crc32(body) + body + b"}") is None
