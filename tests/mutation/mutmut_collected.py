"""`mutmut run`, with each mutant's tests taken from one pytest collection made before the first fork.

mutmut (3.8, fork mode) runs every mutant as `pytest.main([...its tests])` in a forked child: the
child configures pytest and collects the test files again before it runs a test. Profiled on
trading.py's mutants, that was 90% of a killed mutant's 0.16 s (configure 0.04 s, collection
0.08 s, the failing test 0.01 s), and mutation was half of `make test`'s CPU.

Here the parent configures pytest and collects tests/unit and tests/runtime once, just before
mutmut forks its first mutant (ForkRunner.startup). A child runs its tests through pytest's own
`pytest_runtest_protocol` hook on those items, so fixtures, marks, warnings filters, xfail and
teardown behave as in a pytest run, and stops at its first failed report, as `-x` does. Everything
before the mutants (mutmut's stats, clean and forced-fail runs) is unchanged, and a test mutmut
names that the collection does not hold falls back to mutmut's own `pytest.main` for that mutant.

Output capture is off for the kept session (`-s`): pytest's global capture would otherwise hold the
parent's stdout, where mutmut prints its progress; a child's output goes to /dev/null anyway, and
the capsys/capfd fixtures still work.

Usage: python tests/mutation/mutmut_collected.py run [--max-children N] [MUTANT ...]
"""
import os
import sys
from datetime import datetime

from mutmut.__main__ import cli
from mutmut.configuration import config
from mutmut.runners.harness import PytestRunner
from mutmut.workers.isolation import ForkRunner, MutantResult

_kept = {}  # "items": nodeid -> pytest Item, "failed": [bool], "dir": the mutants directory


class _Failures:
    """Records whether any report of the running child failed (setup, call or teardown)."""

    @staticmethod
    def pytest_runtest_logreport(report):
        if report.failed:
            _kept["failed"][0] = True


def _collect():
    """Configure pytest and collect once, in mutmut's process; the items are inherited by every fork."""
    from _pytest.config import _prepareconfig  # pylint: disable=import-outside-toplevel
    from _pytest.main import Session  # pylint: disable=import-outside-toplevel

    cfg = config()
    args = (["--rootdir=.", "--tb=native", "-q", "-s", "-p", "no:randomly", "-p", "no:random-order"]
            + list(cfg.pytest_add_cli_args_test_selection) + list(cfg.pytest_add_cli_args))
    here = os.getcwd()
    os.chdir("mutants")
    try:
        pyconfig = _prepareconfig(args, plugins=[_Failures()])
        session = Session.from_config(pyconfig)
        pyconfig._do_configure()  # pylint: disable=protected-access
        pyconfig.hook.pytest_sessionstart(session=session)
        session.perform_collect()
        _kept.update(items={item.nodeid: item for item in session.items}, failed=[False],
                     dir=os.path.abspath("."))
    finally:
        os.chdir(here)
    print("    mutmut_collected: %d tests collected once for every mutant" % len(_kept["items"]))


_startup = ForkRunner.startup
_run_tests = PytestRunner.run_tests
_wait_for_result = ForkRunner.wait_for_result


def startup(self):
    _collect()
    _startup(self)


def run_tests(self, *, mutant_name, tests):
    """In a mutant's child: its tests from the kept collection, stopping at the first failure."""
    items = _kept.get("items")
    tests = list(tests)
    if mutant_name is None or items is None or not tests or any(t not in items for t in tests):
        return _run_tests(self, mutant_name=mutant_name, tests=tests)
    os.chdir(_kept["dir"])
    chosen = [items[t] for t in tests]
    for i, item in enumerate(chosen):
        nextitem = chosen[i + 1] if i + 1 < len(chosen) else None
        item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if _kept["failed"][0]:
            # Killed. The child exits now: no teardown of what the next test would have used,
            # which could only hang on a mutant and end as a timeout, the same verdict.
            return 1
    return 0


def wait_for_result(self, timeout=None):
    """mutmut's wait, skipping children that are not mutants. mutmut's stats and clean runs run
    tests in this process; a process one of them started and left (a server's child, a
    multiprocessing worker) can end during the mutant phase, and mutmut's os.wait() then reaps a
    pid it does not know (KeyError, the whole run lost). Such a pid is reaped here and ignored."""
    while not self._no_tests_results:  # pylint: disable=protected-access
        pid, status = os.wait()
        if pid in self._running:  # pylint: disable=protected-access
            worker = self._running.pop(pid)  # pylint: disable=protected-access
            duration = (datetime.now() - worker.start_time).total_seconds()
            return MutantResult(mutant_name=worker.mutant_name, exit_code=os.waitstatus_to_exitcode(status),
                                duration=duration)
        print("    mutmut_collected: reaped pid %d, not a mutant (a test's leftover process)" % pid)
    return _wait_for_result(self, timeout)


ForkRunner.startup = startup
ForkRunner.wait_for_result = wait_for_result
PytestRunner.run_tests = run_tests

if __name__ == "__main__":
    sys.argv[0] = "mutmut"
    cli()  # pylint: disable=no-value-for-parameter
