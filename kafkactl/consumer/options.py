"""What the pipeline is told to do (ConsumeOptions) and what it reports (ConsumeSummary)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from kafkactl.consumer.breaker import BreakerRules
from kafkactl.consumer.dispatch import Ordering
from kafkactl.consumer.filters import RecordFilter
from kafkactl.handlers.base import Handler, fails
from kafkactl.signals import SignalName

# dlq: route failures through the tiers into the DLQ; stop: exit 1 at the first failure,
# nothing from it on committed; skip: count it and go on (neither needs tiers or a DLQ).
OnFailure = Literal["dlq", "stop", "skip"]
AfterDeadLetter = Literal["dlq", "continue"]
# Why a pipeline run stopped: drained (--exit-at-end), --count, a stop failure, a copy that can
# never be delivered, the print handler's output failed, the dedupe store failed, or a signal.
ConsumeStop = Literal[
    "end",
    "count",
    "failure",
    "undeliverable",
    "output error",
    "dedupe error",
    "signal",
    SignalName,
]


@dataclass
class ConsumeOptions:
    """How to run the pipeline (the `consume` flags)."""

    topics: list[str]
    group: str
    workers: int = 4
    ordering: Ordering = "key"
    no_retry: bool = False
    count: int | None = None
    exit_at_end: bool = False
    shutdown_timeout: float = 30.0
    drain_timeout: float = 10.0
    metrics_interval: float = 10.0
    commit_interval: float = 1.0
    max_in_flight_per_partition: int = 4000
    poll_timeout_ms: int = 100
    # None: the handler's default: dlq, or stop for a handler with no failure of its own
    # (the printer), which then needs no tiers or DLQ (`for_handler`).
    on_failure: OnFailure | None = None
    record_filter: RecordFilter = field(default_factory=RecordFilter)
    breaker: BreakerRules = field(default_factory=BreakerRules)
    # --ordering key-strict: a dead-lettered record's followers go to the DLQ behind it (dlq),
    # or run as usual (continue).
    after_dead_letter: AfterDeadLetter = "dlq"

    def for_handler(self, handler: Handler) -> ConsumeOptions:
        """These options with `on_failure` settled for `handler` (DESIGN §6.13)."""
        if self.on_failure is not None:
            return self
        return replace(self, on_failure="dlq" if fails(handler) else "stop")

    @property
    def strict(self) -> bool:
        """True when --ordering key-strict applies: failures are routed through retry tiers."""
        return self.ordering == "key-strict" and self.routes and not self.no_retry

    @property
    def routes(self) -> bool:
        """True when failures go to retry tiers / the DLQ (which must then exist)."""
        return self.on_failure == "dlq"


@dataclass
class ConsumeSummary:
    """The outcome of a run: counters, the reason it stopped, and the offsets committed last."""

    metrics: dict[str, Any]
    stopped_by: ConsumeStop
    committed: dict[str, int] = field(default_factory=dict)
    # Set when the run stopped on a failure (a copy that can never be delivered, output that
    # cannot be written, a failing dedupe store): one line, the command exits 1 with it.
    failure: str | None = None
