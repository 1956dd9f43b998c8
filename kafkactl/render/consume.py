"""The consume metrics table (periodic, live on a terminal, and at exit)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.table import Table

from kafkactl.metrics import COUNTERS
from kafkactl.render import show, table
from kafkactl.render.live import LiveRegion

# Pipeline order: what came in, what the handler did, where failures went, what was committed;
# the routing producer's counters after; anything else (reader, replay) last.
TABLE_ORDER = (
    "received",
    "filtered",
    "skipped",
    "processed",
    "failed",
    "retried",
    "sent_to_dlq",
    "deduplicated",
    "committed",
    "published",
    "publish_failed",
    "undeliverable",
    "abandoned",
    "invalid",
    "replayed",
)
# Shown only when not zero: counters of other commands, and of less common paths.
_HIDDEN_AT_ZERO = frozenset(
    (
        "published",
        "publish_failed",
        "invalid",
        "replayed",
        "undeliverable",
        "abandoned",
        "filtered",
        "skipped",
    )
)


def _ordered_counters() -> list[str]:
    return [n for n in TABLE_ORDER if n in COUNTERS] + [n for n in COUNTERS if n not in TABLE_ORDER]


def _label_order(item: tuple[str, int]) -> tuple[int, str]:
    # Tiers are numbers: 2 before 10.
    label = item[0]
    return (int(label), "") if label.isdigit() else (1 << 30, label)


def metrics_table(snapshot: dict[str, Any], title: str = "Metrics") -> Table:
    """Counters in pipeline order (retries per tier), throughput and handler latency."""
    seconds = snapshot.get("seconds") or 0.0
    rows: list[tuple[str, str]] = []
    for name in _ordered_counters():
        value = snapshot.get(name, 0)
        if not value and name in _HIDDEN_AT_ZERO:
            continue
        rows.append((name, f"{value:,}"))
        labelled = snapshot.get("by_label", {}).get(name, {}).items()
        for label, count in sorted(labelled, key=_label_order):
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
    """Shows the metrics table: redrawn in place on a terminal (every second from `source`,
    besides each `update`), printed each time elsewhere."""

    def __init__(
        self,
        enabled: bool,
        source: Callable[[], dict[str, Any]] | None = None,
        every: float = 1.0,
    ) -> None:
        self.enabled = enabled
        self._region = LiveRegion(enabled)
        self._source = source
        self._every = every
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MetricsView:
        self._region.__enter__()
        if self._region.active and self._source is not None:
            self._thread = threading.Thread(target=self._refresh, name="metrics-view", daemon=True)
            self._thread.start()
        return self

    def _refresh(self) -> None:
        assert self._source is not None
        while not self._done.wait(self._every):
            self.update(self._source())

    def update(self, snapshot: dict[str, Any]) -> None:
        """Show the latest counters."""
        if not self.enabled:
            return
        if self._region.active:
            self._region.draw(Group(metrics_table(snapshot)))
        else:
            show(metrics_table(snapshot))

    def __exit__(self, *exc: Any) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self._region.__exit__(*exc)


def final_summary(snapshot: dict[str, Any], stopped_by: str) -> None:
    """The table printed at exit."""
    show(metrics_table(snapshot, f"Consume summary (stopped: {stopped_by})"))
