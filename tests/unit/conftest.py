import pytest

from support.module_harness import patch_exits


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    """exit_json/fail_json raise AnsibleExitJson/AnsibleFailJson carrying the result."""
    patch_exits(monkeypatch)


def pytest_configure(config):
    config.addinivalue_line("markers", "real_tcp_probe: runs the real TCP refusal probe (loopback targets only)")


@pytest.fixture(autouse=True)
def no_tcp_probe(request, monkeypatch):
    """Unit tests give hosts such as 10.0.0.1 to modules whose ZeroMQ is faked: the TCP refusal
    probe before a ping would really connect there (the network rule). It gives no verdict here;
    tests marked ``real_tcp_probe`` (loopback only) run the real one."""
    if request.node.get_closest_marker("real_tcp_probe"):
        return
    from ansible_collections.mt5crs.mesh.plugins.module_utils._wire import sockets
    monkeypatch.setattr(sockets, "tcp_refused", lambda host, port, timeout: False)


# Property tests draw the same examples on every run: a mutant is killed or not, never by chance
# (make mutation compares scores across runs).
from hypothesis import HealthCheck, settings  # noqa: E402

# No verdict may depend on the machine's load either: no per-example deadline and no "too slow"
# health check (make test runs these beside the lab and mutmut; a loaded machine failed a clean
# run with FailedHealthCheck, 2026-12-07).
settings.register_profile("deterministic", derandomize=True, print_blob=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("deterministic")
