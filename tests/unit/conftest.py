import pytest

from support.module_harness import patch_exits


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    """exit_json/fail_json raise AnsibleExitJson/AnsibleFailJson carrying the result."""
    patch_exits(monkeypatch)
