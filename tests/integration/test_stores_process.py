"""nexus's stores (writer and hub) in their own process, as real processes against real
PostgreSQL and Redis on loopback: what each side does when the other one stops or dies."""
import os
import signal
import time
import urllib.request

from support.servers import healthz, nexus_args, wait_until

from test_runtime import assert_no_loss, committed, start_pair, wait_caught_up


def stores_pid(nexus_pid):
    """The stores process: the child of nexus that multiprocessing spawned (not its resource
    tracker)."""
    with open("/proc/%d/task/%d/children" % (nexus_pid, nexus_pid)) as f:
        children = [int(p) for p in f.read().split()]
    found = []
    for pid in children:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"spawn_main" in f.read():
                found.append(pid)
    assert len(found) == 1, "children of nexus %d: %r" % (nexus_pid, children)
    return found[0]


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split()[2] == "Z"


def metric(health, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % health, timeout=2) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def test_stores_run_in_their_own_process_and_their_metrics_reach_the_parent(stack):
    pg = stack[0]
    gw, nx, rep, pub, health = start_pair(stack, rate=2000)
    wait_until(lambda: healthz(health).get("state") == "healthy", 60, "nexus healthy")
    child = stores_pid(nx.proc.pid)
    assert child != nx.proc.pid
    wait_caught_up(pg, rep, health)
    wait_until(lambda: (metric(health, "nexus_ticks_committed_total") or 0) >= committed(pg) - 2000, 5,
               "the committed counter follows the stores process")
    for store in ("postgres", "hub"):
        wait_until(lambda: metric(health, 'nexus_store_up{store="%s"}' % store) == 1.0, 5, "%s up in /metrics" % store)
    assert healthz(health)["last_seq"] > 0


def test_sigterm_to_the_stores_process_alone_is_ignored_until_nexus_stops(stack):
    # systemd signals every process of the unit; the stores process must still write the last batch.
    pg = stack[0]
    gw, nx, rep, pub, health = start_pair(stack, rate=2000)
    wait_until(lambda: committed(pg) > 1000, 60, "ticks flowing")
    child = stores_pid(nx.proc.pid)
    os.kill(child, signal.SIGTERM)
    time.sleep(1.0)
    assert not gone(child)
    before = committed(pg)
    wait_until(lambda: committed(pg) > before, 10, "still writing after its own SIGTERM")
    assert nx.kill(signal.SIGTERM) == 0
    wait_until(lambda: gone(child), 10, "stores process gone after nexus stopped")
    assert_no_loss(pg)


def test_sigkill_of_the_stores_process_stops_nexus_with_exit_2_and_a_restart_loses_nothing(stack):
    pg, redis_server, start, tmp_path = stack
    gw, nx, rep, pub, health = start_pair(stack, rate=3000)
    wait_until(lambda: committed(pg) > 2000, 60, "ticks flowing")
    os.kill(stores_pid(nx.proc.pid), signal.SIGKILL)
    assert nx.proc.wait(15) == 2
    assert "stores process exited unexpectedly (exit code -9)" in nx.output()
    nx2 = start("mt5mesh-nexus", nexus_args(pg, redis_server, "tcp://127.0.0.1:%d" % rep,
                                            "tcp://127.0.0.1:%d" % pub, health, str(tmp_path / "spool")))
    wait_until(lambda: healthz(health).get("state") == "healthy", 60, "second nexus healthy")
    wait_caught_up(pg, rep, health)
    assert len(assert_no_loss(pg)) == 1
    assert nx2.stop() == 0


def test_sigkill_of_nexus_leaves_no_stores_process_behind(stack):
    pg = stack[0]
    gw, nx, rep, pub, health = start_pair(stack, rate=2000)
    wait_until(lambda: committed(pg) > 1000, 60, "ticks flowing")
    child = stores_pid(nx.proc.pid)
    nx.kill(signal.SIGKILL)
    try:
        wait_until(lambda: gone(child), 5, "the orphaned stores process exits by itself")
    finally:
        if not gone(child):
            os.kill(child, signal.SIGKILL)  # never leave it running after a failure
