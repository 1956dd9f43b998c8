"""Handling: running the handler on each message and handing every outcome on.

A message runs on a worker (WorkerPool lanes keep the --ordering; a worker takes a lane's run of
records at once and settles their successes together, consumer/batch.py), or inline on the poll
thread for the print handler. Success is recorded in the dedupe store, then the message is
complete; a failure is handed on (consumer/handoff.py: routed to its retry tier or the DLQ, or
the run stops, or it is skipped, by --on-failure). Output that cannot be written
(OutputClosed) is no failure of the message: it stops the run with the message incomplete. A
dedupe store that fails stops the run too: a message it could not look up is left incomplete
(read again next run); one whose success it could not record is complete (its handler did
succeed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import replace

from loguru import logger

from kafkactl import headers as hdr
from kafkactl.consumer.batch import BATCH_SLICE_S, Settled, Settler
from kafkactl.consumer.commits import Commits
from kafkactl.consumer.dedupe import DedupeCheck, DedupeStore
from kafkactl.consumer.dispatch import WorkerPool, lane_for
from kafkactl.consumer.failures import classify
from kafkactl.consumer.handoff import Handoff
from kafkactl.consumer.holding import StormGuard
from kafkactl.consumer.options import ConsumeOptions, ConsumeStop
from kafkactl.consumer.router import RetryRouter
from kafkactl.consumer.state import Partitions, Work
from kafkactl.consumer.strict import StrictOrder, unreadable_tiers
from kafkactl.errors import OutputClosed
from kafkactl.handlers.base import Handler
from kafkactl.kafka import Record, TopicPartition
from kafkactl.message import Message, message_from_record
from kafkactl.metrics import Metrics
from kafkactl.topology import default_message_id
from kafkactl.tracing import tracer


class Handling:
    """Takes fetched records (under the lock, from the poll loop) and settles each one."""

    def __init__(
        self,
        options: ConsumeOptions,
        handler: Handler,
        dedupe: DedupeStore,
        metrics: Metrics,
        partitions: Partitions,
        commits: Commits,
        router: RetryRouter,
        request_stop: Callable[[ConsumeStop], None],
    ) -> None:
        self.options = options
        self.handler = handler
        self.dedupe = dedupe
        self.metrics = metrics
        self._partitions = partitions
        self._commits = commits
        self._request_stop = request_stop
        self.handoff = Handoff(options, metrics, partitions, router, request_stop)
        self.dispatched = 0  # records handed to the handler (--count)
        self.stop_lines = self.handoff.stop_lines  # why a stopped run stopped (one list)
        self.check = DedupeCheck(
            dedupe,
            options.group,
            partitions.lock,
            lambda line: self.handoff.stop(line, "dedupe error"),
        )
        self._inline_failures: list[tuple[Work, hdr.Failure, float]] = []
        self._outbox: list[tuple[Work, Hashable | None]] = []  # dispatched, not yet submitted
        self._tracer = tracer()
        self.pool: WorkerPool[Work] = WorkerPool(options.workers, run_batch=self._handle_batch)
        self.guard = self._storm_guard()
        self._settler = Settler(
            options.group,
            dedupe,
            metrics,
            partitions,
            self.guard,
            self.check.failed,
            eager=self._tracer.enabled,
        )
        self.strict: StrictOrder | None = None  # --ordering key-strict (set_strict)

    # --- on the poll thread, under the lock ---------------------------------------------

    def filtered_out(self, tp: TopicPartition, message: Message) -> bool:
        """True (and counted, and complete) when --key/--header/--grep leave the message out."""
        wanted = self.options.record_filter
        if not wanted.active or wanted.matches(message):
            return False
        self.metrics.incr("received")
        self.metrics.incr("filtered")
        self._partitions.tracker.skip(tp, message.offset)
        self._strict_settled(Work(message, tp, self._partitions.epochs[tp]))
        return True

    def handle_inline(self, tp: TopicPartition, record: Record) -> bool:
        """Run the print handler on the poll thread; False once the run is stopping (its output
        or the dedupe store failed), the record left incomplete."""
        if self.check.broken:
            return False
        message = message_from_record(record)
        if self.filtered_out(tp, message):
            return True
        partitions = self._partitions
        self.dispatched += 1
        self.metrics.incr("received")
        seen = self.check.seen(message.message_id)
        if seen is None:
            return False
        if seen:
            self.metrics.incr("deduplicated")
        else:
            started = time.perf_counter()
            try:
                if self._tracer.enabled:
                    with self._tracer.process(message, self.options.group):
                        self.handler.handle(message)
                else:
                    self.handler.handle(message)
            except BaseException as exc:
                if isinstance(exc, OutputClosed):
                    self._commits.output_closed(exc)
                    return False
                # "Never fails", yet it did (a record that cannot be decoded, an encoder bug,
                # a custom stream): a failure like any other, routed, and the poll loop goes on.
                partitions.tracker.track(tp, record.offset)
                partitions.inflight[tp] += 1
                work = Work(message, tp, partitions.epochs[tp])
                self._inline_failures.append((work, classify(exc), started))
                return True
            self.metrics.observe_latency(time.perf_counter() - started)
            self.check.mark(message.message_id)
            self.metrics.incr("processed")
        partitions.tracker.skip(tp, record.offset)
        return True

    def dispatch(self, tp: TopicPartition, record: Record) -> None:
        """Take the record for a worker, in its lane (handed over by `submit_dispatched`)."""
        message = message_from_record(record)
        if self.filtered_out(tp, message):
            return
        partitions = self._partitions
        partitions.tracker.track(tp, record.offset)
        partitions.inflight[tp] += 1
        self.dispatched += 1
        lane = lane_for(self.options.ordering, tp, record.key)
        self._outbox.append((Work(message, tp, partitions.epochs[tp]), lane))

    def dispatch_run(self, tp: TopicPartition, records: list[Record]) -> None:
        """`dispatch` each of a partition's records (no filter, no --count), in one go."""
        partitions = self._partitions
        epoch = partitions.epochs[tp]
        keyed = self.options.ordering in ("key", "key-strict")
        lane = None if keyed else lane_for(self.options.ordering, tp, None)
        outbox = self._outbox
        offsets = []
        for record in records:
            offset = record.offset
            if record.headers:
                message = message_from_record(record)
            else:  # what message_from_record makes of a record without headers, sooner
                message = Message(
                    tp.topic,
                    tp.partition,
                    offset,
                    record.key,
                    record.value,
                    [],
                    record.timestamp,
                    record.timestamp_type,
                    default_message_id(tp.topic, tp.partition, offset),
                )
            offsets.append(offset)
            outbox.append((Work(message, tp, epoch), (tp, record.key) if keyed else lane))
        partitions.tracker.track_many(tp, offsets)
        partitions.inflight[tp] += len(offsets)
        self.dispatched += len(offsets)

    def submit_dispatched(self) -> None:
        """Hand the records `dispatch` took to the workers, at once."""
        outbox = self._outbox
        if outbox:
            self._outbox = []
            self.metrics.incr("received", len(outbox))
            self.pool.submit_many(outbox)

    # --- on the poll thread, outside the lock ---------------------------------------------

    def flush_stale(self, every: bool = False) -> None:
        """Settle what workers finished a while ago behind a record still running (batch.py)."""
        self._settler.flush_stale(every)

    def route_inline_failures(self) -> None:
        """Route what the inline handler failed: outside the lock, since a publish may wait for
        room, and acks need the lock."""
        failed, self._inline_failures = self._inline_failures, []
        for work, why, started in failed:
            self.handoff.failed(work, why, started)

    # --- on a worker ----------------------------------------------------------------------

    def _handle_batch(self, works: list[Work]) -> int:
        """Run a lane's records in order on a worker; every outcome settles its work (a worker
        never dies), successes together (consumer/batch.py). Returns how many it ran: past
        BATCH_SLICE_S the rest go back to the lane, so slow handlers take lanes in turn."""
        settler = self._settler
        settled = settler.mine()
        began = time.perf_counter()
        ran = 0
        for work in works:
            try:
                self._run_handler(work, settled)
            except BaseException as exc:
                self._unsettled(work, exc)
            ran += 1
            now = time.perf_counter()
            if settled and settler.due(settled, now):
                settler.flush(settled)
            if now - began >= BATCH_SLICE_S:
                break
        settler.flush(settled)
        return ran

    def _unsettled(self, work: Work, exc: BaseException) -> None:
        """A bug of ours: the message stays unfinished (redelivered), not lost."""
        logger.opt(exception=exc).error(
            "{}[{}]@{}: could not settle the message ({}: {}); it is not committed and "
            "will be redelivered",
            work.tp.topic,
            work.tp.partition,
            work.message.offset,
            type(exc).__name__,
            exc,
        )
        self._partitions.abandon(work)

    def _run_handler(self, work: Work, settled: Settled) -> None:
        message = work.message
        if not self._partitions.wanted(work):
            self._partitions.abandon(work)  # its partition is being revoked: not started
            return
        if self.guard.holds(work):  # the breaker is open: kept for a re-run once it closes
            return
        if self.check.broken:  # nothing more is started: read again next run
            self._partitions.abandon(work)
            return
        seen = settled.seen(message.message_id) or self.check.seen(message.message_id)
        if seen is None:
            self._partitions.abandon(work)  # not looked up, not handled: read again next run
            return
        if seen:
            settled.skip(work)
            return
        if self._follows(work):
            return
        if not self._tracer.enabled:
            self._attempt(work, settled)
            return
        # The attempt's span is current while the handler runs (its own spans join) and while
        # a failure is routed (the copy's publish span is its child).
        with self._tracer.process(message, self.options.group) as span:
            self._attempt(work, settled, span.fail)

    def _attempt(
        self,
        work: Work,
        settled: Settled,
        on_failure: Callable[[hdr.Failure], None] | None = None,
    ) -> None:
        """Run the handler once; gather a success (settled with its batch), route a failure."""
        message = work.message
        started = time.perf_counter()
        try:
            self.handler.handle(message)
        except BaseException as exc:
            # Any exception a handler raises is its failure, BaseExceptions included
            # (KeyboardInterrupt, SystemExit, GeneratorExit, a custom one): signals reach the
            # main thread only, so none of these can be a request to stop kafkactl.
            if isinstance(exc, OutputClosed):
                self._commits.output_closed(exc)
                self._partitions.abandon(work)  # not complete: redelivered next time
                return
            why = classify(exc)
            error = exc
        else:
            elapsed = time.perf_counter() - started
            durable = self.dedupe.durable
            if durable:
                self.check.mark(message.message_id)  # first thing: a crash before it re-runs it
            settled.success(work, started, elapsed, mark=not durable)
            return
        # The breaker sees outcomes in order: every worker's gathered successes (they finished
        # before this failure) are settled first, or failures of records retried from a tier,
        # which fail again, would look like a streak while main-topic successes wait in batches.
        self._settler.flush(settled)
        self._settler.flush_stale(every=True)
        if on_failure is not None:
            on_failure(why)
        if self.strict is not None:
            self.strict.hold(work)  # its key's next records wait until it is routed
        if self.guard.failed(work, why, started, error):
            return  # waiting for the breaker's verdict, or held while it is open
        self.handoff.failed(work, why, started)

    # --- the failure-storm breaker (consumer/holding.py) ----------------------------------

    def _storm_guard(self) -> StormGuard:
        """The breaker's guard; off unless failures are routed (--on-failure dlq)."""
        rules = self.options.breaker
        if not self.options.routes:
            rules = replace(rules, enabled=False)
        return StormGuard(
            rules,
            self._partitions,
            self.pool,
            self._lane_of,
            self.handoff.failed,
            may_wait=not self._tracer.enabled,
        )

    def _lane_of(self, work: Work) -> Hashable | None:
        """The lane a held record goes back to (the same as when it was dispatched)."""
        return lane_for(self.options.ordering, work.tp, work.message.key)

    # --- strict per-key order (--ordering key-strict, consumer/strict.py) ------------------

    def _follows(self, work: Work) -> bool:
        """True when the record may not run yet: it was sent after an earlier record of its key
        still in the retry tiers (or to the DLQ behind a dead-lettered one)."""
        if self.strict is None:
            return False
        try:
            admission = self.strict.admit(work)
        except Exception as exc:  # its slot's state could not be read from the tiers
            self._strict_failed(work, exc)
            return True
        if admission.verdict == "run":
            return False
        if admission.verdict == "wait":
            return True  # parked: sent back to the workers once the failure ahead is routed
        self.metrics.incr("followed")
        self.strict.follow(
            work,
            admission,
            lambda: self._partitions.complete(work),
            lambda route, error: self.handoff.cannot_route(work, route.topic, error),
        )
        return True

    def _strict_failed(self, work: Work, exc: Exception) -> None:
        """The blocked keys could not be rebuilt: stop (nothing from here on is committed)."""
        with self._partitions.lock:
            self.stop_lines.append(unreadable_tiers(work, exc))
        self._partitions.abandon(work)
        self._request_stop("failure")

    def set_strict(self, strict: StrictOrder) -> None:
        """Keep each key's records in order through the retry tiers (--ordering key-strict)."""
        strict.resubmit = lambda work: self.pool.submit(work, self._lane_of(work))
        self.guard.waiting_behind = strict.parked_count
        self._settler.strict_settled = strict.settled
        self.handoff.strict = strict
        self.strict = strict

    def drop_held(self, gone: Callable[[Work], bool]) -> list[Work]:
        """Remove what the breaker holds and what waits behind it (revoked partitions)."""
        dropped = self.guard.drop(gone)
        if self.strict is not None:
            dropped += self.strict.drop(gone)
        return dropped

    def _strict_settled(self, work: Work) -> None:
        """A complete record no longer holds its key back."""
        if self.strict is not None:
            self.strict.settled(work)
