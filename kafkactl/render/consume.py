"""The consume metrics table (periodic, live on a terminal, and at exit)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table

from kafkactl.metrics import COUNTERS
from kafkactl.render import show, table
from kafkactl.render.live import LiveRegion


def metrics_table(snapshot: dict[str, Any], title: str = "Metrics") -> Table:
    """Counters (with per-tier retries), throughput and handler latency as one Rich table."""
    seconds = snapshot.get("seconds") or 0.0
    rows: list[tuple[str, str]] = []
    for name in COUNTERS:
        value = snapshot.get(name, 0)
        if not value and name in (
            "published",
            "publish_failed",
            "invalid",
            "replayed",
            "undeliverable",
            "abandoned",
            "filtered",
            "skipped",
        ):
            continue
        rows.append((name, f"{value:,}"))
        for label, count in sorted(snapshot.get("by_label", {}).get(name, {}).items()):
            rows.append((f"  {name} tier {label}", f"{count:,}"))
    if seconds:
        rows.append(("seconds", f"{seconds:,.1f}"))
        rows.append(("received/s", f"{snapshot.get('received', 0) / seconds:,.0f}"))
    latency = snapshot.get("handler_latency_ms", {})
    for quantile in ("p50", "p95", "p99"):
        if latency.get(quantile) is not None:
            rows.append((f"handler latency {quantile}", f"{latency[quantile]:.2f} ms"))
    return table(title, ("metric", "value"), rows, numeric=("value",))


class MetricsView:
    """Shows the metrics table: refreshed in place on a terminal, printed each time elsewhere."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._region = LiveRegion(enabled)

    def __enter__(self) -> MetricsView:
        self._region.__enter__()
        return self

    def update(self, snapshot: dict[str, Any]) -> None:
        """Show the latest counters."""
        if not self.enabled:
            return
        if self._region.active:
            self._region.draw(Group(metrics_table(snapshot)))
        else:
            show(metrics_table(snapshot))

    def __exit__(self, *exc: Any) -> None:
        self._region.__exit__(*exc)


def final_summary(snapshot: dict[str, Any], stopped_by: str) -> None:
    """The table printed at exit."""
    show(metrics_table(snapshot, f"Consume summary (stopped: {stopped_by})"))
