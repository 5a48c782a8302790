"""mesh_monitoring on this machine (a local connection, a temporary config directory): by default
the operator's prometheus.yml is never touched, and the role writes only files of its own; owning
prometheus.yml is opt-in, shown in check and diff mode first, and what it writes passes promtool."""
import os
import shutil
import subprocess

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
MINE = "# the operator's own prometheus.yml\nglobal: {scrape_interval: 60s}\n"


def deploy(conf, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               PATH=VENV_BIN + ":" + os.environ.get("PATH", ""))
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", os.path.join(ROOT, "playbooks", "monitoring.yml"),
            "-e", "mesh_monitoring_hosts=localhost", "-e", "ansible_connection=local",
            "-e", "ansible_python_interpreter=%s" % os.path.join(VENV_BIN, "python"),
            "-e", "mesh_monitoring_config_dir=%s" % conf, "-e", "mesh_monitoring_manage_service=false",
            "-e", '{"mesh_monitoring_gateway_targets": ["127.0.0.1:9120"], "mesh_monitoring_nexus_targets": ["127.0.0.1:9110"]}']
    proc = subprocess.run(argv + list(extra), capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc


def test_by_default_the_operators_prometheus_yml_is_left_byte_for_byte_and_the_role_writes_only_its_own_files(tmp_path):
    conf = tmp_path / "prometheus"
    conf.mkdir()
    (conf / "prometheus.yml").write_text(MINE)
    proc = deploy(conf)
    assert (conf / "prometheus.yml").read_text() == MINE
    assert sorted(p.name for p in conf.iterdir()) == ["mt5mesh-gateway-targets.yml", "mt5mesh-nexus-targets.yml",
                                                      "mt5mesh-rules.yml", "mt5mesh-scrape.yml", "prometheus.yml"]
    jobs = yaml.safe_load((conf / "mt5mesh-scrape.yml").read_text())["scrape_configs"]
    assert [j["job_name"] for j in jobs] == ["mt5mesh-gateway", "mt5mesh-nexus"]
    assert "scrape_config_files: [mt5mesh-scrape.yml]" in proc.stdout


def test_owning_prometheus_yml_is_opt_in_previewed_by_check_and_diff_and_valid_for_promtool(tmp_path):
    conf = tmp_path / "prometheus"
    conf.mkdir()
    (conf / "prometheus.yml").write_text(MINE)
    preview = deploy(conf, "-e", "mesh_monitoring_manage_config=true", "--check", "--diff")
    assert (conf / "prometheus.yml").read_text() == MINE
    assert "-# the operator's own prometheus.yml" in preview.stdout and "+  - job_name: mt5mesh-gateway" in preview.stdout
    deploy(conf, "-e", "mesh_monitoring_manage_config=true")
    written = yaml.safe_load((conf / "prometheus.yml").read_text())
    assert written["rule_files"] == ["mt5mesh-rules.yml"]
    assert written["scrape_configs"] == yaml.safe_load((conf / "mt5mesh-scrape.yml").read_text())["scrape_configs"]
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed: make setup installs the Debian package prometheus"
    check = subprocess.run([promtool, "check", "config", str(conf / "prometheus.yml")], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr
