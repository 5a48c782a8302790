"""Metric updates across the stores process boundary: recorded in the child by a stand-in for
health.Metrics, applied in the parent to the one registry /metrics serves. Pure data in and
out (no pipe, no process), so it is unit- and mutation-tested on plain values."""
import collections
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

METRIC_OPS = ("set", "inc")


class MetricsRelay:
    """Stands in for health.Metrics in the child: ``relay.committed.inc(5)`` and
    ``relay.store_up.labels("hub").set(1)`` are kept as (name, labels, op, value) and reach the
    parent with the next snapshot (one message, one wake-up of the parent, per interval)."""

    def __init__(self):
        self.updates: collections.deque[Any] = collections.deque()

    def __getattr__(self, name):
        return _RelayedMetric(self.updates, name, ())


class _RelayedMetric:
    def __init__(self, updates, name, labels):
        self._updates, self._name, self._labels = updates, name, labels

    def labels(self, *values):
        return _RelayedMetric(self._updates, self._name, tuple(values))

    def set(self, value):
        self._updates.append((self._name, self._labels, "set", value))

    def inc(self, value=1):
        self._updates.append((self._name, self._labels, "inc", value))


def apply_metric(metrics, update):
    """Apply one (name, labels, op, value) update from the child to the parent's registry.
    Returns an error string for anything that is not an update of a metric the registry has."""
    if not (isinstance(update, tuple) and len(update) == 4):
        return "not a metric update: %r" % (update,)
    name, labels, op, value = update
    target = getattr(metrics, name, None) if isinstance(name, str) else None
    if not isinstance(target, MetricWrapperBase):
        return "no such metric: %r" % (name,)
    if op not in METRIC_OPS or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "bad update of %s: %r %r" % (name, op, value)
    if not isinstance(labels, tuple):
        return "bad labels for %s: %r" % (name, labels)
    try:
        if labels:
            target = target.labels(*labels)
        getattr(target, op)(value)
    except ValueError as e:  # wrong label count, or a counter decreased
        return "bad update of %s: %s" % (name, e)
    return None
