"""A short version of `make chaos` in `make test`: every fault with 5 s holds at 5 000 ticks/s,
then the zero-loss audit (no silent loss, no duplicates, HUB agrees, nexus healthy)."""
import os
import subprocess
import sys

import pytest

from support.lab import ROOT

pytestmark = pytest.mark.lab


def test_quick_fault_suite_loses_nothing(mesh):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "chaos", "run_chaos.py"), "--quick", "--no-report"],
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "CHAOS PASSED" in proc.stdout
