"""Lab tests: the real three-host lab (make lab-up) with the mesh established on it."""
import pytest

from support import lab


@pytest.fixture(scope="session")
def mesh():
    if lab.sh("inf", "true", check=False).returncode != 0:
        pytest.fail("the lab is not up: run `make lab-up` (make test does it)")
    # The lab tests are written for one gateway, and the lab inventory describes the running lab:
    # a gtw2 left booted by an interrupted multi_gateway scenario goes first.
    import subprocess
    subprocess.run(["bash", lab.ROOT + "/lab/lab.sh", "retire-gateways"], capture_output=True, timeout=120, check=False)
    proc = lab.playbook("establish_mesh.yml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.stdout.rstrip().endswith("FULL MESH CONNECTED & OPERATIONAL"), proc.stdout[-1500:]
    return proc


@pytest.fixture(autouse=True)
def healthy_before(request):
    """Every lab test that uses the mesh starts from a serving one: an earlier test may have
    restarted the gateway or nexus, and a check run while the gateway reloads its journal fails
    for that reason, not its own (running the dialect test right before the verify test did)."""
    if "mesh" not in request.fixturenames and "prometheus" not in request.fixturenames:
        return
    request.getfixturevalue("mesh")
    seen = lab.wait_healthy()
    if seen is not None:
        pytest.fail("the lab mesh is not healthy before %s: %s" % (request.node.name, seen))
