"""consume as one operation: the rules that pick the TopicReader (no group) or the
ConsumerPipeline (a group), and the run with metrics and signals (DESIGN §6).

Without a group nothing is committed, so retry tiers and the DLQ (`--on-failure dlq`,
`--no-retry`) need one; a group gets its partitions from the broker and starts where it
committed, so `--to`/`--partition` read only without one and `--from` with a group says only
where partitions without an offset start (auto.offset.reset).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from kafkactl.errors import UsageError

if TYPE_CHECKING:
    from kafkactl.config import Settings
    from kafkactl.consumer.filters import RecordFilter
    from kafkactl.consumer.options import ConsumeOptions, ConsumeSummary
    from kafkactl.consumer.reader import ReadOptions, ReadSummary
    from kafkactl.handlers.base import Handler
    from kafkactl.metrics import Metrics
    from kafkactl.positions import PositionKind, ReadProgress
    from kafkactl.signals import SignalName

# --from without a group; --from with a group may only say where partitions without an offset start.
READ_STARTS: tuple[PositionKind, ...] = ("beginning", "end", "offset", "last", "time")
GROUP_STARTS: tuple[PositionKind, ...] = ("beginning", "end")


class ConsumeRun(Protocol):
    """What consume runs: the TopicReader (no group) or the ConsumerPipeline."""

    def request_stop(self, reason: SignalName) -> None: ...

    def run(self) -> ConsumeSummary | ReadSummary: ...

    def progress(self) -> ReadProgress | None: ...


# Makes the run from its metrics and the live view's tick.
MakeRun = Callable[["Metrics", Callable[[dict[str, Any]], None]], ConsumeRun]


class ConsumeView(Protocol):
    """How the run shows its metrics while it is entered (and a bar toward the end offsets)."""

    def __enter__(self) -> ConsumeView: ...

    def __exit__(self, *exc: object) -> object: ...

    def update(self, snapshot: dict[str, Any]) -> None: ...

    def follow_progress(
        self, progress: Callable[[], ReadProgress | None], description: str
    ) -> None: ...


# The view from the metrics' snapshot source (the caller knows whether it shows).
ViewFactory = Callable[[Callable[[], dict[str, Any]]], AbstractContextManager[ConsumeView]]


@dataclass(frozen=True)
class ConsumeRequest:
    """Where to read: the topics and the position flags as typed (`from_`, `to`: --from/--to)."""

    topics: list[str]
    from_: str | None = None
    to: str | None = None
    partitions: list[int] | None = None
    exit_at_end: bool = False
    count: int | None = None
    on_failure: str | None = None  # dlq, stop or skip; None: the default
    no_retry: bool = False


def plan_consume(
    settings: Settings,
    request: ConsumeRequest,
    handler: Handler,
    record_filter: RecordFilter,
    dedupe: str,
    pipeline_options: Callable[[str], ConsumeOptions],
) -> MakeRun:
    """The reader without a group, the pipeline with one (`pipeline_options(group)` gives its
    options); a flag that does not fit the choice is a UsageError."""
    group = settings.consumer_group_id
    if group is None:
        options = read_options(request, record_filter)
        return _reader(settings, options, handler)
    from kafkactl.topology import check_pipeline_names

    check_pipeline_names(settings, group, request.topics, request.no_retry)
    options_for_group = pipeline_options(group)
    return _pipeline(group_settings(settings, request), handler, dedupe, options_for_group)


def read_options(request: ConsumeRequest, record_filter: RecordFilter) -> ReadOptions:
    """consume without a group: no tiers or DLQ; -e stops at the end offsets (DESIGN §6)."""
    from kafkactl.consumer.reader import ReadOptions
    from kafkactl.positions import Position, parse_position

    on_failure = request.on_failure
    if on_failure == "dlq" or request.no_retry:
        flag = "--on-failure dlq" if on_failure == "dlq" else "--no-retry"
        raise UsageError(
            f"{flag} needs a consumer group (-g): retry tiers and the DLQ belong to one"
        )
    start = parse_position("--from", request.from_ or "beginning", READ_STARTS)
    to = request.to
    stop = parse_position("--to", to, ("end", "offset", "time")) if to is not None else None
    if stop is None and request.exit_at_end:
        stop = Position("end")
    return ReadOptions(
        topics=request.topics,
        partitions=request.partitions or None,
        start=start,
        stop=stop,
        count=request.count,
        on_failure="skip" if on_failure == "skip" else "stop",
        record_filter=record_filter,
    )


def group_settings(settings: Settings, request: ConsumeRequest) -> Settings:
    """The settings a group runs with: no --to/--partition; --from beginning|end becomes
    auto.offset.reset (where partitions without a committed offset start)."""
    from kafkactl.positions import parse_position

    if request.to is not None or request.partitions:
        flag = "--to" if request.to is not None else "--partition"
        raise UsageError(
            f"{flag} reads without a group; a group gets its partitions from the broker and "
            "commits as it goes (drop -g, or use -e to stop at the end)"
        )
    if request.from_ is None:
        return settings
    where = parse_position("--from", request.from_, READ_STARTS)
    if where.kind not in GROUP_STARTS:
        raise UsageError(
            f"--from {request.from_}: a group starts where it committed; --from beginning|end "
            "picks the start of partitions it has no offset for. To move the group: "
            "kafkactl groups reset-offsets GROUP -t TOPIC --to ..."
        )
    reset = "earliest" if where.kind == "beginning" else "latest"
    return replace(settings, consumer_auto_offset_reset=reset)


def _reader(settings: Settings, options: ReadOptions, handler: Handler) -> MakeRun:
    """consume without a group: TopicReader, nothing committed."""
    from kafkactl.consumer.reader import TopicReader

    return lambda metrics, on_tick: TopicReader(settings, options, handler, metrics, on_tick)


def _pipeline(
    settings: Settings, handler: Handler, dedupe: str, options: ConsumeOptions
) -> MakeRun:
    """consume in a group: ConsumerPipeline with retry tiers, a DLQ and commits."""
    from kafkactl.consumer.dedupe import open_store
    from kafkactl.consumer.pipeline import ConsumerPipeline

    store = open_store(dedupe)
    return lambda metrics, on_tick: ConsumerPipeline(
        settings, options, handler, store, metrics, on_tick
    )


def run_consume(
    settings: Settings, make: MakeRun, view: ViewFactory, label: str
) -> ConsumeSummary | ReadSummary:
    """Run the reader or the pipeline with metrics (served when a port is set), stop requests
    on signals and the view (following its progress under `label`); return the summary."""
    from kafkactl.metrics import Metrics, serve_prometheus
    from kafkactl.signals import stop_on_signals

    metrics = Metrics()
    if settings.metrics_port is not None:
        serve_prometheus(metrics, settings.metrics_port)
    with view(metrics.snapshot) as shown:
        runner = make(metrics, shown.update)
        shown.follow_progress(runner.progress, label)
        stop_on_signals(runner.request_stop)
        return runner.run()
