"""Nexus parts on plain data: the health decision (assess) and the spool's durability."""
import json
import os
import signal
import subprocess
import sys

import pytest

from mt5mesh.nexus.assess import assess, lag_of
from mt5mesh.nexus.spool import Spool, SpoolFull

CFG = {"heartbeat_timeout": 3.0, "max_lag": 1.0, "gap_alarm_s": 300.0}


def follow(**kw):
    f = {"state": "running", "epoch": 7, "next_seq": 11, "head": 10, "behind": 0, "batch_empty": True,
         "last_event_at": 100.0, "circuit": "closed", "last_unrecoverable_at": None, "unrecoverable": (),
         "counts": {"tick": 10, "hb": 3}}
    f.update(kw)
    return f


def write(**kw):
    w = {"postgres": "up", "redis": "up", "committed": (7, 10, 999.9), "commit_delay": 0.1, "spool_depth": 0,
         "spool_full": False, "quarantined": 0, "queue_empty": True}
    w.update(kw)
    return w


def test_everything_up_and_caught_up_is_healthy():
    code, body = assess(CFG, follow(), write(), {"hub": "up"}, now=101.0, wall=1000.0)
    assert code == 200 and body["state"] == "healthy" and body["problems"] == []
    assert body["last_seq"] == 10 and body["lag_s"] == 0.1 and body["stores"]["hub"] == "up"


@pytest.mark.parametrize("f,w,hub,needle", [
    (follow(state="waiting_gateway"), write(), None, "waiting_gateway"),
    (follow(), write(postgres="down"), None, "postgres down"),
    (follow(), write(redis="down"), None, "redis down"),
    (follow(), write(), {"hub": "down"}, "hub down"),
    (follow(), write(spool_full=True), None, "spool full"),
    (follow(last_event_at=95.9), write(), None, "no gateway event for 4.1s"),
    (follow(circuit="open"), write(), None, "gateway circuit open"),
    (follow(head=5), write(committed=None, commit_delay=None), None, "catching up"),
    (follow(), write(commit_delay=1.5), None, "lag 1.500s over 1.000s"),
    (follow(last_unrecoverable_at=50.0, unrecoverable=({"epoch": 7, "from_seq": 3, "to_seq": 4},)), write(), None,
     "unrecoverable gap: 3-4 in epoch 7"),
])
def test_each_problem_degrades_and_is_named(f, w, hub, needle):
    code, body = assess(CFG, f, w, hub, now=100.0, wall=1000.0)
    assert code == 503 and body["state"] == "degraded" and any(needle in p for p in body["problems"]), body


def test_silence_exactly_at_the_timeout_is_not_yet_a_problem():
    assert assess(CFG, follow(last_event_at=97.0), write(), None, now=100.0, wall=0)[0] == 200


def test_an_old_gap_alarm_expires():
    f = follow(last_unrecoverable_at=100.0 - 300.0, unrecoverable=({"epoch": 7, "from_seq": 3, "to_seq": 4},))
    assert assess(CFG, f, write(), None, now=100.0, wall=0)[0] == 200


def test_lag_while_behind_counts_the_age_of_the_last_commit():
    assert lag_of(follow(behind=5), write(commit_delay=0.1, committed=(7, 10, 990.0)), wall=1000.0) == 10.0
    assert lag_of(follow(), write(commit_delay=0.1), wall=1000.0) == 0.1
    assert lag_of(follow(batch_empty=False), write(commit_delay=0.1, committed=(7, 10, 999.5)), wall=1000.0) == 0.5
    assert lag_of(follow(), write(committed=None), wall=1000.0) is None


ROWS_E1 = [(1, 5, "EURUSD", 1.0, 1.1, 1.2), (1, 6, "EURUSD", 1.0, 1.1, 1.2)]
ROWS_E2 = [(2, 1, "EURUSD", 1.0, 1.1, 1.2)]


def test_spool_returns_batches_oldest_epoch_first_with_their_own_rows(tmp_path):
    spool = Spool(str(tmp_path), 10 ** 6)
    spool.append(ROWS_E2)
    spool.append(ROWS_E1)
    name, rows = spool.oldest()
    assert rows == ROWS_E1 and name == Spool.name_for(ROWS_E1)
    spool.remove(name)
    assert spool.oldest() == (Spool.name_for(ROWS_E2), ROWS_E2) and spool.depth == 1


def test_spool_counters_match_the_disk_after_reopen(tmp_path):
    spool = Spool(str(tmp_path), 10 ** 6)
    spool.append(ROWS_E1)
    spool.append(ROWS_E2)
    on_disk = sum(os.path.getsize(os.path.join(str(tmp_path), n)) for n in os.listdir(str(tmp_path)))
    again = Spool(str(tmp_path), 10 ** 6)
    assert spool.bytes == again.bytes == on_disk and spool.depth == again.depth == 2


def test_a_batch_that_exactly_fills_the_limit_fits_one_byte_more_does_not(tmp_path):
    size = len(json.dumps([["tick"] + list(r) for r in ROWS_E1], separators=(",", ":")).encode())
    Spool(str(tmp_path / "a"), size).append(ROWS_E1)
    with pytest.raises(SpoolFull):
        Spool(str(tmp_path / "b"), size - 1).append(ROWS_E1)


def test_sigkill_during_spool_writes_leaves_a_readable_spool_without_loss_or_doubles(tmp_path):
    """A child appends numbered batches until it is SIGKILLed mid-stream; the spool reopened
    afterwards holds whole batches only, each once, numbered without holes."""
    code = ("import sys\nsys.path[:0] = %r\nfrom mt5mesh.nexus.spool import Spool\n"
            "s = Spool(%r, 10**9)\nfor i in range(1, 100000):\n"
            "    s.append([(1, i * 100 + j, 'EURUSD', 1.0, 1.1, 1.2) for j in range(100)])\n"
            "    print(i, flush=True)\n") % (sys.path, str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    for _i in range(30):
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    spool = Spool(str(tmp_path), 10 ** 9)
    seen = []
    while True:
        oldest = spool.oldest()
        if oldest is None:
            break
        name, rows = oldest
        assert len(rows) == 100
        seen.append(rows[0][1] // 100)
        spool.remove(name)
    assert len(seen) >= 30 and seen == list(range(1, len(seen) + 1))
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(".tmp")]
