"""journal.py under faults, exactly: what each failure logs and keeps, the salvaged cursors of
every kind of damage, the budget's boundary, and the clocks of the retry and the fsync."""
import errno
import json
import logging
import os

import pytest

from mt5mesh.gateway import journal as journal_mod
from mt5mesh.gateway.journal import Journal, JournalCorrupt, _line, replay_lines

CURSORS = {"EURUSD": [5, 1], "GBPUSD": [7, 1]}


class Clock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def head(seq=0, epoch=7, **kw):
    body = dict(epoch=epoch, **kw)
    if seq is not None:
        body["seq"] = seq
    return _line(b"H", json.dumps(body, separators=(",", ":")).encode())


def ev(seq, msc):
    return _line(b"E", b'%d {"seq":%d,"symbol":"EURUSD","time_msc":%d}' % (seq, seq, msc))


def corrupt(segments):
    with pytest.raises(JournalCorrupt) as e:
        replay_lines(segments, 100)
    return e.value


# --- what damage keeps ------------------------------------------------------------------------
def test_each_kind_of_damage_keeps_the_checkpoint_cursors_advanced_by_the_good_events_before_it():
    good = [head(cursors=CURSORS), ev(1, 50), ev(2, 60)]
    want = {"EURUSD": [60, 1], "GBPUSD": [7, 1]}
    cases = {
        "segment 1 line 4 fails its checksum": [good + [b"00000000 E 3 {}\n", ev(4, 70)]],
        "events jump from seq 2 to 4": [good + [ev(4, 70)]],
        "segments of two epochs (7 and 8)": [good, [head(seq=2, epoch=8)]],
        "events jump from seq 2 to a checkpoint at 5": [good, [head(seq=5)]],
        "segment 1 line 4: invalid literal for int() with base 10: b'x'": [good + [_line(b"E", b"x {}")]],
    }
    for message, segments in cases.items():
        err = corrupt(segments)
        assert (str(err), err.cursors) == (message, want)


def test_damage_before_the_first_checkpoint_keeps_its_events_from_seq_1():
    err = corrupt([[ev(1, 50), b"garbage\n", ev(2, 60)]])
    assert str(err) == "segment 1 line 2 fails its checksum" and err.cursors == {"EURUSD": [50, 1]}


def test_old_checkpoints_without_seq_take_the_last_event_as_their_mark_and_gaps_are_still_found():
    loaded = replay_lines([[head(seq=None), ev(1, 50), ev(2, 60)], [head(seq=None)]], 100)
    assert loaded.checkpoint_seq == 2 and loaded.last_seq == 2
    err = corrupt([[head(seq=None), ev(1, 50), ev(2, 60)], [head(seq=None), ev(4, 70)]])
    assert str(err) == "events jump from seq 2 to 4"


# --- the Journal under a failing disk -------------------------------------------------------------
def opened(tmp_path, clock=None, **kw):
    j = Journal(str(tmp_path), 100, clock=clock or Clock(), **kw)
    j.lock()
    return j


def test_a_fresh_journal_is_clean_one_sync_after_start_and_closes_unlocked(tmp_path):
    unlocked = Journal(str(tmp_path / "never"), 10)
    unlocked.close()
    unlocked.event(1, b"{}")  # before start: nothing to write to, nothing raised
    j = opened(tmp_path)
    assert (j.error, j.torn, j.syncs) == (None, 0, 0)
    j.start(1, {"epoch": 7, "seq": 0})
    assert j.syncs == 1
    j.sync()
    assert j.syncs == 1  # nothing dirty: no second fsync
    j.close()


def test_the_first_write_error_is_logged_once_and_a_recovery_once(tmp_path, monkeypatch, caplog):
    clock = Clock()
    j = opened(tmp_path, clock)
    caplog.set_level(logging.WARNING, "mt5mesh-gateway")
    j.start(1, {"epoch": 7, "seq": 0})
    assert caplog.messages == []

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(journal_mod.os, "write", full)
    j.event(1, b"{}")
    j.event(2, b"{}")
    clock.now += 5
    assert j.start(3, {"epoch": 7, "seq": 2}) is False
    assert caplog.messages == ["journal %s: cannot write: No space left on device; publishing goes on without it, and "
                               "a restart after this begins a new epoch" % tmp_path]
    j.sync()  # no segment open: nothing to sync, nothing raised
    monkeypatch.undo()
    assert j.start(3, {"epoch": 7, "seq": 2}) is True
    assert caplog.messages[1:] == ["journal %s: writable again (journal %s: cannot write: No space left on device)"
                                   % (tmp_path, tmp_path)]
    j.close()


