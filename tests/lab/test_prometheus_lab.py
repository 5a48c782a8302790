"""A real Prometheus (the controller's Debian binary) scrapes the lab's gateway and nexus with the
config the mesh_monitoring role writes: every dashboard query returns data, and GatewayDown fires
within a minute of the gateway stopping and clears after remediation. Prometheus runs in INF's
network namespace (it reaches nexus on INF's loopback and the gateway on the lab network); it
is stopped at the end, and every wait is bounded."""
import json
import os
import shutil
import subprocess
import time
import urllib.parse

import pytest

from support import lab

pytestmark = pytest.mark.lab
NETNS = "mt5-inf"
API = "http://127.0.0.1:19090"


def api(path, **params):
    url = API + path + ("?" + urllib.parse.urlencode(params) if params else "")
    code = "import urllib.request,sys;sys.stdout.write(urllib.request.urlopen(%r,timeout=5).read().decode())" % url
    out = subprocess.run(["ip", "netns", "exec", NETNS, "python3", "-c", code], capture_output=True, text=True,
                         timeout=15, check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def firing(name):
    got = api("/api/v1/alerts") or {}
    return [a for a in got.get("data", {}).get("alerts", []) if a["labels"].get("alertname") == name and a["state"] == "firing"]


@pytest.fixture
def prometheus(mesh, tmp_path):
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus is not installed: make setup installs the Debian package")
    conf = tmp_path / "prometheus"
    deploy = lab.playbook("monitoring.yml", "-e", "mesh_monitoring_hosts=localhost", "-e", "ansible_connection=local",
                          "-e", "mesh_monitoring_config_dir=%s" % conf, "-e", "mesh_monitoring_manage_service=false",
                          "-e", "mesh_monitoring_manage_config=true",
                          "-e", '{"mesh_monitoring_nexus_targets": ["127.0.0.1:9110"]}')
    assert deploy.returncode == 0, deploy.stdout[-3000:]
    proc = subprocess.Popen(["ip", "netns", "exec", NETNS, "prometheus", "--config.file=%s" % (conf / "prometheus.yml"),
                             "--storage.tsdb.path=%s" % (tmp_path / "data"), "--web.listen-address=127.0.0.1:19090"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
    try:
        assert lab.wait(lambda: (api("/api/v1/query", query='up{job="mt5mesh-gateway"} == 1') or {})
                        .get("data", {}).get("result"), 60), (tmp_path / "prometheus.log").read_text()[-2000:]
        yield
    finally:
        proc.terminate()
        proc.wait(20)


def test_every_dashboard_query_returns_data_from_the_lab(prometheus):
    with open(os.path.join(lab.ROOT, "monitoring", "grafana", "mt5mesh-dashboard.json")) as f:
        exprs = [t["expr"] for p in json.load(f)["panels"] for t in p["targets"]]
    time.sleep(12)  # two scrapes, so rate() has two points
    empty = [e for e in exprs if not (api("/api/v1/query", query=e) or {}).get("data", {}).get("result")]
    assert empty == []


def test_gateway_down_fires_within_a_minute_and_clears_after_remediation(prometheus):
    lab.sh("gtw", "systemctl stop mt5mesh-gateway")
    stopped = time.monotonic()
    try:
        assert lab.wait(lambda: firing("GatewayDown"), 60), "GatewayDown did not fire within 60 s"
        fired_after = time.monotonic() - stopped
    finally:
        fixed = lab.playbook("remediate_gateway.yml")
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    assert lab.wait(lambda: not firing("GatewayDown"), 60), "GatewayDown still firing 60 s after remediation"
    assert fired_after < 60
