"""TopicReader: `consume` without a group, like kcat -C — no group, no commits, no side effects.

It assigns the partitions itself, starts each at `--from`, stops each at `--to` (or `-e`), and
runs the handler one record at a time in offset order per partition. A handler failure stops
the run (`--on-failure stop`, naming the record) or is counted and passed over (`skip`): with no
group there is no retry tier or DLQ to route it to. Running it again gives the same output.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from loguru import logger

from kafkactl.config import Settings
from kafkactl.consumer.filters import RecordFilter
from kafkactl.consumer.startup import EarlyConsumer, resolve
from kafkactl.errors import KafkactlError, OptionError, OutputClosed
from kafkactl.handlers.base import Handler
from kafkactl.kafka import (
    ConsumerPort,
    EncodedBatch,
    Record,
    RecordEncoder,
    TopicPartition,
    connect_admin,
)
from kafkactl.kafka import connect_consumer as default_connect_consumer
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.message import HandlerFailure, Message, message_from_record
from kafkactl.metrics import Metrics
from kafkactl.positions import Position, ReadProgress, ReadRange
from kafkactl.signals import SignalName

OnFailure = Literal["stop", "skip"]
LAG_INTERVAL_S = 0.5  # how often the read loop measures the lag gauge
POLL_RECORDS = 500  # records a poll returns at most


class PrintsLines(Protocol):
    """The print handler's fast path: lines encoded from the engine's records, written whole."""

    record_encoder: RecordEncoder

    def write_lines(self, lines: list[bytes]) -> None: ...


@dataclass
class ReadOptions:
    """What to read (the `consume` flags without a group)."""

    topics: list[str]
    partitions: list[int] | None = None
    start: Position = field(default_factory=lambda: Position("beginning"))
    stop: Position | None = None  # None: follow the topic until stopped
    count: int | None = None
    on_failure: OnFailure = "stop"
    record_filter: RecordFilter = field(default_factory=RecordFilter)
    poll_timeout_s: float = 0.1


# Why a read stopped: every partition reached its stop, --count, the output could not be
# written, a record failed (--on-failure stop), or a signal.
ReadStop = Literal["end", "count", "output error", "failure", "signal", SignalName]


@dataclass
class ReadSummary:
    """The outcome of a read: counters and why it stopped."""

    metrics: dict[str, Any]
    stopped_by: ReadStop
    committed: dict[str, int] = field(default_factory=dict)  # always empty: nothing committed
    # --on-failure stop: the record it stopped at; or why the output failed; as one line
    failure: str | None = None


class TopicReader:
    """Reads partitions from --from to --to through a handler, committing nothing."""

    def __init__(
        self,
        settings: Settings,
        options: ReadOptions,
        handler: Handler,
        metrics: Metrics | None = None,
        on_tick: Callable[[dict[str, Any]], None] | None = None,
        connect_consumer: Callable[..., ConsumerPort] = default_connect_consumer,
        connect_cluster: Callable[[Settings], AdminPort] = connect_admin,
    ) -> None:
        self.settings = settings
        self.options = options
        self.handler = handler
        self.metrics = metrics or Metrics()
        self.on_tick = on_tick
        self._connect_consumer = connect_consumer
        self._connect_cluster = connect_cluster
        self._stop = threading.Event()
        self._stopped_by: ReadStop = "end"
        self._failure: str | None = None
        # The offsets resolved at start (stops only for partitions with --to / -e), the next
        # offset of each partition as read so far, and the lag the consumer last saw.
        self.range: ReadRange | None = None
        self._positions: dict[TopicPartition, int] = {}
        self._handled = 0  # records the handler ran on (what --count counts)
        self.lag: int | None = None
        self.metrics.gauge("lag", lambda: self.lag)

    def request_stop(self, reason: ReadStop = "signal") -> None:
        """Stop after the record being handled."""
        if not self._stop.is_set():
            self._stopped_by = reason
            self._stop.set()

    def run(self) -> ReadSummary:
        """Read until every partition reached its stop, --count, a signal, or a failure."""
        # bulk: the default printer prints and drops each batch, so a deeper prefetch is safe
        bulk = self._printer() is not None
        early = EarlyConsumer.start(
            self.settings, lambda: self._connect_consumer(self.settings, None, bulk=bulk)
        )
        try:
            admin = self._connect_cluster(self.settings)
            try:
                partitions = self._partitions(admin)
                starts, stops = self._bounds(admin, partitions)
            finally:
                admin.close()
        except BaseException:
            if early is not None:
                early.discard()
            raise
        bounded = {tp: end for tp, end in stops.items() if end is not None}
        self._positions = dict(starts)
        self.range = ReadRange(starts, bounded)
        if early is not None:
            consumer = early.get()
        else:
            consumer = self._connect_consumer(self.settings, None, bulk=bulk)
        try:
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, starts[tp])
            self._loop(consumer, stops)
            self._flush()
            self._measure_lag(consumer)
        finally:
            consumer.close()
            self.handler.close()
        return ReadSummary(self.metrics.snapshot(), self._stopped_by, failure=self._failure)

    def progress(self) -> ReadProgress | None:
        """Records read of those between the start and stop offsets (None: no stop, or the
        offsets are not resolved yet). Safe from another thread."""
        if self.range is None or not self.range.stops:
            return None
        return self.range.progress(self._positions)

    # --- where to start and stop ---------------------------------------------------------

    def _partitions(self, admin: AdminPort) -> list[TopicPartition]:
        from kafkactl.admin import queries as kadmin
        from kafkactl.names import shell_command

        found = kadmin.describe_topics(admin, self.options.topics)
        missing = [name for name, info in found.items() if not info.exists]
        if missing:
            raise KafkactlError(
                f"topic {missing[0]} does not exist; list topics with: "
                + shell_command("kafkactl", "topics", "list")
            )
        out: list[TopicPartition] = []
        for name in self.options.topics:
            ids = sorted(p.partition for p in found[name].partitions)
            wanted = self.options.partitions or ids
            for p in wanted:
                if p not in ids:
                    raise OptionError(
                        "partitions", f"{p}: topic {name} has partitions 0..{len(ids) - 1}"
                    )
                out.append(TopicPartition(name, p))
        return out

    def _bounds(
        self, admin: AdminPort, partitions: list[TopicPartition]
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int | None]]:
        lows = admin.list_offsets(partitions, latest=False)
        highs = admin.list_offsets(partitions, latest=True)
        starts = {
            tp: resolve(admin, self.options.start, partitions, lows, highs)[tp] for tp in partitions
        }
        stops: dict[TopicPartition, int | None] = dict.fromkeys(partitions)
        if self.options.stop is not None:
            resolved = resolve(admin, self.options.stop, partitions, lows, highs)
            stops = {tp: resolved[tp] for tp in partitions}
        return starts, stops

    # --- the loop -------------------------------------------------------------------------

    def _loop(self, consumer: ConsumerPort, stops: dict[TopicPartition, int | None]) -> None:
        done: set[TopicPartition] = set()
        open_ends = {tp: end for tp, end in stops.items() if end is not None}
        printer = self._printer()
        last_tick = last_lag = time.monotonic()
        while not self._stop.is_set():
            finished = {tp for tp, end in open_ends.items() if tp not in done}
            if open_ends and finished and consumer.at_end({tp: open_ends[tp] for tp in finished}):
                done |= finished
                self._positions.update((tp, open_ends[tp]) for tp in finished)
            if open_ends and len(done) == len(stops):
                return
            if printer is not None:
                encoded = consumer.poll_encoded(
                    self.options.poll_timeout_s, POLL_RECORDS, printer.record_encoder
                )
                got = bool(encoded)
                ended = self._print(printer, consumer, encoded, stops, done)
            else:
                batch = consumer.poll(self.options.poll_timeout_s, POLL_RECORDS)
                got = bool(batch)
                ended = self._handle_batch(consumer, batch, stops, done)
            if ended:
                return
            if got:
                self._flush()  # a line per record as it comes, one write per batch
            now = time.monotonic()
            if now - last_lag >= LAG_INTERVAL_S:
                last_lag = now
                self._measure_lag(consumer)
            if self.on_tick is not None and now - last_tick >= 1.0:
                last_tick = now
                self.on_tick(self.metrics.snapshot())

    def _printer(self) -> PrintsLines | None:
        """The print handler when it can print straight from the engine's records: the
        default envelope, no filter, no decoding (those need a Message per record)."""
        if self.handler.record_encoder is None or self.options.record_filter.active:
            return None
        return cast(PrintsLines, self.handler)

    def _print(
        self,
        printer: PrintsLines,
        consumer: ConsumerPort,
        polled: dict[TopicPartition, EncodedBatch],
        stops: dict[TopicPartition, int | None],
        done: set[TopicPartition],
    ) -> bool:
        """Write a poll's lines, partition by partition, cut at each stop and at --count;
        True when the read ends here. Counted per batch, not per record."""
        count = self.options.count
        for tp, (offsets, lines) in polled.items():
            end = stops.get(tp)
            n = len(offsets)
            if end is not None and offsets[-1] + 1 >= end:
                n = bisect_left(offsets, end)  # the records before the stop
                done.add(tp)
                consumer.pause([tp])
            reached = False
            if count is not None and self._handled + n >= count:
                n, reached = count - self._handled, True
            if n:
                self.metrics.incr("received", n)
                started = time.perf_counter()
                try:
                    printer.write_lines(lines[:n] if n < len(lines) else lines)
                except OutputClosed as exc:
                    self._output_failed(exc)
                    return True
                self.metrics.observe_latency((time.perf_counter() - started) / n)
                self.metrics.incr("processed", n)
                self._handled += n
            after = offsets[n - 1] + 1 if reached else offsets[-1] + 1
            self._positions[tp] = after if end is None else min(after, end)
            if reached:
                self.request_stop("count")
                return True
        return self._stop.is_set()

    def _handle_batch(
        self,
        consumer: ConsumerPort,
        batch: dict[TopicPartition, list[Record]],
        stops: dict[TopicPartition, int | None],
        done: set[TopicPartition],
    ) -> bool:
        """Filter and handle a poll's records one by one; True when the read ends here."""
        for tp, records in batch.items():
            end = stops.get(tp)
            for record in records:
                if end is not None and record.offset >= end:
                    done.add(tp)
                    consumer.pause([tp])
                    break
                if self._handle(record):
                    self._handled += 1
                if self._stop.is_set():
                    self._positions[tp] = record.offset + 1
                    return True
                if self.options.count is not None and self._handled >= self.options.count:
                    self._positions[tp] = record.offset + 1
                    self.request_stop("count")
                    return True
                if end is not None and record.offset + 1 >= end:
                    done.add(tp)
                    consumer.pause([tp])
            if records:  # per batch: cheaper than per record
                after = records[-1].offset + 1
                self._positions[tp] = after if end is None else min(after, end)
        return False

    def _measure_lag(self, consumer: ConsumerPort) -> None:
        """Records between the positions read to and the end offsets the consumer has seen
        (its own positions may be past a --to stop: a fetch returns whole batches)."""
        try:
            known = consumer.lag(self._positions)
        except Exception as exc:  # a gauge never stops the read
            logger.debug("measuring the lag failed: {}", exc)
            return
        self.lag = sum(known.values()) if known else None

    def _handle(self, record: Record) -> bool:
        """Filter, then handle one record; True when the handler ran (and counted for --count)."""
        self.metrics.incr("received")
        message = message_from_record(record)
        if self.options.record_filter.active and not self.options.record_filter.matches(message):
            self.metrics.incr("filtered")
            return False
        started = time.perf_counter()
        try:
            self.handler.handle(message)
        except BaseException as exc:  # a handler's exception of any kind is its failure
            if isinstance(exc, OutputClosed):
                self._output_failed(exc)
                return False
            self._failed(message, exc)
            return True
        self.metrics.observe_latency(time.perf_counter() - started)
        self.metrics.incr("processed")
        return True

    def _flush(self) -> None:
        """Push the handler's buffered output to the OS; stop if it cannot be written."""
        if self._stopped_by == "output error":
            return
        try:
            self.handler.flush()
        except OutputClosed as exc:
            self._output_failed(exc)

    def _output_failed(self, exc: OutputClosed) -> None:
        if self._failure is None:
            self._failure = f"{exc}; consume stopped"
        self.request_stop("output error")

    def _failed(self, message: Message, exc: BaseException) -> None:
        self.metrics.incr("failed")
        where = f"{message.topic}[{message.partition}]@{message.offset}"
        reason = exc.failure.message if isinstance(exc, HandlerFailure) else _describe(exc)
        if self.options.on_failure == "skip":
            self.metrics.incr("skipped")
            logger.bind(topic=message.topic, partition=message.partition).warning(
                "handler failed on {} (skipped): {}", where, reason
            )
            return
        self._failure = (
            f"handler failed on {where}: {reason}; nothing after it was handled "
            "(--on-failure skip passes failures over; a group (-g) routes them to retry tiers)"
        )
        self.request_stop("failure")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
