"""The mitogen opt-in (make demo MITOGEN=1, docs/operations-speed.md) keeps working: a converged
establish with the mitogen_linear strategy changes nothing and reaches FULL MESH, and its check
mode changes nothing either. Lab hosts only."""
import pytest

from support import lab

pytestmark = pytest.mark.lab


def test_converged_establish_on_mitogen_changes_nothing_in_both_real_and_check_mode(mesh):
    env = lab.mitogen_env()
    real = lab.playbook("establish_mesh.yml", env=env)
    assert real.returncode == 0, real.stdout[-3000:] + real.stderr[-2000:]
    assert lab.recap(real.stdout) == (0, 0), real.stdout[-3000:]
    assert real.stdout.rstrip().endswith("FULL MESH CONNECTED & OPERATIONAL")
    check = lab.playbook("establish_mesh.yml", "--check", env=env)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    assert lab.recap(check.stdout) == (0, 0), check.stdout[-3000:]
