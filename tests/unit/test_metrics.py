"""Metrics: counters, gauges read at each snapshot, latency quantiles."""

from __future__ import annotations

import pytest

from kafkactl.metrics import GAUGES, Metrics


def test_a_gauge_is_read_at_each_snapshot() -> None:
    metrics = Metrics()
    level = [3]
    metrics.gauge("in_flight", lambda: level[0])
    assert metrics.snapshot()["in_flight"] == 3
    level[0] = 0
    assert metrics.snapshot()["in_flight"] == 0


def test_only_registered_gauges_are_in_the_snapshot_and_unknown_is_none() -> None:
    metrics = Metrics()
    metrics.gauge("lag", lambda: None)
    snapshot = metrics.snapshot()
    assert snapshot["lag"] is None
    assert not {"in_flight", "paused_partitions"} & set(snapshot)


def test_a_gauge_may_read_the_metrics_themselves() -> None:
    # Read without the metrics' lock held: a gauge taking it (or a lock held while counting)
    # does not deadlock the snapshot.
    metrics = Metrics()
    metrics.incr("received", 7)
    metrics.gauge("lag", lambda: 10 - metrics.get("received"))
    assert metrics.snapshot()["lag"] == 3


def test_an_unknown_gauge_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown gauge"):
        Metrics().gauge("inflight", lambda: 1)
    assert GAUGES == ("in_flight", "paused_partitions", "lag")


def test_latency_quantiles_in_milliseconds() -> None:
    metrics = Metrics()
    for ms in range(1, 101):
        metrics.observe_latency(ms / 1000)
    assert metrics.snapshot()["handler_latency_ms"] == {"p50": 51.0, "p95": 96.0, "p99": 100.0}
