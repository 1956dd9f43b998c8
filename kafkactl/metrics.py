"""Counters and handler latency (DESIGN §13.1), shared by the tables, --json and Prometheus."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from kafkactl.errors import UsageError

COUNTERS = (
    "published",
    "publish_failed",
    "invalid",
    "received",
    "filtered",
    "processed",
    "failed",
    "skipped",
    "retried",
    "sent_to_dlq",
    "deduplicated",
    "committed",
    "replayed",
    "undeliverable",
    "abandoned",
)

# Levels read when a snapshot is taken (registered by whoever knows them), None while unknown:
# messages handed out and not finished, partitions paused (backpressure, tier due times), and
# records between the consumer's positions and the end offsets it has seen.
GAUGES = ("in_flight", "paused_partitions", "lag")
GAUGE_HELP = {
    "in_flight": "messages handed to the handler and not finished",
    "paused_partitions": "partitions paused (backpressure or a retry tier waiting)",
    "lag": "records between the consumer positions and the partition end offsets",
}
Gauge = Callable[[], int | None]
# Sections a snapshot carries as they are (read like gauges): the failure-storm breaker's state.
DETAILS = ("breaker",)


class LatencyWindow:
    """Handler latencies of the most recent calls, for p50 / p95 / p99 without unbounded memory."""

    def __init__(self, size: int = 8192) -> None:
        self._size = size
        self._values: list[float] = []
        self._next = 0
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        """Record one latency."""
        self.count += 1
        self.total += seconds
        if len(self._values) < self._size:
            self._values.append(seconds)
        else:
            self._values[self._next] = seconds
            self._next = (self._next + 1) % self._size

    def quantiles(self) -> dict[str, float | None]:
        """p50, p95 and p99 in milliseconds over the window (None before any call)."""
        if not self._values:
            return {"p50": None, "p95": None, "p99": None}
        ordered = sorted(self._values)

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

        return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


class Metrics:
    """Thread-safe counters (some with a label, like `retried` per tier), gauges read at each
    snapshot, and a latency window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._labelled: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._gauges: dict[str, Gauge] = {}
        self._details: dict[str, Callable[[], dict[str, Any]]] = {}
        self.latency = LatencyWindow()
        self.started = time.monotonic()

    def gauge(self, name: str, read: Gauge) -> None:
        """Report gauge `name` (one of GAUGES) as `read()` in every snapshot from now on.

        `read` runs on the snapshot's thread without this object's lock held, so it may take
        the caller's own lock; it must not touch a client that is not thread-safe.
        """
        if name not in GAUGES:
            raise ValueError(f"unknown gauge {name!r}")
        self._gauges[name] = read

    def detail(self, name: str, read: Callable[[], dict[str, Any]]) -> None:
        """Report section `name` (one of DETAILS) as `read()` in every snapshot from now on
        (read like a gauge: on the snapshot's thread, without this object's lock)."""
        if name not in DETAILS:
            raise ValueError(f"unknown detail {name!r}")
        self._details[name] = read

    def incr(self, name: str, amount: int = 1, label: str | None = None) -> None:
        """Add to counter `name` (and to its `label` breakdown, e.g. the retry tier)."""
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + amount
            if label is not None:
                self._labelled[name][label] += amount

    def settle(self, amounts: dict[str, int], latencies: list[float]) -> None:
        """Add to several counters and record several handler calls' durations at once (a
        batch's outcomes, one lock acquisition)."""
        with self._lock:
            counts = self._counts
            for name, amount in amounts.items():
                if amount:
                    counts[name] = counts.get(name, 0) + amount
            observe = self.latency.observe
            for seconds in latencies:
                observe(seconds)

    def observe_latency(self, seconds: float) -> None:
        """Record one handler call's duration."""
        with self._lock:
            self.latency.observe(seconds)

    def get(self, name: str) -> int:
        """Current value of a counter."""
        with self._lock:
            return self._counts.get(name, 0)

    def snapshot(self) -> dict[str, Any]:
        """Counters, gauges, labelled breakdowns, latency quantiles and elapsed seconds."""
        levels = {name: read() for name, read in list(self._gauges.items())}
        details = {name: read() for name, read in list(self._details.items())}
        with self._lock:
            return {
                **self._counts,
                **levels,
                **details,
                "by_label": {k: dict(v) for k, v in self._labelled.items()},
                "handler_latency_ms": self.latency.quantiles(),
                "seconds": round(time.monotonic() - self.started, 3),
            }


def _breaker_families(breaker: dict[str, Any] | None) -> Any:
    """kafkactl_breaker_state (0 closed, 1 open, 2 half-open) and kafkactl_breaker_opened_total
    (nothing when the run has no breaker)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    if breaker is None:
        return
    codes = {"closed": 0, "open": 1, "half-open": 2}
    state = GaugeMetricFamily(
        "kafkactl_breaker_state", "failure-storm breaker: 0 closed, 1 open, 2 half-open"
    )
    state.add_metric([], codes.get(breaker["state"], 0))
    yield state
    opened = CounterMetricFamily("kafkactl_breaker_opened", "times the breaker opened")
    opened.add_metric([], breaker["opened"])
    yield opened


def serve_prometheus(metrics: Metrics, port: int, host: str = "127.0.0.1") -> Any:
    """Serve /metrics (names prefixed `kafkactl_`, counters with `_total`, gauges as they are);
    returns the server."""
    from prometheus_client import start_http_server
    from prometheus_client.core import (
        REGISTRY,
        CounterMetricFamily,
        GaugeMetricFamily,
    )

    class Collector:
        def collect(self) -> Any:
            snap = metrics.snapshot()
            for name in COUNTERS:
                labels = snap["by_label"].get(name)
                family = CounterMetricFamily(
                    f"kafkactl_{name}",
                    f"kafkactl {name.replace('_', ' ')}",
                    labels=["tier"] if labels else None,
                )
                if labels:
                    for label, value in labels.items():
                        family.add_metric([label], value)
                else:
                    family.add_metric([], snap[name])
                yield family
            latency = GaugeMetricFamily(
                "kafkactl_handler_latency_ms", "handler latency quantiles", labels=["quantile"]
            )
            for quantile, value in snap["handler_latency_ms"].items():
                if value is not None:
                    latency.add_metric([quantile], value)
            yield latency
            for name in GAUGES:
                if snap.get(name) is not None:
                    level = GaugeMetricFamily(f"kafkactl_{name}", GAUGE_HELP[name])
                    level.add_metric([], snap[name])
                    yield level
            yield from _breaker_families(snap.get("breaker"))

    try:
        server, _thread = start_http_server(port, addr=host)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"--metrics-port {port}: cannot serve /metrics on {host}:{port} ({reason}); "
            "choose a free port (--metrics-port or KAFKA_METRICS_PORT)"
        ) from None
    REGISTRY.register(Collector())
    return server
