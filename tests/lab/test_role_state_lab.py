"""A role's desired state is said once (roles/<role>/vars/main.yml): what its check compares and
what its tasks write are the same entries, on the real lab."""
import json
import os

import pytest
import yaml

from support.lab import ROOT, playbook, recap, sh

pytestmark = pytest.mark.lab
PROBE = "/etc/mt5mesh/probe-added-to-the-data.yml"


def test_a_file_added_only_to_the_brokers_state_data_is_written_by_a_converged_establish_and_drift_is_repaired(mesh, tmp_path):
    """One entry added to ``_gateway_broker_files`` and nothing else: a converged establish
    writes it (the check saw it missing, the tasks wrote it). Declared files deleted behind the
    roles' backs (the broker's config on GTW, nexus's template unit on INF) are written again.
    The run after that changes nothing: the check and the writes agree on every entry."""
    with open(os.path.join(ROOT, "roles", "gateway_broker", "vars", "main.yml")) as f:
        files = yaml.safe_load(f)["_gateway_broker_files"]
    files.append({"path": PROBE, "template": "gateway.yml.j2", "mode": "0600", "owner": "root", "group": "root"})
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"_gateway_broker_files": files}))
    sh("gtw", "rm -f %s /etc/mt5mesh/gateway.yml" % PROBE)
    sh("inf", "rm -f /etc/systemd/system/mt5mesh-nexus@.service")
    try:
        first = playbook("establish_mesh.yml", "-e", "@%s" % extra)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
        assert sh("gtw", "stat -c '%%a %%U %%G' %s" % PROBE).stdout.split() == ["600", "root", "root"]
        assert sh("gtw", "cmp %s /etc/mt5mesh/gateway.yml" % PROBE, check=False).returncode == 0
        assert sh("inf", "test -s /etc/systemd/system/mt5mesh-nexus@.service", check=False).returncode == 0
        second = playbook("establish_mesh.yml", "-e", "@%s" % extra)
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
        assert recap(second.stdout) == (0, 0), second.stdout[-3000:]
    finally:
        sh("gtw", "rm -f %s" % PROBE)
