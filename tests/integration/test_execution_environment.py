"""The collection's execution environment files: ansible-builder introspect reads the
controller-side dependencies from meta/execution-environment.yml, and ansible-builder create
writes a build context (no container engine here, so the image is not built)."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDER = os.path.join(ROOT, ".venv", "bin", "ansible-builder")


def test_introspect_finds_exactly_the_controller_side_dependencies():
    out = subprocess.run([BUILDER, "introspect", "--sanitize", os.path.join(ROOT, "collections")],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    for dep in ("pyzmq>=24", "redis>=4.3", "psycopg2-binary>=2.9", "openssh-client [platform:dpkg]"):
        assert dep in out, out
    for runtime_only in ("prometheus", "rpyc", "numpy", "MetaTrader5"):
        assert runtime_only not in out


def test_create_writes_a_build_context(tmp_path):
    subprocess.run([BUILDER, "create", "-f", os.path.join(ROOT, "ee", "execution-environment.yml"), "-c", str(tmp_path)],
                   capture_output=True, text=True, timeout=120, check=True)
    assert (tmp_path / "Dockerfile").exists() or (tmp_path / "Containerfile").exists()
    assert (tmp_path / "_build" / "requirements.yml").exists()
