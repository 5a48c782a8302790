"""The wait_needed filter on plain data: establish waits for a service unless it passed the verify
before on a host where nothing changed; anything unknown means waiting."""
import pytest

from ansible_collections.mt5crs.mesh.plugins.filter.wait_needed import FilterModule, wait_needed

PASSED = [{"gateway": "gtw", "kind": "zmq_ping", "ok": True}, {"gateway": "gtw2", "kind": "nexus_health", "ok": True}]


def test_a_gateway_that_passed_its_check_on_a_converged_host_is_not_waited_for():
    assert wait_needed(PASSED, "gtw", "zmq_ping", True) is False
    assert wait_needed(PASSED, "gtw2", "nexus_health", "true") is False  # a templated bool


@pytest.mark.parametrize("gateway, check", [("gtw", "nexus_health"), ("gtw2", "zmq_ping"), ("gtw3", "zmq_ping")])
def test_a_gateway_that_did_not_pass_that_very_check_before_is_waited_for(gateway, check):
    assert wait_needed(PASSED, gateway, check, True) is True


@pytest.mark.parametrize("converged", [False, None, "", "no", "False"])
def test_a_host_with_anything_to_change_or_an_unknown_state_is_waited_for(converged):
    assert wait_needed(PASSED, "gtw", "zmq_ping", converged) is True


def test_with_curve_every_gateway_is_waited_for():
    assert wait_needed(PASSED, "gtw", "zmq_ping", True, curve=True) is True
    assert wait_needed(PASSED, "gtw", "zmq_ping", True, curve="false") is False


def test_no_verify_before_or_junk_in_it_means_waiting():
    assert wait_needed(None, "gtw", "zmq_ping", True) is True
    assert wait_needed([], "gtw", "zmq_ping", True) is True
    assert wait_needed(["gtw", 7, None], "gtw", "zmq_ping", True) is True
    assert FilterModule().filters() == {"wait_needed": wait_needed}
