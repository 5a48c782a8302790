"""verify_mesh.yml on the lab: all up, gateway stopped, gateway hung."""
import pytest

from support.lab import lab_addr, latest_report, playbook, sh, wait, wait_healthy

pytestmark = pytest.mark.lab
GTW_CHECKS = {"app.gtw_req", "app.gtw_sub"}


def failing_core(report):
    return {c["id"] for c in report["checks"] if not c["ok"] and not c["extended"]}


def test_all_up_is_17_of_17(mesh):
    proc = playbook("verify_mesh.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = latest_report(proc)
    assert (report["total"], report["passed"], report["rc"]) == (17, 17, 0)
    assert report["extended"]["ok"], report["failures"]
    assert report["elapsed_ms"] < 3000, "17 checks took %s ms" % report["elapsed_ms"]
    assert "TOTAL:" in proc.stdout and "17/17" in proc.stdout  # the mesh_summary callback


def test_gateway_stopped_fails_exactly_the_two_zmq_checks(mesh):
    sh("gtw", "systemctl stop mt5mesh-gateway")
    try:
        proc = playbook("verify_mesh.yml")
        report = latest_report(proc)
    finally:
        sh("gtw", "systemctl start mt5mesh-gateway")
        assert wait_healthy() is None, "the mesh did not come back after the gateway restart"
    assert proc.returncode != 0
    assert (report["total"], report["passed"], report["rc"]) == (17, 15, 1)
    assert failing_core(report) == GTW_CHECKS
    assert report["elapsed_ms"] < 5000, "checks with the broker down took %s ms" % report["elapsed_ms"]


def test_hung_gateway_fails_zmq_checks_although_tcp_accepts(mesh):
    # The broker must be serving before it is frozen (a restart by an earlier test may still be
    # reloading its journal).
    connect = "python3 -c \"import socket;socket.create_connection(('%s',5555),1);print('tcp-ok')\"" % lab_addr("gtw")
    assert wait(lambda: sh("inf", connect, check=False).returncode == 0, 30), "the gateway is not serving"
    pid = sh("gtw", "systemctl show -p MainPID --value mt5mesh-gateway").stdout.strip()
    sh("gtw", "kill -STOP %s" % pid)
    try:
        tcp = sh("inf", connect)
        proc = playbook("verify_mesh.yml")
        report = latest_report(proc)
    finally:
        sh("gtw", "kill -CONT %s" % pid)
        assert wait_healthy() is None, "the mesh did not come back after the gateway was resumed"
    assert "tcp-ok" in tcp.stdout
    assert proc.returncode != 0
    assert failing_core(report) == GTW_CHECKS and report["rc"] == 1


def test_all_vantage_gives_an_n_by_n_view(mesh):
    proc = playbook("verify_mesh.yml", "-e", "mesh_verify_all_vantage=true", "-e", "mesh_verify_fail=false")
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = latest_report(proc)
    assert set(report["vantages"]) == {"inf.lab", "gtw.lab", "hub.lab"}
    assert report["vantages"]["inf.lab"]["passed"] == 17
