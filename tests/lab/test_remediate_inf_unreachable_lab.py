"""remediate_gateway.yml with INF out of reach (its address answers nothing): the stopped gateway is
still diagnosed and repaired from GTW, the run says INF could not be reached, the report records
it, and the run does not pass (nothing verified the gateway from INF)."""
import json
import os

from support import lab


def test_a_stopped_gateway_is_repaired_from_gtw_alone_when_inf_is_unreachable_and_the_run_says_so(mesh, tmp_path):
    # A second inventory source moves inf.lab to an address of the lab's subnet where no host
    # lives: SSH to it fails, as with a dead INF, and the lab itself stays as it is.
    override = tmp_path / "inf-unreachable.yml"
    override.write_text("all:\n  children:\n    inf:\n      hosts:\n        inf.lab:\n"
                        "          ansible_host: %s.99\n" % lab.lab_addr("inf").rsplit(".", 1)[0])
    lab.sh("gtw", "systemctl stop mt5mesh-gateway")
    try:
        proc = lab.playbook("remediate_gateway.yml", "-i", str(override))
        out = proc.stdout
        assert "INF UNREACHABLE: inf.lab could not be reached over SSH" in out, out[-3000:]
        assert "REPAIRED stopped -> healthy" in out, out[-3000:]
        assert proc.returncode != 0, "INF never verified the gateway, yet the run passed"
        with open(os.path.join(lab.ROOT, "reports", "remediation-gtw.lab.json")) as f:
            report = json.load(f)
        assert report["cause"] == "stopped" and report["after"]["cause"] == "healthy"
        assert report["inf_unreachable"] == ["inf.lab"]
        assert lab.sh("gtw", "systemctl is-active mt5mesh-gateway", check=False).stdout.strip() == "active"
    finally:
        lab.sh("gtw", "systemctl start mt5mesh-gateway", check=False)
