"""The consume metrics table (periodic, live on a terminal, and at exit)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table

from kafkactl.metrics import COUNTERS, GAUGES
from kafkactl.render import show, table
from kafkactl.render.live import LiveRegion
from kafkactl.render.progress import bar

if TYPE_CHECKING:
    from kafkactl.positions import ReadProgress

# Pipeline order: what came in, what the handler did, where failures went, what was committed;
# the pipeline's levels now (gauges), rates and handler latency; the routing producer's counters
# after; counters of other commands (produce, replay) last.
PIPELINE_COUNTERS = (
    "received",
    "filtered",
    "skipped",
    "processed",
    "failed",
    "retried",
    "sent_to_dlq",
    "deduplicated",
    "committed",
    "abandoned",
)
RATES = ("received/s", "processed/s")
LATENCIES = ("handler latency p50", "handler latency p95", "handler latency p99")
ROUTING_COUNTERS = ("published", "publish_failed", "undeliverable")
# A read without a group has no retry tiers, DLQ, dedupe store or commits: those rows go.
READER_OMITS = frozenset(("retried", "sent_to_dlq", "deduplicated", "committed"))
OTHER_COUNTERS = ("invalid", "replayed")
TABLE_ORDER = (
    PIPELINE_COUNTERS
    + GAUGES
    + ("breaker", "seconds", *RATES)
    + LATENCIES
    + ROUTING_COUNTERS
    + OTHER_COUNTERS
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


def _label_order(item: tuple[str, int]) -> tuple[int, str]:
    # Tiers are numbers: 2 before 10.
    label = item[0]
    return (int(label), "") if label.isdigit() else (1 << 30, label)


def _counter_rows(snapshot: dict[str, Any], name: str) -> list[tuple[str, str]]:
    value = snapshot.get(name, 0)
    if not value and name in _HIDDEN_AT_ZERO:
        return []
    rows = [(name, f"{value:,}")]
    labelled = snapshot.get("by_label", {}).get(name, {}).items()
    for label, count in sorted(labelled, key=_label_order):
        rows.append((f"  {name} tier {label}", f"{count:,}"))
    return rows


def _rows(snapshot: dict[str, Any], name: str) -> list[tuple[str, str]]:
    """The table rows of one entry of TABLE_ORDER (none when it does not apply)."""
    seconds = snapshot.get("seconds") or 0.0
    if name in GAUGES:
        if name not in snapshot:  # not measured by this command
            return []
        value = snapshot[name]
        return [(name, "-" if value is None else f"{value:,}")]
    if name == "seconds":
        return [(name, f"{seconds:,.1f}")] if seconds else []
    if name == "breaker":
        return _breaker_rows(snapshot.get("breaker"))
    if name in RATES:
        counter = name.removesuffix("/s")
        return [(name, f"{snapshot.get(counter, 0) / seconds:,.0f}")] if seconds else []
    if name in LATENCIES:
        quantile = name.rsplit(" ", 1)[1]
        value = snapshot.get("handler_latency_ms", {}).get(quantile)
        return [] if value is None else [(name, f"{value:.2f} ms")]
    return _counter_rows(snapshot, name)


def _breaker_rows(breaker: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The failure-storm breaker: its state (since when, probes, records held), what opened it
    the last time, and how often it opened; nothing when the run has none."""
    if breaker is None:
        return []
    state = breaker["state"]
    since = breaker.get("since")
    if since is not None and breaker.get("opened"):
        state += time.strftime(" since %H:%M:%S", time.localtime(since))
    if breaker["state"] != "closed":
        state += f" ({breaker['probes']} probe(s), {breaker.get('held', 0):,} held)"
    rows = [("breaker", state)]
    if breaker.get("opened"):
        rows.append(("  breaker opened", f"{breaker['opened']:,}"))
        reason = str(breaker.get("opened_by") or "")
        rows.append(("  opened by", reason if len(reason) <= 80 else reason[:79] + "…"))
    return rows


def metrics_table(
    snapshot: dict[str, Any], title: str = "Metrics", omit: frozenset[str] = frozenset()
) -> Table:
    """Counters in pipeline order (retries per tier), gauges, rates, handler latency, then the
    routing producer's counters; `omit` names rows that do not apply."""
    names = list(TABLE_ORDER) + [n for n in COUNTERS if n not in TABLE_ORDER]
    rows = [row for name in names if name not in omit for row in _rows(snapshot, name)]
    return table(title, ("metric", "value"), rows, numeric=("value",))


class MetricsView:
    """Shows the metrics table: redrawn in place on a terminal (every second from `source`,
    besides each `update`), printed each time elsewhere.

    On a terminal, a progress bar toward the end offsets sits above the table while
    `follow_progress`'s source knows how far the read is (consume -e, --to).
    """

    def __init__(
        self,
        enabled: bool,
        source: Callable[[], dict[str, Any]] | None = None,
        every: float = 1.0,
        omit: frozenset[str] = frozenset(),
    ) -> None:
        self.enabled = enabled
        self._omit = omit
        self._region = LiveRegion(enabled)
        self._source = source
        self._every = every
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress: Callable[[], ReadProgress | None] | None = None
        self._description = ""
        # When the progress was first known: snapshot seconds, and records done by then.
        self._progress_since: tuple[float, int] | None = None

    def follow_progress(
        self, progress: Callable[[], ReadProgress | None], description: str
    ) -> None:
        """Draw a bar from `progress()` (records done of total; None: none to show) above the
        table; `progress` is called from the view's thread."""
        self._progress = progress
        self._description = description

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
            found = self._progress() if self._progress is not None else None
            if found is None:
                self._region.draw(Group(metrics_table(snapshot, omit=self._omit)))
                return
            # Rate and ETA from when the progress became known: connecting is no reading time.
            seconds = snapshot.get("seconds") or 0.0
            if self._progress_since is None:
                self._progress_since = (seconds, found.done)
            since, base = self._progress_since
            line = bar(self._description, found.done, found.total, seconds - since, base=base)
            self._region.draw(Group(line, metrics_table(snapshot, omit=self._omit)))
        else:
            show(metrics_table(snapshot, omit=self._omit))

    def __exit__(self, *exc: Any) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self._region.__exit__(*exc)


def final_summary(
    snapshot: dict[str, Any], stopped_by: str, omit: frozenset[str] = frozenset()
) -> None:
    """The table printed at exit."""
    show(metrics_table(snapshot, f"Consume summary (stopped: {stopped_by})", omit))
