"""A stranger's inventory: a playbook run where the mesh's groups are missing fails at once, naming
each missing group, instead of passing after checking nothing. Runs on localhost only."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def play(tmp_path, playbook, inventory, *extra):
    hosts = tmp_path / "hosts.ini"
    hosts.write_text(inventory)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", str(hosts),
                           os.path.join(ROOT, "playbooks", playbook)] + list(extra),
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("playbook, inventory, message", [
    ("verify_mesh.yml", "[workers]\nw1 ansible_host=192.0.2.1\n",
     "verify_mesh: the inventory has no host in group 'inf' (it needs inf; groups in this inventory: workers)"),
    ("establish_mesh.yml", "[inf]\ni1 ansible_host=192.0.2.1\n[gtw]\n",
     "establish_mesh: the inventory has no host in group 'gtw', 'hub' (it needs inf, gtw, hub; groups in this "
     "inventory: gtw, inf)"),
    ("remediate_gateway.yml", "[gateways]\ng1 ansible_host=192.0.2.1\n",
     "remediate_gateway: the inventory has no host in group 'gtw' (it needs gtw; groups in this inventory: gateways)"),
])
def test_a_playbook_on_an_inventory_without_its_groups_exits_nonzero_naming_them(tmp_path, playbook, inventory, message):
    rc, out = play(tmp_path, playbook, inventory)
    assert rc == 2 and message in out and "Nothing was checked or changed." in out, out[-3000:]
    recap = out.split("PLAY RECAP")[-1]
    assert "localhost" in recap and not any(h in recap for h in ("w1", "i1", "g1"))  # no inventory host was run


def test_zmq_ping_of_a_healthy_gateway_reports_no_socket_reset(tmp_path):
    import zmq  # pylint: disable=import-outside-toplevel
    from ansible_collections.mt5crs.mesh.plugins.module_utils import gateway_probes  # pylint: disable=import-outside-toplevel
    from support.servers import Service, free_port, gateway_args, wait_until  # pylint: disable=import-outside-toplevel
    rep, pub = free_port(), free_port()
    gw = Service("mt5mesh-gateway", gateway_args(rep, pub), str(tmp_path))
    try:
        wait_until(lambda: gateway_probes.zmq_ping(zmq, "127.0.0.1", rep, timeout=0.5)["ok"], 15, "gateway ping")
        for _i in range(3):
            got = gateway_probes.zmq_ping(zmq, "127.0.0.1", rep, timeout=1.0, retries=2)
            assert got["ok"] and got["socket_resets"] == 0, got
    finally:
        gw.stop()
