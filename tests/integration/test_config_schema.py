"""The roles' templates render exactly the keys the services' schemas know, with values the
schemas accept, from the role defaults; secrets with quotes or YAML syntax stay one value."""
import os
import subprocess

import pytest
import yaml

from mt5mesh.config import validate
from mt5mesh.gateway.schema import SCHEMA as GATEWAY
from mt5mesh.nexus.schema_config import SCHEMA as NEXUS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("render")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", "localhost,",
                           os.path.join(ROOT, "tests", "integration", "playbooks", "render_configs.yml"),
                           "-e", "render_dir=%s" % out,
                           "-e", "ansible_python_interpreter=%s" % os.path.join(ROOT, ".venv", "bin", "python")],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return out


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def test_gateway_template_renders_a_config_the_gateway_schema_accepts(rendered):
    cfg = validate(GATEWAY, load(rendered / "gateway.yml"))
    assert cfg.rep == "tcp://10.0.0.12:5555" and cfg.source == "synthetic"


def test_nexus_template_renders_a_config_the_nexus_schema_accepts(rendered):
    cfg = validate(NEXUS, load(rendered / "nexus.yml"))
    assert cfg.gateway_req == "tcp://10.0.0.12:5555" and cfg.hub_pg_host == "10.0.0.13"
    assert (cfg.gateway, cfg.health_listen, cfg.xpub, cfg.spool_dir) == (
        "gtw2", "127.0.0.1:9111", "tcp://127.0.0.1:5559", "/var/lib/mt5mesh-nexus/gtw2/spool")


def test_hostile_secrets_stay_one_value_and_add_no_key(rendered):
    data = load(rendered / "nexus.yml")
    assert data["pg_password"] == 'pw", rep: "tcp://0.0.0.0:5555'
    assert data["hub_pg_password"] == "a: b # c"
    assert "rep" not in data
