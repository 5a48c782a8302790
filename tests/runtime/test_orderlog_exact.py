"""orderlog.py, exactly: every damage and write-error message, the file modes, the compaction's
files and boundaries, expiry counts and order, and the byte count the status reports."""
import errno
import os
import stat

import pytest

from mt5mesh.gateway import orderlog
from mt5mesh.gateway.orderlog import LOG, SNAPSHOT, OrderLog, OrderLogDamaged, OrderLogError, State, parse, record, replay
from support.orderlogs import Clock, opened


def damage_of(snapshot_lines, log_lines):
    with pytest.raises(OrderLogDamaged) as e:
        replay(snapshot_lines, log_lines)
    return str(e.value)


SALT = record(b"S", {"salt": "ab"})


def test_each_kind_of_damage_is_named_exactly():
    assert damage_of([SALT], [record(b"R", ["k", "fp", "not an object", 1.0]), SALT]) == \
        "orders.log line 1: reply is not an object"
    assert damage_of([SALT], [record(b"X", [1]), SALT]) == "orders.log line 1: unknown record type b'X'"
    assert damage_of([record(b"I", ["k", 1.0])], []) == "orders.snap has no salt record"
    assert damage_of([SALT, b"junk\n"], []) == "orders.snap line 2 fails its checksum"


def test_parse_needs_the_space_after_the_crc_even_when_the_crc_matches():
    line = record(b"I", ["k", 1.0])
    assert parse(line) == (b"I", ["k", 1.0])
    assert parse(line[:8] + b"x" + line[9:]) is None
    assert parse(line[:-1]) is None and parse(b"") is None


def test_a_later_reply_for_a_key_moves_it_to_the_newest_place():
    state = State("s")
    for key, t in (("a", 1.0), ("b", 2.0), ("a", 3.0)):
        state.apply(b"R", [key, "fp", {}, t])
    assert list(state.replies) == ["b", "a"]


def test_expire_counts_what_it_drops_and_keeps_what_is_exactly_at_the_boundary():
    state = State("s")
    for key, t in (("r1", 1.0), ("r2", 2.0), ("r3", 5.0)):
        state.apply(b"R", [key, "fp", {}, t])
    state.intents.update({"i1": 1.0, "i5": 5.0})
    assert state.expire(5.0) == 3
    assert list(state.replies) == ["r3"] and state.intents == {"i5": 5.0}


def test_files_are_private_and_compaction_renames_its_temporary_snapshot(tmp_path, monkeypatch):
    renames = []
    real_rename = os.rename
    monkeypatch.setattr(orderlog.os, "rename", lambda a, b: renames.append((a, b)) or real_rename(a, b))
    log = opened(tmp_path)
    log.intent("k")
    assert renames == [(str(tmp_path / "orders.snap.tmp"), str(tmp_path / SNAPSHOT))]
    for name in (SNAPSHOT, LOG):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    log.close()
    again = opened(tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / LOG).st_mode) == 0o600
    again.close()


def test_a_failed_compaction_names_its_cause_removes_its_temporary_file_and_clears_once_it_works(tmp_path, monkeypatch):
    log = opened(tmp_path)
    real_write = os.write
    monkeypatch.setattr(orderlog.os, "write", lambda fd, data: real_write(fd, data[:3]))
    with pytest.raises(OrderLogError) as e:
        log.compact()
    size = len(b"".join(log.state.lines()))
    assert str(e.value) == log.error == "order log %s: cannot compact: short write (3 of %d bytes)" % (tmp_path, size)
    assert not (tmp_path / "orders.snap.tmp").exists()
    monkeypatch.undo()
    log.compact()
    assert log.error is None and log.status()["error"] is None


def test_write_errors_name_their_cause_exactly(tmp_path, monkeypatch):
    log = opened(tmp_path)

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(orderlog.os, "write", full)
    with pytest.raises(OrderLogError) as e:
        log.intent("k")
    assert str(e.value) == "order log %s: cannot write: No space left on device" % tmp_path
    monkeypatch.undo()

    def eio(fd):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(orderlog.os, "fsync", eio)
    with pytest.raises(OrderLogError) as e:
        log.intent("k")
    assert str(e.value) == log.error == "order log %s: fsync failed: Input/output error (restart the gateway)" % tmp_path


def test_a_damaged_log_refuses_an_intent_naming_the_damage(tmp_path):
    log = OrderLog(str(tmp_path))
    log.damaged = "orders.log line 3 fails its checksum"
    with pytest.raises(OrderLogError) as e:
        log.intent("k")
    assert str(e.value) == "the order log is damaged: orders.log line 3 fails its checksum"


def test_a_log_without_its_snapshot_is_damage_named_exactly(tmp_path):
    (tmp_path / LOG).write_bytes(record(b"I", ["k", 1.0]))
    with pytest.raises(OrderLogDamaged) as e:
        OrderLog(str(tmp_path)).load()
    assert str(e.value) == "orders.snap is missing while orders.log has records"


def test_the_status_counts_the_bytes_on_disk_and_close_really_closes_once(tmp_path):
    log = opened(tmp_path)
    log.intent("a")
    log.reply("a", "fp", {"ok": True})
    assert log.status()["log_bytes"] == os.path.getsize(tmp_path / LOG) > 0
    fd = log._fd
    log.close()
    with pytest.raises(OSError):
        os.fstat(fd)
    log.close()
    again = opened(tmp_path)
    assert again.torn == 0 and again.status()["log_bytes"] == os.path.getsize(tmp_path / LOG)


def test_compaction_starts_at_exactly_compact_bytes_and_after_more_than_1000_expired(tmp_path):
    clock = Clock(10 ** 6)
    log = opened(tmp_path, clock)
    line = record(b"I", ["k0", 10 ** 6])
    log.compact_bytes = 2 * len(line)
    log.intent("k0")
    assert os.path.getsize(tmp_path / LOG) == len(line)
    log.intent("k1")  # exactly compact_bytes now: the next maintain compacts
    log.maintain()
    assert os.path.getsize(tmp_path / LOG) == 0
    log.compact_bytes = 10 ** 9
    for n in (1000, 1001):
        for i in range(n):
            log.state.replies["old-%d-%d" % (n, i)] = ["fp", {}, 0.0]
        log.intent("x%d" % n)
        log.maintain()
        assert (os.path.getsize(tmp_path / LOG) == 0) is (n == 1001)


def test_maintain_expires_against_the_time_it_is_given(tmp_path):
    clock = Clock(1000.0)
    log = opened(tmp_path, clock, retention_s=86400)
    log.reply("a", "fp", {})
    log.maintain(now=1000.0 + 86400.5)
    assert log.reply_of("a") is None


def test_an_in_memory_log_never_compacts_whatever_its_settings():
    log = OrderLog(None, compact_bytes=0)
    log.error = "standing"
    log.maintain()
    assert log.reply_of("x") is None


def test_a_reply_again_for_a_key_moves_it_to_the_newest_place(tmp_path):
    log = opened(tmp_path)
    for key in ("a", "b", "a"):
        log.reply(key, "fp", {"key": key})
    assert list(log.state.replies) == ["b", "a"]
