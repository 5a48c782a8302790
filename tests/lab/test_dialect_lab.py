"""verify_mesh.yml and remediate_gateway.yml against someone else's gateway: the stand-in EA
gateway (tests/support/ea_standin.py, the action dialect) binds 5555/5556 on GTW in place of
ours. Lab hosts only; the stand-in exits by itself after 300 s at most."""
import os
import shlex

import pytest

from support import lab

pytestmark = pytest.mark.lab
STANDIN = os.path.join(lab.ROOT, "tests", "support", "ea_standin.py")


def failing_core(report):
    return {c["id"] for c in report["checks"] if not c["ok"] and not c["extended"]}


def test_verify_scores_an_ea_gateway_17_of_17_and_15_when_it_is_stopped(mesh):
    gtw = lab.lab_addr("gtw")
    with open(STANDIN) as f:
        code = f.read()
    lab.sh("gtw", "systemctl stop mt5mesh-gateway")
    try:
        lab.sh("gtw", "systemd-run --unit=ea-standin --collect python3 -c %s tcp://%s:5555 tcp://%s:5556 300"
               % (shlex.quote(code), gtw, gtw))
        # The stand-in answers before the check runs (it was a fixed one-second sleep).
        assert lab.wait(lambda: lab.gateway_requests_from_inf({"action": "PING"}, timeout_ms=1000)[0], 30), \
            "the stand-in gateway does not answer"
        # The seed's 17 checks only: the extended ones ask our gateway's own commands (status,
        # trading state, the e2e seq), which an EA gateway does not have.
        up = lab.playbook("verify_mesh.yml", "-e", "gateway_dialect=action", "-e", "mesh_verify_extended=false")
        report = lab.latest_report(up)
        assert up.returncode == 0 and (report["total"], report["passed"]) == (17, 17), up.stdout[-3000:]
        lab.sh("gtw", "systemctl stop ea-standin")
        down = lab.playbook("verify_mesh.yml", "-e", "gateway_dialect=action", "-e", "mesh_verify_extended=false")
        report = lab.latest_report(down)
        assert down.returncode != 0 and (report["total"], report["passed"]) == (17, 15)
        assert failing_core(report) == {"app.gtw_req", "app.gtw_sub"}
        remedy = lab.playbook("remediate_gateway.yml", "-e", "gateway_dialect=action")
        out = remedy.stdout + remedy.stderr
        assert remedy.returncode != 0 and "not deploying mt5mesh-gateway over it" in out, out[-3000:]
        assert lab.sh("gtw", "systemctl is-active mt5mesh-gateway", check=False).stdout.strip() != "active"
    finally:
        lab.sh("gtw", "systemctl stop ea-standin", check=False)
        lab.sh("gtw", "systemctl start mt5mesh-gateway")
        # The next test meets a serving mesh, not one still reloading its journal.
        assert lab.wait_healthy() is None, "the mesh did not come back after the stand-in"
