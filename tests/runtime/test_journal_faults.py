"""The tick journal under faults: a full disk never raises out of it, a torn tail is cut off the
file, damage anywhere keeps the cursors before it, segments roll on event bytes only, and the
directory keeps to its budget."""
import errno
import json
import os

import pytest

from mt5mesh.gateway import journal as journal_mod
from mt5mesh.gateway.journal import RETRY_EVERY_S, Journal, JournalCorrupt, _line


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def ev(seq, msc=1000):
    return b'{"seq":%d,"symbol":"EURUSD","time_msc":%d}' % (seq, msc)


def segs(path):
    return sorted(n for n in os.listdir(path) if n.startswith("seg-"))


def test_a_failed_event_write_is_kept_as_an_error_never_raised_and_retried_after_the_interval(tmp_path, monkeypatch):
    clock = Clock()
    j = Journal(str(tmp_path), 100, clock=clock)
    j.lock()
    j.start(1, {"epoch": 5, "seq": 0})

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(journal_mod.os, "write", full)
    j.event(1, ev(1))
    assert j.error == "journal %s: cannot write: No space left on device" % tmp_path
    j.event(2, ev(2))  # nothing more is tried, nothing raised
    clock.now = RETRY_EVERY_S - 0.1
    assert j.due() is False
    clock.now = RETRY_EVERY_S
    assert j.due() is True
    assert j.start(3, {"epoch": 5, "seq": 2}) is False and j.error is not None
    monkeypatch.undo()
    assert j.start(3, {"epoch": 5, "seq": 2}) is True and j.error is None
    j.event(3, ev(3))
    j.close()
    # The events the full disk took are missing: a restart must not continue the epoch.
    with pytest.raises(JournalCorrupt) as e:
        Journal(str(tmp_path), 100).load()
    assert "to a checkpoint at 2" in str(e.value)


def test_a_short_write_leaves_no_half_record_in_the_segment(tmp_path, monkeypatch):
    j = Journal(str(tmp_path), 100)
    j.lock()
    j.start(1, {"epoch": 5, "seq": 0})
    j.event(1, ev(1))
    real_write = os.write
    monkeypatch.setattr(journal_mod.os, "write", lambda fd, data: real_write(fd, data[:10]))
    j.event(2, ev(2))
    monkeypatch.undo()
    assert "short write (10 of" in j.error
    with open(tmp_path / segs(tmp_path)[0], "rb") as f:
        assert f.read() == _line(b"H", b'{"epoch":5,"seq":0}') + _line(b"E", b"1 " + ev(1))
    j.close()


def test_segments_roll_on_event_bytes_only_however_big_the_checkpoint(tmp_path):
    j = Journal(str(tmp_path), 100, segment_bytes=1000)
    j.lock()
    j.start(1, {"epoch": 5, "seq": 0, "cursors": {"S%d" % i: [i, 1] for i in range(500)}})
    assert j.due() is False
    for seq in range(1, 30):
        j.event(seq, ev(seq))
    assert j.due() is True
    j.close()


def test_past_its_budget_the_journal_drops_its_oldest_segments_but_never_the_open_one(tmp_path):
    j = Journal(str(tmp_path), 10 ** 6, segment_bytes=10 ** 9, budget_bytes=3000)
    j.lock()
    seq = 0
    for first in range(5):
        j.start(seq + 1, {"epoch": 5, "seq": seq})
        for _i in range(20):
            seq += 1
            j.event(seq, ev(seq))
        j.drop_older_than(1)
    assert j.total_bytes() <= 3000 + 2000 and len(segs(tmp_path)) < 5 and segs(tmp_path)[-1] == j.segments[-1][1]
    j.close()


def test_a_torn_tail_is_cut_off_the_file_so_the_second_restart_keeps_the_epoch_too(tmp_path):
    j = Journal(str(tmp_path), 100)
    j.lock()
    j.start(1, {"epoch": 5, "seq": 0})
    for seq in (1, 2):
        j.event(seq, ev(seq))
    j.close()
    name = tmp_path / segs(tmp_path)[0]
    whole = name.read_bytes()
    with open(name, "ab") as f:
        f.write(_line(b"E", b"3 " + ev(3))[:-9])
    first = Journal(str(tmp_path), 100)
    first.lock()
    loaded = first.load()
    assert loaded.epoch == 5 and loaded.last_seq == 2 and name.read_bytes() == whole and first.torn > 0
    first.start(3, {"epoch": 5, "seq": 2})
    first.event(3, ev(3))
    first.close()
    second = Journal(str(tmp_path), 100)
    second.lock()
    assert second.load().last_seq == 3
    second.close()


@pytest.mark.parametrize("damaged", [0, 1, 2])
def test_a_flipped_bit_in_any_segment_is_corruption_that_keeps_the_cursors_before_it(tmp_path, damaged):
    j = Journal(str(tmp_path), 100)
    j.lock()
    seq = 0
    for n in range(3):
        j.start(seq + 1, {"epoch": 5, "seq": seq, "cursors": {"EURUSD": [100 * n, 1]}})
        for _i in range(3):
            seq += 1
            j.event(seq, ev(seq, msc=1000 + seq))
    j.close()
    name = tmp_path / segs(tmp_path)[damaged]
    data = bytearray(name.read_bytes())
    at = data.index(b" E ") + 1 + data[data.index(b" E "):].index(b"\n") + 15  # inside the segment's 2nd event
    data[at] ^= 0x04
    name.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt) as e:
        Journal(str(tmp_path), 100).load()
    good = 3 * damaged + 1  # the events before the damaged one
    assert str(e.value).startswith("segment %d line 3" % (damaged + 1))
    assert e.value.cursors == {"EURUSD": [1000 + good, 1]}


def test_an_old_journal_with_order_state_in_its_checkpoint_is_still_read(tmp_path):
    j = Journal(str(tmp_path), 100)
    j.lock()
    j.start(1, {"epoch": 5, "seq": 0, "replies": [["a", ["fp", {"ok": True}]]], "intents": ["b"]})
    j.close()
    with open(tmp_path / segs(tmp_path)[0], "ab") as f:
        f.write(_line(b"I", json.dumps("c").encode()) + _line(b"R", b'["b",["fp2",{"ok":false}]]'))
    loaded = Journal(str(tmp_path), 100).load()
    assert loaded.replies == {"a": ["fp", {"ok": True}], "b": ["fp2", {"ok": False}]} and loaded.intents == ["c"]
