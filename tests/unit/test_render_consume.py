"""The consume metrics table lists counters in pipeline order, routing producer last."""

from __future__ import annotations

from typing import Any

from kafkactl.metrics import COUNTERS
from kafkactl.render.consume import TABLE_ORDER, metrics_table


def _rows(snapshot: dict[str, Any]) -> list[str]:
    table = metrics_table(snapshot)
    return list(table.columns[0]._cells)


def test_counters_follow_the_pipeline() -> None:
    snapshot: dict[str, Any] = dict.fromkeys(COUNTERS, 1)
    snapshot["by_label"] = {"retried": {"10": 1, "2": 3, "1": 5}}
    snapshot["seconds"] = 2.0
    snapshot["handler_latency_ms"] = {"p50": 1.0, "p95": 2.0, "p99": 3.0}
    rows = _rows(snapshot)
    assert rows[:12] == [
        "received",
        "filtered",
        "skipped",
        "processed",
        "failed",
        "retried",
        "  retried tier 1",
        "  retried tier 2",
        "  retried tier 10",
        "sent_to_dlq",
        "deduplicated",
        "committed",
    ]
    assert rows.index("published") > rows.index("committed")
    assert rows.index("publish_failed") == rows.index("published") + 1
    assert rows[-3:] == ["handler latency p50", "handler latency p95", "handler latency p99"]


def test_routing_counters_at_zero_are_left_out() -> None:
    snapshot: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
    snapshot["received"] = 5
    rows = _rows(snapshot)
    assert rows == [
        "received",
        "processed",
        "failed",
        "retried",
        "sent_to_dlq",
        "deduplicated",
        "committed",
    ]


def test_every_counter_has_a_place() -> None:
    assert set(TABLE_ORDER) == set(COUNTERS)