def test_the_retry_waits_5_seconds_from_the_failure_on_a_clock_far_from_zero(tmp_path, monkeypatch):
    clock = Clock(1000.0)
    j = opened(tmp_path, clock)
    j.start(1, {"epoch": 7, "seq": 0})

    def eio(fd, data):
        raise OSError(errno.EIO, "I/O")
    monkeypatch.setattr(journal_mod.os, "write", eio)
    j.event(1, b"{}")
    assert j.due(1004.999) is False and j.due(1005.0) is True


def test_an_fsync_waits_a_whole_second_on_a_clock_far_from_zero(tmp_path):
    clock = Clock(1000.0)
    j = opened(tmp_path, clock)
    j.start(1, {"epoch": 7, "seq": 0})
    j.event(1, b"{}")
    assert j.due(1000.999) is False and j.syncs == 1
    j.due(1001.0)
    assert j.syncs == 2
    j.close()


def test_a_failed_fsync_is_the_journal_error_naming_its_cause(tmp_path, monkeypatch):
    j = opened(tmp_path)
    j.start(1, {"epoch": 7, "seq": 0})
    j.event(1, b"{}")

    def eio(fd):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(journal_mod.os, "fsync", eio)
    j.sync()
    assert j.error == "journal %s: cannot write: Input/output error" % tmp_path


def test_a_short_write_is_a_full_disk_error_naming_the_bytes(tmp_path, monkeypatch):
    j = opened(tmp_path)
    j.start(1, {"epoch": 7, "seq": 0})
    real_write = os.write
    monkeypatch.setattr(journal_mod.os, "write", lambda fd, data: real_write(fd, data[:3]))
    with pytest.raises(OSError) as e:
        j._write(b"E", b"1 {}")
    assert (e.value.errno, e.value.strerror) == (errno.ENOSPC, "short write (3 of %d bytes)" % len(_line(b"E", b"1 {}")))


def test_a_segment_rolls_at_exactly_its_event_bytes(tmp_path):
    size = len(_line(b"E", b"1 {}"))
    j = opened(tmp_path, segment_bytes=size + 1)
    j.start(1, {"epoch": 7, "seq": 0})
    j.event(1, b"{}")
    assert j.due() is False
    j.event(2, b"{}")
    assert j.due() is True
    j.close()


def test_the_budget_drops_oldest_first_only_past_it_and_never_the_last(tmp_path):
    j = opened(tmp_path, budget_bytes=0)
    for first in (1, 2, 3):
        j.start(first, {"epoch": 7, "seq": first - 1})
        j.event(first, b"{}")
    sizes = [os.path.getsize(tmp_path / name) for _f, name in j.segments]
    assert j.total_bytes() == sum(sizes)
    j.budget_bytes = sum(sizes)
    j.drop_older_than(1)
    assert [f for f, _n in j.segments] == [1, 2, 3]
    j.budget_bytes = sum(sizes) - 1
    j.drop_older_than(1)
    assert [f for f, _n in j.segments] == [2, 3] and j.total_bytes() == sum(sizes[1:])
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("seg-")) == [n for _f, n in j.segments]
    j.budget_bytes = 0
    j.drop_older_than(1)
    assert [f for f, _n in j.segments] == [3]
    j.close()


def test_a_load_counts_every_segments_bytes_and_a_torn_cut_is_counted_and_logged(tmp_path, caplog):
    j = opened(tmp_path)
    j.start(1, {"epoch": 7, "seq": 0})
    j.event(1, b"{}")
    j.start(2, {"epoch": 7, "seq": 1})
    j.close()
    newest = tmp_path / "seg-00000000000000000002.log"
    with open(newest, "ab") as f:
        f.write(b"abc")
    again = Journal(str(tmp_path), 100)
    again.lock()
    caplog.set_level(logging.WARNING, "mt5mesh-gateway")
    again.load()
    assert again.torn == 3 and again.total_bytes() == sum(os.path.getsize(p) for p in tmp_path.glob("seg-*"))
    assert caplog.messages == ["journal %s: cut a torn last record (3 bytes) off seg-00000000000000000002.log" % tmp_path]
    again.close()


def test_an_empty_newest_segment_loads_as_nothing_more(tmp_path):
    j = opened(tmp_path)
    j.start(1, {"epoch": 7, "seq": 0})
    j.close()
    (tmp_path / "seg-00000000000000000001.log").write_bytes(b"")
    (tmp_path / "seg-00000000000000000000.log").write_bytes(head(seq=0))
    again = Journal(str(tmp_path), 100)
    loaded = again.load()
    assert loaded.epoch == 7 and again.torn == 0
