"""Replayer: one replay of one DLQ - read each partition's range, decide, send, commit.

Partitions are assigned explicitly (no rebalancing) and read one after the other, from the
committed offset up to the end offset taken when the run started. What is done, and how it is
committed, is in `checkpoint`; how an interrupted run's copies are found again, in `recovery`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

from loguru import logger

from kafkactl.config import Settings
from kafkactl.kafka import connect_producer as kafka_connect_producer
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.kafka.ports import ConsumerPort, ProducerPort, Record
from kafkactl.metrics import Metrics
from kafkactl.ratelimit import RateLimiter
from kafkactl.replay.checkpoint import PartitionProgress, commit_checkpoint, load_progress
from kafkactl.replay.clients import ReplayClients
from kafkactl.replay.deadletter import DeadLetter, read_dead_letter
from kafkactl.replay.model import (
    ReplayOptions,
    ReplayStop,
    ReplaySummary,
    check_target,
    chosen_partitions,
)
from kafkactl.replay.reading import read_range
from kafkactl.replay.recovery import find_copies
from kafkactl.replay.repair import repair
from kafkactl.replay.selection import Decision, decide
from kafkactl.replay.sending import CopySender
from kafkactl.tracing import tracer


class Replayer:
    """Runs one replay of one DLQ: `open()`, then `plan()` (dry run) and/or `run()`, `close()`.

    Threads: the caller's thread reads the DLQ, decides and commits; the producer's IO thread
    reports acknowledgements (guarded by one lock). The clients come from `connect_admin`,
    `connect_consumer` and `connect_producer` (kafkactl.kafka's by default; tests pass fakes).
    """

    def __init__(
        self,
        settings: Settings,
        options: ReplayOptions,
        metrics: Metrics | None = None,
        on_progress: Callable[[ReplaySummary], None] | None = None,
        clock: Callable[[], float] = time.time,
        connect_admin: Callable[[Settings], AdminPort] | None = None,
        connect_consumer: Callable[..., ConsumerPort] | None = None,
        connect_producer: Callable[[Settings], ProducerPort] | None = None,
    ) -> None:
        from kafkactl import kafka
        from kafkactl.topology import replay_group

        self._connect_admin = connect_admin or kafka.connect_admin
        self._connect_consumer = connect_consumer or kafka.connect_consumer
        self._connect_producer = connect_producer or kafka_connect_producer
        self.settings = settings
        self.options = options
        self.group = options.replay_group or replay_group(options.dlq)
        self.metrics = metrics or Metrics()
        self.on_progress = on_progress
        self._clock = clock
        self._stop = threading.Event()
        self._stopped_by: ReplayStop | None = None
        self._lease_lost = False
        self._lock = threading.Lock()
        self._opened: ReplayClients | None = None
        self._parts: list[PartitionProgress] = []
        self._last_now = 0
        self._summary: ReplaySummary = self._new_summary(dry_run=True)
        self._publish_error: str | None = None
        self._replays = 0
        self._pass_started = time.monotonic()
        self._tracer = tracer()
        self._next_progress = 0.0
        self._next_commit = 0.0
        self._transforming = False

    # --- lifecycle ------------------------------------------------------------------------

    def request_stop(self, reason: ReplayStop = "signal") -> None:
        """Stop reading; in-flight copies are awaited and what was acknowledged is committed."""
        if not self._stop.is_set():
            self._stopped_by = reason
            self._stop.set()

    def lost_lease(self) -> None:
        """The replay's lease is gone (another replay may run): send nothing more, this pass
        or the next."""
        self._lease_lost = True
        self.request_stop("lease lost")

    def open(self) -> None:
        """Connect, check the DLQ and the target, and read each partition's range and progress."""
        from kafkactl.admin import queries as kadmin
        from kafkactl.kafka import TopicPartition

        opts = self.options
        check_target(opts)
        clients = self._opened = ReplayClients.connect(
            self.settings, self.group, self._connect_admin, self._connect_consumer
        )
        info = kadmin.describe_topics(clients.admin, [opts.dlq])[opts.dlq]
        chosen = chosen_partitions(opts, info, clients.topic_exists)
        tps = [TopicPartition(opts.dlq, p) for p in chosen]
        self._parts = load_progress(clients.consumer, clients.admin, self.group, tps)
        self._reset()

    def close(self) -> None:
        """Close every client (the producer after a last flush)."""
        if self._opened is not None:
            self._opened.close()
            self._opened = None
        if self.options.transform is not None:
            self.options.transform.close()

    def __enter__(self) -> Replayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _clients(self) -> ReplayClients:
        """The open replay's clients (open() made them; close() ends them)."""
        if self._opened is None:
            raise RuntimeError("the replay is not open: call open() first")
        return self._opened

    # --- the two passes -------------------------------------------------------------------

    def plan(self, transform: bool = False) -> ReplaySummary:
        """Read the range and decide, sending and committing nothing (dry run, confirmation);
        with `transform`, run the transform on each selected record too (the dry run)."""
        return self._pass(None, transform=transform)

    def run(self) -> ReplaySummary:
        """Replay: send the copies, commit progress as they are acknowledged."""
        from kafkactl.producer import Publisher

        clients = self._clients
        if clients.sender is None:
            clients.publisher = Publisher(
                self.settings, self.metrics, max_in_flight=1000, connect=self._connect_producer
            )
            clients.sender = CopySender(
                self.options,
                clients.publisher,
                self.metrics,
                self._lock,
                self._now_ms,
                self._tracer,
                self._publish_failed,
            )
        return self._pass(clients.sender, transform=True)

    def _new_summary(self, dry_run: bool) -> ReplaySummary:
        summary = ReplaySummary(self.options.dlq, self.group, self.options.to, dry_run)
        summary.foreign_kept = self.options.keep_foreign_headers
        if self.options.transform is not None:
            summary.transform = self.options.transform.description
        return summary

    def _reset(self) -> None:
        """Fresh per-pass state from what was committed when the replay opened."""
        self._stop.clear()
        self._stopped_by = None
        if self._lease_lost:
            self.request_stop("lease lost")
        self._publish_error = None
        self._replays = 0
        for part in self._parts:
            part.reset(self.options.from_beginning)

    def _pass(self, sender: CopySender | None, transform: bool) -> ReplaySummary:
        """One pass over the range: copies sent by `sender`, or none (a dry run)."""
        publish = sender is not None
        self._reset()
        self._transforming = transform and self.options.transform is not None
        summary = self._summary = self._new_summary(dry_run=not publish)
        self._pass_started = time.monotonic()
        self._next_progress = 0.0
        summary.total = sum(max(0, p.end - p.start) for p in self._parts)
        limiter = RateLimiter(self.options.rate) if publish and self.options.rate else None
        for part in self._parts:
            if self._stop.is_set():
                break
            if part.fence is not None and not self.options.from_beginning:
                self._recover(part, commit=publish)
            if part.start < part.end:
                self._read_partition(part, sender, limiter)
            if publish:
                self._settle_partition(part)
        if self._publish_error:
            summary.warnings.append(self._publish_error)
        self._progress(force=True)
        summary.stopped_by = self._stopped_by or "end"
        summary.seconds = time.monotonic() - self._pass_started
        summary.metrics = self.metrics.snapshot()
        if self.on_progress is not None:
            self.on_progress(summary)
        return summary

    # --- one partition --------------------------------------------------------------------

    def _read_partition(
        self, part: PartitionProgress, sender: CopySender | None, limiter: RateLimiter | None
    ) -> None:
        """Read from the start to the end offset taken at open(), or until told to stop."""
        self._next_commit = time.monotonic() + self.options.commit_interval
        read_range(
            self._clients.consumer,
            part,
            self._stop,
            self.options.poll_timeout_ms / 1000,
            visit=lambda record: self._visit(part, record, sender, limiter),
            absent=partial(self._mark_absent, part),
            tick=partial(self._tick, part, sender is not None),
        )

    def _tick(self, part: PartitionProgress, publish: bool) -> None:
        """Commit when the interval is up (when publishing); show progress."""
        if publish and time.monotonic() >= self._next_commit:
            self._commit(part)
            self._next_commit = time.monotonic() + self.options.commit_interval
        self._progress()

    def _mark_absent(self, part: PartitionProgress, start: int, end: int) -> None:
        if end < start:
            return
        with self._lock:
            part.mark_done(start, end)

    def _visit(
        self,
        part: PartitionProgress,
        record: Record,
        sender: CopySender | None,
        limiter: RateLimiter | None,
    ) -> bool:
        """Handle one record; False stops reading the partition (the record is left as is)."""
        summary = self._summary
        offset = record.offset
        if offset in part.done:
            summary.scanned += 1
            summary.skipped += 1  # replayed by an earlier run (remembered or recovered)
            return True
        dl = read_dead_letter(record)
        opts = self.options
        decision = decide(
            dl,
            filters=opts.filters,
            to=opts.to,
            settings=self.settings,
            dlq=opts.dlq,
            fallback_group=opts.group,
            max_replays=opts.max_replays,
        )
        if decision.action == "replay" and not self._clients.topic_exists(decision.target):
            decision = Decision("failed", reason=f"target topic {decision.target} does not exist")
        if decision.action in ("replay", "parked") and part.memo_full(offset):
            summary.warnings.append(
                f"partition {part.partition}: stopped at offset {offset}: too many separate "
                f"replayed ranges beyond offset {part.watermark()} (the first dead letter left "
                "in the DLQ by the filters or a failure) to remember; replay or include those "
                "records so progress can move on, then run again"
            )
            return False
        if decision.action == "replay" and limiter and not limiter.acquire(self._stop):
            return False
        summary.scanned += 1
        if decision.action == "filtered":
            summary.filtered += 1
            return True
        summary.matched += 1
        value, transformed = dl.value, False
        if decision.action == "replay" and self._transforming:
            repaired = repair(opts, summary, self._lock, record, dl, decision, sender is None)
            if repaired is None:  # unrepaired: stays in the DLQ, not marked done
                self._count_replay()
                return True
            value, transformed = repaired, True
        summary.add_row(dl, decision, opts.max_rows)
        summary.count_headers(dl, replayed=decision.action == "replay")
        if decision.action == "parked":
            summary.parked += 1
            if dl.malformed:
                logger.bind(topic=opts.dlq, partition=dl.partition, offset=dl.offset).warning(
                    "parked {}:{}:{}: {}", opts.dlq, dl.partition, dl.offset, decision.reason
                )
            with self._lock:
                part.mark_done(offset, offset)
                part.touched = True
            return True
        if decision.action == "failed":
            self._fail(decision.reason or "unknown", dl)
            return True
        target = decision.target or ""  # a "replay" decision always names its target
        if sender is not None:
            self._fence(part, target)
            sender.send(self._summary, part, dl, target, value, transformed)
        else:
            summary.count_target(target)
            part.mark_done(offset, offset)
        self._count_replay()
        return True

    def _count_replay(self) -> None:
        """One more record selected for replay (repaired or not): --limit counts these."""
        self._replays += 1
        if self.options.limit is not None and self._replays >= self.options.limit:
            self.request_stop("limit")

    def _fail(self, reason: str, dl: DeadLetter) -> None:
        with self._lock:
            self._summary.count_failure(reason)
        logger.bind(topic=self.options.dlq, partition=dl.partition, offset=dl.offset).debug(
            "not replayed: {}", reason
        )

    # --- sending ---------------------------------------------------------------------------

    def _fence(self, part: PartitionProgress, target: str) -> None:
        """The fence must be committed before anything reaches a new target (crash recovery)."""
        if target not in part.fence_topics:
            part.fence_topics.append(target)
            self._commit(part, required=True)

    def _publish_failed(self, reason: str) -> None:
        """A copy was not delivered (producer IO thread): stop; the pass reports `reason`."""
        self._publish_error = reason
        self.request_stop("publish failed")

    def _now_ms(self) -> int:
        # Never goes back within a run: replay.at must not be older than the fence.
        self._last_now = max(self._last_now, int(self._clock() * 1000))
        return self._last_now

    # --- commits ---------------------------------------------------------------------------

    def _settle_partition(self, part: PartitionProgress) -> None:
        """Wait for the partition's copies, then commit; the fence stays if some never settled."""
        publisher = self._clients.publisher
        if publisher is not None and part.pending:
            publisher.flush(self.options.flush_timeout)
        if part.touched:
            self._commit(part, final=True)

    def _commit(self, part: PartitionProgress, final: bool = False, required: bool = False) -> None:
        """Commit the partition's checkpoint (kafkactl.replay.checkpoint.commit_checkpoint)."""
        commit_checkpoint(
            self._clients.consumer,
            self.group,
            part,
            self._summary,
            self._lock,
            self._now_ms,
            final=final,
            required=required,
            stop=self.request_stop,
        )

    # --- crash recovery ---------------------------------------------------------------------

    def _recover(self, part: PartitionProgress, commit: bool) -> None:
        """Count copies an interrupted run sent but did not commit as done (see `recovery`)."""
        if part.recovered is None:
            part.recovered = find_copies(
                part,
                self.options.dlq,
                lambda: self._connect_consumer(self.settings, None),
                self._clients.topic_exists,
                self._stop,
            )
        self._summary.recovered += part.mark_recovered()
        if commit:
            # Record what was found, and drop the old fence, before anything new is sent.
            part.touched = True
            self._commit(part, final=True, required=True)

    # --- progress display -------------------------------------------------------------------

    def _progress(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if force or now >= self._next_progress:
            self._next_progress = now + 0.2
            self.on_progress(self._summary)
