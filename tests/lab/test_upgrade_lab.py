"""A single-gateway lab from before several gateways upgrades in place by running
establish_mesh.yml: the old mt5mesh-nexus.service gives way to mt5mesh-nexus@gtw, its tables are
migrated with every row kept (they become gtw's), and the stream has no tick lost or doubled
across the upgrade. The "before" is this repository at BEFORE, deployed with its own playbook."""
import os
import subprocess
import tempfile

from support import lab

# The last commit with one nexus (mt5mesh-nexus.service, tables keyed by (epoch, seq)).
BEFORE = "7c3d2f786038c020f1e0fd89e5732004548d9dc5"


def old_tree(dest):
    if subprocess.run(["git", "-C", lab.ROOT, "cat-file", "-e", BEFORE + "^{commit}"], check=False).returncode != 0:
        # A shallow clone: fetch that one commit from where this clone came from.
        subprocess.run(["git", "-C", lab.ROOT, "fetch", "-q", "--depth=1", "origin", BEFORE], check=False, timeout=120)
    archive = subprocess.run(["git", "-C", lab.ROOT, "archive", BEFORE], capture_output=True, check=False)
    assert archive.returncode == 0, "this test needs the repository history (commit %s): %s" % (
        BEFORE, archive.stderr.decode()[-500:])
    subprocess.run(["tar", "-x", "-C", dest], input=archive.stdout, check=True)


def old_playbook(tree, name):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(tree, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               PATH=lab.VENV_BIN + ":" + os.environ.get("PATH", ""))
    env.pop("LAB_GATEWAYS", None)
    return subprocess.run([os.path.join(lab.VENV_BIN, "ansible-playbook"), os.path.join(tree, "playbooks", name)],
                          capture_output=True, text=True, cwd=tree, env=env, timeout=900, check=False)


def reset_to_before():
    """INF and HUB as a mesh that never had several gateways: no nexus instance, no tables; and a
    gateway with a fresh journal, so its new epoch starts at seq 1 and INF can hold all of it."""
    lab.sh("gtw", "systemctl stop mt5mesh-gateway; rm -rf /var/lib/mt5mesh-gateway/*")
    lab.sh("inf", "systemctl stop 'mt5mesh-nexus@*' mt5mesh-nexus.service; "
                  "rm -rf /etc/systemd/system/multi-user.target.wants/mt5mesh-nexus* "
                  "/etc/systemd/system/mt5mesh-nexus@.service /etc/systemd/system/mt5mesh-nexus@.service.d "
                  "/etc/mt5mesh/nexus-*.yml /var/lib/mt5mesh-nexus; systemctl daemon-reload; systemctl reset-failed")
    for host, db in (("inf", "mt5_crs"), ("hub", "mt5_features")):
        lab.sh(host, "runuser -u postgres -- psql -d %s -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public "
                     "AUTHORIZATION trader'" % db)


def test_single_gateway_mesh_upgrades_in_place_with_no_tick_lost_or_doubled(mesh):
    with tempfile.TemporaryDirectory() as tree:
        old_tree(tree)
        reset_to_before()
        before = old_playbook(tree, "establish_mesh.yml")
        assert before.returncode == 0 and "FULL MESH CONNECTED & OPERATIONAL" in before.stdout, before.stdout[-3000:]
    assert lab.sh("inf", "systemctl is-active mt5mesh-nexus.service", check=False).stdout.strip() == "active"
    assert "gateway" not in lab.psql("inf", "mt5_crs", "SELECT column_name FROM information_schema.columns "
                                                       "WHERE table_name = 'ticks'").split()
    assert lab.wait(lambda: int(lab.psql("inf", "mt5_crs", "SELECT count(*) FROM ticks") or 0) > 200, 30)
    old_rows = int(lab.psql("inf", "mt5_crs", "SELECT count(*) FROM ticks"))
    # The old nexus started on empty tables: what the gateway's ring no longer held then is recorded
    # as lost before the upgrade. Nothing may be lost from here on.
    mark = int(lab.psql("inf", "mt5_crs", "SELECT coalesce(max(id), 0) FROM nexus_discontinuity"))

    upgrade = lab.playbook("establish_mesh.yml")
    assert upgrade.returncode == 0, upgrade.stdout[-3000:] + upgrade.stderr[-1000:]
    assert upgrade.stdout.rstrip().endswith("FULL MESH CONNECTED & OPERATIONAL"), upgrade.stdout[-1500:]

    assert lab.sh("inf", "systemctl is-active mt5mesh-nexus@gtw.service", check=False).stdout.strip() == "active"
    assert lab.sh("inf", "test -e /etc/systemd/system/mt5mesh-nexus.service", check=False).returncode == 1
    # Every row from before is kept and is gtw's; none has no gateway.
    assert int(lab.psql("inf", "mt5_crs", "SELECT count(*) FROM ticks WHERE gateway = 'gtw'")) >= old_rows
    assert lab.psql("inf", "mt5_crs", "SELECT count(*) FROM ticks WHERE gateway <> 'gtw'") == "0"
    assert lab.psql("inf", "mt5_crs", "SELECT gateway FROM nexus_checkpoint") == "gtw"
    assert lab.psql("hub", "mt5_features", "SELECT gateway FROM hub_checkpoint") == "gtw"
    # Across the stop of the old nexus and the start of the instance: the epoch is whole, and a
    # tick is never written twice.
    grown = old_rows + 500
    assert lab.wait(lambda: lab.inf_total() > grown, 30), "ticks stopped growing after the upgrade"
    epochs = lab.audit("gtw")
    assert epochs and all(e["silently_missing"] == 0 for e in epochs), epochs
    assert lab.psql("inf", "mt5_crs", "SELECT count(*) FROM nexus_discontinuity WHERE id > %d" % mark) == "0"
    assert lab.psql("inf", "mt5_crs", "SELECT count(*) FROM (SELECT epoch, seq FROM ticks WHERE gateway = 'gtw' GROUP BY 1, 2 "
                                      "HAVING count(*) > 1) d") == "0"
    again = lab.playbook("establish_mesh.yml")
    assert again.returncode == 0 and lab.recap(again.stdout) == (0, 0), again.stdout[-2000:]
