"""The consume metrics table: pipeline order, gauges, rates, latency, routing producer last."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from kafkactl.metrics import COUNTERS, GAUGES
from kafkactl.positions import ReadProgress
from kafkactl.render import consume as view_module
from kafkactl.render.consume import READER_OMITS, TABLE_ORDER, MetricsView, metrics_table


def _rows(snapshot: dict[str, Any]) -> list[str]:
    table = metrics_table(snapshot)
    return list(table.columns[0]._cells)


def _values(snapshot: dict[str, Any]) -> dict[str, str]:
    table = metrics_table(snapshot)
    return dict(zip(table.columns[0]._cells, table.columns[1]._cells, strict=True))


def _full_snapshot() -> dict[str, Any]:
    snapshot: dict[str, Any] = dict.fromkeys(COUNTERS, 1)
    snapshot.update(in_flight=3, paused_partitions=2, lag=1500)
    snapshot["by_label"] = {"retried": {"10": 1, "2": 3, "1": 5}}
    snapshot["seconds"] = 2.0
    snapshot["handler_latency_ms"] = {"p50": 1.0, "p95": 2.0, "p99": 3.0}
    return snapshot


def test_rows_follow_the_pipeline_then_levels_rates_latency_and_routing() -> None:
    assert _rows(_full_snapshot()) == [
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
        "abandoned",
        "in_flight",
        "paused_partitions",
        "lag",
        "seconds",
        "received/s",
        "processed/s",
        "handler latency p50",
        "handler latency p95",
        "handler latency p99",
        "published",
        "publish_failed",
        "undeliverable",
        "invalid",
        "replayed",
    ]


def test_gauge_and_rate_values() -> None:
    snapshot = _full_snapshot()
    snapshot.update(received=4000, processed=3000, lag=12345)
    values = _values(snapshot)
    assert values["lag"] == "12,345"
    assert values["in_flight"] == "3"
    assert values["paused_partitions"] == "2"
    assert values["received/s"] == "2,000"
    assert values["processed/s"] == "1,500"


def test_a_gauge_not_measured_yet_shows_a_dash_and_one_not_kept_is_left_out() -> None:
    snapshot: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
    snapshot["lag"] = None
    values = _values(snapshot)
    assert values["lag"] == "-"
    assert "in_flight" not in values
    assert "paused_partitions" not in values


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


def test_a_read_without_a_group_leaves_out_what_only_a_group_does() -> None:
    snapshot: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
    snapshot.update(received=5, processed=5, lag=0)
    assert _rows_of(metrics_table(snapshot, omit=READER_OMITS)) == [
        "received",
        "processed",
        "failed",
        "lag",
    ]


def _rows_of(table: Any) -> list[str]:
    return list(table.columns[0]._cells)


def test_every_counter_and_gauge_has_a_place() -> None:
    assert set(COUNTERS) | set(GAUGES) <= set(TABLE_ORDER)


def _terminal(monkeypatch: Any) -> io.StringIO:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=110, color_system=None)
    monkeypatch.setattr("kafkactl.render.live.err", console)
    return out


def test_the_live_view_draws_the_bar_above_the_table_while_progress_is_known(
    monkeypatch: Any,
) -> None:
    out = _terminal(monkeypatch)
    progress: list[ReadProgress | None] = [None]
    snapshot = _full_snapshot()
    with MetricsView(enabled=True) as view:
        view.follow_progress(lambda: progress[0], "orders")
        snapshot["seconds"] = 1.0
        view.update(snapshot)
        assert "ETA" not in out.getvalue()
        # Known from 2s on, with 10,000 done by then: rate and ETA count from there.
        progress[0] = ReadProgress(10_000, 200_000)
        snapshot["seconds"] = 2.0
        view.update(snapshot)
        progress[0] = ReadProgress(50_000, 200_000)
        snapshot["seconds"] = 10.0
        view.update(snapshot)
    text = out.getvalue()
    drawn = text[text.rindex("orders") :]
    assert " 25%" in drawn
    assert "50,000 of 200,000 records" in drawn
    assert "5,000 records/s" in drawn
    assert "ETA 0:00:30" in drawn
    assert drawn.index("ETA") < drawn.index("received")


def test_off_a_terminal_the_view_prints_tables_without_a_bar(monkeypatch: Any) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=110)
    monkeypatch.setattr("kafkactl.render.live.err", console)
    monkeypatch.setattr(view_module, "show", console.print)
    with MetricsView(enabled=True) as view:
        view.follow_progress(lambda: ReadProgress(1, 2), "orders")
        view.update(_full_snapshot())
    text = out.getvalue()
    assert "received" in text
    assert "ETA" not in text
    assert "records/s" not in text
