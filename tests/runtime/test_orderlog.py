"""The order log (the exactly-once record): its records, load, torn tail, damage, compaction and
retention by time, on plain data and on real files. Property tests run the load/compact/damage
cycle on random histories."""
import errno
import os
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from mt5mesh.gateway import orderlog
from mt5mesh.gateway.orderlog import LOG, SNAPSHOT, OrderLog, OrderLogDamaged, OrderLogError, State, parse, record
from support.orderlogs import Clock, opened


def test_a_record_is_its_crc32_a_space_the_type_and_sorted_compact_json():
    assert record(b"I", ["k", 1.5]) == b"%08x I [\"k\",1.5]\n" % zlib.crc32(b'I ["k",1.5]')
    assert record(b"S", {"salt": "ab", "a": 1}) == b"%08x S {\"a\":1,\"salt\":\"ab\"}\n" % zlib.crc32(b'S {"a":1,"salt":"ab"}')


@pytest.mark.parametrize("line", [b"", b"short\n", record(b"I", ["k", 1])[:-1], record(b"I", ["k", 1])[:-3] + b"]\n",
                                  b"zzzzzzzz I [\"k\",1]\n", b"%08x I {\n" % zlib.crc32(b"I {")])
def test_parse_refuses_a_torn_altered_or_non_json_line(line):
    assert parse(line) is None


def test_parse_reads_back_a_record():
    assert parse(record(b"R", ["k", "fp", {"ok": True}, 2.0])) == (b"R", ["k", "fp", {"ok": True}, 2.0])


def test_a_new_log_writes_a_snapshot_with_its_salt_and_reopens_to_the_same_salt(tmp_path):
    log = opened(tmp_path)
    salt = log.state.salt
    assert len(salt) == 32 and (tmp_path / SNAPSHOT).read_bytes() == record(b"S", {"salt": salt})
    log.close()
    again = opened(tmp_path)
    assert again.state.salt == salt and again.ref("k") == log.ref("k") and len(log.ref("k")) == 16
    assert again.ref("k") != again.ref("k2")


def test_intent_then_reply_survive_a_reopen_and_a_reply_clears_its_intent(tmp_path):
    clock = Clock()
    log = opened(tmp_path, clock)
    log.intent("a")
    log.intent("b")
    log.reply("a", "fp", {"ok": True})
    log.close()
    again = opened(tmp_path, clock)
    assert again.reply_of("a") == ["fp", {"ok": True}] and again.has_intent("b") and not again.has_intent("a")
    assert again.reply_of("b") is None


def test_replies_are_kept_by_time_never_by_count(tmp_path):
    clock = Clock()
    log = opened(tmp_path, clock, retention_s=86400)
    log.reply("first", "fp", {"ok": True})
    for i in range(10050):
        log.state.replies["other-%d" % i] = ["fp", {}, clock.now]
    log.maintain()
    assert log.reply_of("first") == ["fp", {"ok": True}]
    clock.now += 86399
    log.maintain()
    assert log.reply_of("first") is not None
    clock.now += 2
    log.maintain()
    assert log.reply_of("first") is None and len(log.state.replies) == 0


def test_a_torn_last_line_is_cut_off_the_file_at_load_and_the_next_load_is_clean(tmp_path):
    log = opened(tmp_path)
    log.reply("a", "fp", {"ok": True})
    log.close()
    whole = (tmp_path / LOG).read_bytes()
    with open(tmp_path / LOG, "ab") as f:
        f.write(record(b"R", ["b", "fp", {}, 1.0])[:-5])
    again = opened(tmp_path)
    assert again.torn == len(record(b"R", ["b", "fp", {}, 1.0])) - 5 and (tmp_path / LOG).read_bytes() == whole
    again.intent("c")
    again.close()
    third = opened(tmp_path)
    assert third.torn == 0 and third.has_intent("c") and third.reply_of("a") is not None and third.damaged is None


def test_a_bad_line_before_the_last_is_damage_that_names_the_file_and_line_and_stays(tmp_path):
    log = opened(tmp_path)
    log.intent("a")
    log.reply("a", "fp", {"ok": True})
    log.close()
    data = bytearray((tmp_path / LOG).read_bytes())
    data[12] ^= 0x01
    (tmp_path / LOG).write_bytes(bytes(data))
    damaged = OrderLog(str(tmp_path))
    with pytest.raises(OrderLogDamaged) as e:
        damaged.load()
    assert str(e.value) == "orders.log line 1 fails its checksum" and damaged.damaged == str(e.value)
    assert damaged.healthy() is False
    with pytest.raises(OrderLogError):
        damaged.intent("b")


def test_any_bad_line_in_the_snapshot_is_damage(tmp_path):
    log = opened(tmp_path)
    log.reply("a", "fp", {"ok": True})
    log.compact()
    log.close()
    data = (tmp_path / SNAPSHOT).read_bytes()
    (tmp_path / SNAPSHOT).write_bytes(data[:-2] + b"\n")
    with pytest.raises(OrderLogDamaged) as e:
        OrderLog(str(tmp_path)).load()
    assert str(e.value) == "orders.snap line 2 fails its checksum"


