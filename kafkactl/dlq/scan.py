"""Reading a DLQ for triage: one pass without a consumer group (assign; nothing committed).

`summarize_dlq` reads each partition from its start (or the first offset at `--since`) up to
the end offset taken when it started, folding each record into a `TriageSummary`.
`dlq_top_error` reads only the tail (the last N records) for `health` and `groups describe`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafkactl.admin import queries as kadmin
from kafkactl.config import Settings
from kafkactl.dlq.fold import Folder
from kafkactl.dlq.triage import By, TriageSummary, error_kind
from kafkactl.errors import KafkactlError
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.kafka.ports import ConsumerPort, Record, TopicPartition
from kafkactl.replay.deadletter import read_dead_letter

TAIL_RECORDS = 1000  # records read from a DLQ's tail for its top error class
POLL_RECORDS = 500
SUMMARY_POLL_RECORDS = 5000  # a summary keeps no record: larger batches, fewer calls
STALL_SECONDS = 60.0  # no progress at all for this long: the read gives up with an error


class DlqMissing(KafkactlError):
    """The DLQ topic does not exist."""


@dataclass(frozen=True)
class TriageOptions:
    """Which DLQ, which time range, how to group."""

    dlq: str
    by: By = "class"
    since_ms: int | None = None
    until_ms: int | None = None
    max_replays: int = 3


def _partitions(admin: AdminPort, dlq: str) -> list[TopicPartition]:
    info = kadmin.describe_topics(admin, [dlq])[dlq]
    if not info.exists:
        raise DlqMissing(f"DLQ topic {dlq} does not exist")
    return [TopicPartition(dlq, p.partition) for p in info.partitions]


def summarize_dlq(
    settings: Settings,
    options: TriageOptions,
    on_progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    connect_admin: Callable[[Settings], AdminPort] | None = None,
    connect_consumer: Callable[..., ConsumerPort] | None = None,
) -> TriageSummary:
    """One pass over the DLQ; `on_progress(read, total)` now and then; `stop` ends it early."""
    from kafkactl import kafka

    started = time.monotonic()
    summary = TriageSummary(
        options.dlq, options.by, options.max_replays, options.since_ms, options.until_ms
    )
    admin = (connect_admin or kafka.connect_admin)(settings)
    try:
        tps = _partitions(admin, options.dlq)
        lows = admin.list_offsets(tps, latest=False)
        ends = admin.list_offsets(tps, latest=True)
        starts = dict(lows)
        if options.since_ms is not None and tps:
            # The broker answers the earliest offset with a timestamp at or after --since, so
            # nothing before it is in range even when timestamps are out of order. --until has
            # no such cut (a later record may be older): it is a filter only.
            at = admin.offsets_for_time(tps, options.since_ms)
            starts = {tp: min(max(at[tp], lows[tp]), ends[tp]) for tp in tps}
    finally:
        admin.close()
    total = sum(max(0, ends[tp] - starts[tp]) for tp in tps)
    consumer = (connect_consumer or kafka.connect_consumer)(settings, None)
    try:
        # Each record is folded as the engine reads it, no record object made (fold.py).
        folder = Folder(summary, {tp.partition: end for tp, end in ends.items()})

        def fetch(pending: set[TopicPartition]) -> dict[TopicPartition, tuple[bool, int]]:
            polled = consumer.poll_encoded(0.2, SUMMARY_POLL_RECORDS, folder.fold)
            folder.flush()
            if polled and on_progress is not None:
                on_progress(summary.scanned, total)
            return {
                tp: (offsets[0] < ends[tp], offsets[-1])
                for tp, (offsets, _lines) in polled.items()
                if offsets and tp in pending
            }

        if on_progress is not None:
            on_progress(0, total)
        _scan(consumer, starts, ends, fetch, stop, STALL_SECONDS)
    finally:
        consumer.close()
    summary.interrupted = stop is not None and stop.is_set()
    summary.seconds = time.monotonic() - started
    return summary


def scan(
    consumer: ConsumerPort,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    on_records: Callable[[list[Record]], None],
    stop: threading.Event | None = None,
    stall: float = STALL_SECONDS,
) -> None:
    """Read each partition from `starts` to `ends` (exclusive) and hand over each batch."""

    def fetch(pending: set[TopicPartition]) -> dict[TopicPartition, tuple[bool, int]]:
        out: dict[TopicPartition, tuple[bool, int]] = {}
        for tp, records in consumer.poll(0.2, POLL_RECORDS).items():
            if tp not in pending or not records:
                continue
            wanted = [r for r in records if r.offset < ends[tp]]
            if wanted:
                on_records(wanted)
            out[tp] = (bool(wanted), records[-1].offset)
        return out

    _scan(consumer, starts, ends, fetch, stop, stall)


# One poll's outcome per pending partition read: (whether it held a record before the end,
# the last offset fetched).
Fetch = Callable[[set[TopicPartition]], dict[TopicPartition, tuple[bool, int]]]


def _scan(
    consumer: ConsumerPort,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    fetch: Fetch,
    stop: threading.Event | None,
    stall: float,
) -> None:
    """Assign and seek, then `fetch` until each partition reached its end."""
    pending = {tp for tp in starts if starts[tp] < ends[tp]}
    if not pending:
        return
    consumer.assign(sorted(pending))
    for tp in pending:
        consumer.seek(tp, starts[tp])
    last_progress = time.monotonic()
    while pending and not (stop is not None and stop.is_set()):
        for tp, (progressed, last) in fetch(pending).items():
            if progressed:
                last_progress = time.monotonic()
            if last + 1 >= ends[tp]:
                pending.discard(tp)
        for tp in list(pending):
            # Transaction markers and compaction leave offsets with no record: the position,
            # not the last record seen, tells when a partition is done.
            position = consumer.position(tp)
            if position is not None and position >= ends[tp]:
                pending.discard(tp)
        if pending and time.monotonic() - last_progress > stall:
            names = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(pending))
            raise KafkactlError(f"no records from {names} for {stall:.0f}s; gave up reading")


@dataclass(frozen=True)
class TopError:
    """The most frequent error class among the last records of a DLQ."""

    error_class: str | None
    kind: str
    count: int
    sampled: int


def dlq_top_error(
    settings: Settings,
    admin: AdminPort,
    dlq: str,
    last: int = TAIL_RECORDS,
    connect_consumer: Callable[..., ConsumerPort] | None = None,
    timeout: float = 10.0,
) -> TopError | None:
    """The top error class of the DLQ's last `last` records (spread over its partitions);
    None when the DLQ is empty or missing. A cheap bounded read for `health`/`groups`."""
    from kafkactl import kafka

    info = kadmin.describe_topics(admin, [dlq])[dlq]
    if not info.exists or not info.partitions:
        return None
    tps = [TopicPartition(dlq, p.partition) for p in info.partitions]
    lows = admin.list_offsets(tps, latest=False)
    ends = admin.list_offsets(tps, latest=True)
    share = max(1, last // len(tps))
    starts = {tp: max(lows[tp], ends[tp] - share) for tp in tps}
    if all(starts[tp] >= ends[tp] for tp in tps):
        return None
    counts: dict[tuple[str, str | None], int] = {}
    sampled = 0

    def fold(records: list[Record]) -> None:
        nonlocal sampled
        for record in records:
            dl = read_dead_letter(record)
            key = (error_kind(dl), dl.error_class)
            counts[key] = counts.get(key, 0) + 1
            sampled += 1

    consumer = (connect_consumer or kafka.connect_consumer)(settings, None)
    try:
        scan(consumer, starts, ends, fold, stall=timeout)
    finally:
        consumer.close()
    if not counts:
        return None
    (kind, cls), count = max(counts.items(), key=lambda item: item[1])
    return TopError(cls, kind, count, sampled)
