"""The health report on a terminal: counts read with thousands separators, offsets as Kafka
prints them (as `groups describe` does)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import kafkactl.render as render
from kafkactl.admin.health import GroupCheck, HealthReport, PartitionLag


def test_lag_and_dlq_depth_have_separators_offsets_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(render, "err", Console(file=out, width=120, color_system=None))
    group = GroupCheck(
        "billing",
        [
            PartitionLag("orders", 0, 9500, 13381, 3881),
            PartitionLag("orders", 1, 6500, 23310, 16810),
        ],
        total_lag=20691,
        dlq_depth=2400,
    )
    render.health_report(HealthReport(["127.0.0.1:9092"], groups=[group], verdict="degraded"))
    text = out.getvalue()
    assert "Group billing — total lag 20,691, DLQ depth 2,400" in text
    rows = [line.split("│")[1:-1] for line in text.splitlines() if line.startswith("│ orders")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["orders", "0", "9500", "13381", "3,881"],
        ["orders", "1", "6500", "23310", "16,810"],
    ]