def test_a_log_without_its_snapshot_is_damage_not_a_new_log(tmp_path):
    log = opened(tmp_path)
    log.reply("a", "fp", {"ok": True})
    log.close()
    os.unlink(tmp_path / SNAPSHOT)
    with pytest.raises(OrderLogDamaged) as e:
        OrderLog(str(tmp_path)).load()
    assert "orders.snap is missing while orders.log has records" in str(e.value)


def test_compaction_writes_the_state_and_empties_the_log(tmp_path):
    log = opened(tmp_path, compact_bytes=300)
    for i in range(5):
        log.reply("k%d" % i, "fp", {"ok": True, "n": i})
    assert os.path.getsize(tmp_path / LOG) < 300
    log.close()
    again = opened(tmp_path)
    assert list(again.state.replies) == ["k0", "k1", "k2", "k3", "k4"]


def test_a_failed_write_refuses_the_intent_leaves_no_half_line_and_clears_when_writing_works(tmp_path, monkeypatch):
    log = opened(tmp_path)
    log.intent("ok-1")
    size = os.path.getsize(tmp_path / LOG)
    real_write = os.write

    def short(fd, data):
        return real_write(fd, data[:7])
    monkeypatch.setattr(orderlog.os, "write", short)
    with pytest.raises(OrderLogError) as e:
        log.intent("k")
    assert "short write (7 of" in str(e.value) and log.healthy() is False and not log.has_intent("k")
    assert os.path.getsize(tmp_path / LOG) == size

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(orderlog.os, "write", full)
    with pytest.raises(OrderLogError) as e:
        log.intent("k")
    assert str(e.value) == "order log %s: cannot write: No space left on device" % tmp_path
    monkeypatch.setattr(orderlog.os, "write", real_write)
    log.maintain()  # the retry a heartbeat makes
    assert log.healthy() is True
    log.intent("k")
    assert log.has_intent("k")


def test_a_failed_fsync_is_sticky_until_a_restart(tmp_path, monkeypatch):
    log = opened(tmp_path)

    def eio(fd):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(orderlog.os, "fsync", eio)
    with pytest.raises(OrderLogError):
        log.intent("k")
    monkeypatch.undo()
    with pytest.raises(OrderLogError) as e:
        log.intent("k2")
    assert "fsync failed" in str(e.value) and "restart the gateway" in str(e.value)
    log.maintain()
    assert log.healthy() is False


def test_an_in_memory_log_keeps_state_and_writes_nothing(tmp_path):
    log = OrderLog(None)
    assert log.load() is False
    log.intent("a")
    log.reply("a", "fp", {"ok": True})
    assert log.reply_of("a") == ["fp", {"ok": True}] and os.listdir(tmp_path) == []


def test_state_apply_refuses_an_unknown_record_type():
    with pytest.raises(ValueError):
        State().apply(b"X", [])


# --- properties: load / compact / damage on random histories ---------------------------------
OPS = st.lists(st.tuples(st.sampled_from(["intent", "reply", "compact", "reopen"]), st.integers(0, 7)), max_size=40)


def play(path, ops, model):
    """Run ``ops`` on a log in ``path`` and on the plain-data ``model``; returns the open log."""
    log = opened(path)
    for op, k in ops:
        key = "k%d" % k
        if op == "intent" and log.reply_of(key) is None:
            log.intent(key)
        elif op == "reply":
            log.reply(key, "fp", {"n": k})
        elif op == "compact":
            log.compact()
        elif op == "reopen":
            log.close()
            log = opened(path)
        model_apply(model, op, k)
    return log


def model_apply(model, op, k):
    key = "k%d" % k
    if op == "intent" and key not in model["replies"]:
        model["intents"].add(key)
    elif op == "reply":
        model["intents"].discard(key)
        model["replies"][key] = {"n": k}


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_property_whatever_the_history_a_reopen_gives_back_every_reply_and_intent(tmp_path_factory, ops):
    path = tmp_path_factory.mktemp("ol")
    model = {"replies": {}, "intents": set()}
    play(path, ops, model).close()
    again = opened(path)
    assert {k: v[1] for k, v in again.state.replies.items()} == model["replies"]
    assert set(again.state.intents) == model["intents"]


@settings(max_examples=60, deadline=None)
@given(OPS, st.data())
def test_property_damage_anywhere_is_either_a_cut_torn_tail_or_refused_never_a_silent_loss(tmp_path_factory, ops, data):
    path = tmp_path_factory.mktemp("ol")
    log = play(path, [(op, k) for op, k in ops if op != "reopen"], {"replies": {}, "intents": set()})
    before = {k: v[1] for k, v in log.state.replies.items()}, set(log.state.intents)
    log.close()
    name = data.draw(st.sampled_from([SNAPSHOT, LOG]))
    raw = bytearray((path / name).read_bytes())
    if not raw:
        return
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= 1 << data.draw(st.integers(0, 7))
    (path / name).write_bytes(bytes(raw))
    damaged = OrderLog(str(path))
    try:
        damaged.load()
    except OrderLogDamaged:
        assert damaged.damaged and not damaged.healthy()
        return
    # Loaded: only a flip in the log's last line may be taken for a torn tail, which loses just
    # that one record; everything else is exactly as written.
    after = {k: v[1] for k, v in damaged.state.replies.items()}, set(damaged.state.intents)
    if after != before:
        assert name == LOG and damaged.torn > 0
        lost_replies = set(before[0]) - set(after[0])
        assert len(lost_replies) + len(before[1] ^ after[1]) <= 2
