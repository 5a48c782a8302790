import pytest

from support.module_harness import patch_exits


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    """exit_json/fail_json raise AnsibleExitJson/AnsibleFailJson carrying the result."""
    patch_exits(monkeypatch)


# Property tests draw the same examples on every run: a mutant is killed or not, never by chance
# (make mutation compares scores across runs).
from hypothesis import settings  # noqa: E402

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.load_profile("deterministic")
