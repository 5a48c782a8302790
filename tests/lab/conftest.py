"""Lab tests: the real three-host lab (make lab-up) with the mesh established on it."""
import pytest

from support import lab


@pytest.fixture(scope="session")
def mesh():
    if lab.sh("inf", "true", check=False).returncode != 0:
        pytest.fail("the lab is not up: run `make lab-up` (make test does it)")
    proc = lab.playbook("establish_mesh.yml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.stdout.rstrip().endswith("FULL MESH CONNECTED & OPERATIONAL"), proc.stdout[-1500:]
    return proc
