"""Metric updates across the stores process boundary, on plain data: recorded in the child and
applied (or refused, with the reason) to the parent's registry."""
import pytest

from mt5mesh.nexus.health import Metrics
from mt5mesh.nexus.relay import MetricsRelay, apply_metric


def value(metrics, name, labels=None):
    return metrics.registry.get_sample_value(name, labels or {})


def test_relay_records_updates_in_order_with_labels():
    relay = MetricsRelay()
    relay.committed.inc(5)
    relay.store_up.labels("postgres").set(1)
    relay.quarantined.inc()
    assert list(relay.updates) == [("committed", (), "inc", 5), ("store_up", ("postgres",), "set", 1),
                                   ("quarantined", (), "inc", 1)]


def test_relayed_updates_applied_in_the_parent_show_in_its_registry():
    relay, metrics = MetricsRelay(), Metrics()
    relay.committed.inc(5)
    relay.committed.inc(2)
    relay.store_up.labels("hub").set(1)
    relay.lag.set(0.25)
    assert [apply_metric(metrics, u) for u in relay.updates] == [None] * 4
    assert value(metrics, "nexus_ticks_committed_total") == 7
    assert value(metrics, "nexus_store_up", {"store": "hub"}) == 1
    assert value(metrics, "nexus_lag_seconds") == 0.25


@pytest.mark.parametrize("update, message", [
    (("committed", (), "inc"), "not a metric update: ('committed', (), 'inc')"),
    ("committed", "not a metric update: 'committed'"),
    (("no_such", (), "set", 1), "no such metric: 'no_such'"),
    (("registry", (), "set", 1), "no such metric: 'registry'"),
    (("__class__", (), "set", 1), "no such metric: '__class__'"),
    ((5, (), "set", 1), "no such metric: 5"),
    (("lag", (), "observe", 1), "bad update of lag: 'observe' 1"),
    (("lag", (), "set", True), "bad update of lag: 'set' True"),
    (("lag", (), "set", "1"), "bad update of lag: 'set' '1'"),
    (("store_up", ["hub"], "set", 1), "bad labels for store_up: ['hub']"),
    # prometheus-client's own reason follows (its wording is its own).
    (("store_up", (), "set", 1), "bad update of store_up: ..."),
    (("store_up", ("a", "b"), "set", 1), "bad update of store_up: ..."),
    (("committed", (), "inc", -1), "bad update of committed: ..."),
])
def test_a_bad_update_is_refused_with_its_reason_and_changes_nothing(update, message):
    metrics = Metrics()
    before = [(m.name, [(s.labels, s.value) for s in m.samples]) for m in metrics.registry.collect()]
    error = apply_metric(metrics, update)
    if message.endswith(": ..."):
        assert error.startswith(message[:-3]) and len(error) > len(message)
    else:
        assert error == message
    after = [(m.name, [(s.labels, s.value) for s in m.samples]) for m in metrics.registry.collect()]
    assert after == before
