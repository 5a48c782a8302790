"""exit_code(): the stores process's exit code is read even when its sentinel closes before the
child can be reaped. The kernel closes a dying process's files one by one before it can be
waited for; CI read "exit code None" for a SIGKILLed stores process on a busy host. A child that
holds thousands of pipes widens that window the same way on an idle host."""
import multiprocessing
import os
import resource
import signal
import threading
import time

from mt5mesh.nexus.storeproc import exit_code

CTX = multiprocessing.get_context("fork")


def _hold_many_files_then_sleep(ready):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    fds = []
    try:
        while len(fds) < 4000:  # bounded: 8000 descriptors at most
            fds.append(os.pipe())
    except OSError:
        pass  # as many as the limit allows
    ready.set()
    time.sleep(30)


def _exit_3():
    os._exit(3)


def test_a_sigkilled_child_reads_exit_code_minus_9_every_time():
    for _attempt in range(10):
        ready = CTX.Event()
        proc = CTX.Process(target=_hold_many_files_then_sleep, args=(ready,))
        proc.start()
        assert ready.wait(10)
        os.kill(proc.pid, signal.SIGKILL)
        assert exit_code(proc, 5) == -signal.SIGKILL


class _ReapedLate:
    """A child whose sentinel is closed but which the kernel lets us reap only on the 4th look:
    the window CI hit, made certain (a pipe's read end stands in for the sentinel)."""

    def __init__(self):
        self.sentinel, self._write = os.pipe()
        os.close(self._write)
        self.looks = 0

    @property
    def exitcode(self):
        self.looks += 1
        return -signal.SIGKILL if self.looks >= 4 else None


def test_a_child_reaped_after_its_sentinel_closed_still_reads_exit_code_minus_9():
    proc = _ReapedLate()
    try:
        started = time.monotonic()
        # Within 2 s, and soon: the look is repeated every few milliseconds, and ends once it reads a code.
        assert exit_code(proc, 2) == -signal.SIGKILL
        assert time.monotonic() - started < 1
    finally:
        os.close(proc.sentinel)


def test_a_child_that_exits_by_itself_reads_its_own_code():
    proc = CTX.Process(target=_exit_3)
    proc.start()
    assert exit_code(proc, 2) == 3


def test_a_running_child_reads_none_after_the_timeout_not_before():
    ready = CTX.Event()
    proc = CTX.Process(target=_hold_many_files_then_sleep, args=(ready,))
    proc.start()
    try:
        started, read = time.monotonic(), []
        reader = threading.Thread(target=lambda: read.append(exit_code(proc, 0.3)), daemon=True)
        reader.start()
        reader.join(3)  # bounded: a wait without the timeout would last as long as the child
        assert read == [None]
        assert time.monotonic() - started >= 0.3
    finally:
        proc.kill()
        proc.join(5)
