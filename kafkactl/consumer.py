"""ConsumerPipeline: the poll loop, worker pool, retry-tier due times, rebalances and commits.

Threads: the poll loop owns the consumer (it is not thread-safe); workers run handlers; the
producer's delivery thread reports routing acks; the rebalance hooks run where the engine runs
them (kafka-python: its IO thread; librdkafka: inside poll, on the poll loop's thread). Shared
state (tracker, in-flight counts, epochs) is guarded by one lock.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from loguru import logger

from kafkactl import headers as hdr
from kafkactl.config import Settings
from kafkactl.dedupe import DedupeStore
from kafkactl.dispatch import WorkerPool, lane_for
from kafkactl.errors import FatalError, KafkactlError, OutputClosed
from kafkactl.filters import RecordFilter
from kafkactl.gctune import fewer_collections, fewer_thread_switches
from kafkactl.kafka import ConsumerPort, Offsets, Record, TopicPartition, connect_admin
from kafkactl.kafka import connect_consumer as default_connect_consumer
from kafkactl.kafka.admin import Admin
from kafkactl.message import HandlerFailure, Message, message_from_record
from kafkactl.metrics import Metrics
from kafkactl.names import shell_command
from kafkactl.offsets import OffsetTracker
from kafkactl.producer import Publisher
from kafkactl.router import RetryRouter
from kafkactl.topology import TierMap

# Asynchronous commits go one at a time: a client may retry a commit that failed (librdkafka
# does, across a broker restart), and an older commit landing after a newer one would move the
# group's offset back. A commit not settled after this long no longer blocks the next one.
ASYNC_COMMIT_PATIENCE_S = 30.0
# A tier record is due at its kafkactl.not-before, but never later than the tier's delay after
# the record was written plus this much (clocks of client and broker may differ a little).
DUE_TIME_SKEW_MS = 5_000


@dataclass
class ConsumeOptions:
    """How to run the pipeline (the `consume` flags)."""

    topics: list[str]
    group: str
    workers: int = 4
    ordering: str = "key"
    no_retry: bool = False
    count: int | None = None
    exit_at_end: bool = False
    shutdown_timeout: float = 30.0
    drain_timeout: float = 10.0
    metrics_interval: float = 10.0
    commit_interval: float = 1.0
    max_in_flight_per_partition: int = 4000
    poll_timeout_ms: int = 100
    # dlq: route failures through the tiers into the DLQ; stop: exit 1 at the first failure,
    # nothing from it on committed; skip: count it and go on (neither needs tiers or a DLQ).
    on_failure: Literal["dlq", "stop", "skip"] = "dlq"
    record_filter: RecordFilter = field(default_factory=RecordFilter)

    @property
    def routes(self) -> bool:
        """True when failures go to retry tiers / the DLQ (which must then exist)."""
        return self.on_failure == "dlq"


@dataclass
class ConsumeSummary:
    """The outcome of a run: counters, the reason it stopped, and the offsets committed last."""

    metrics: dict[str, Any]
    stopped_by: str
    committed: dict[str, int] = field(default_factory=dict)
    # Set when the run stopped on a failure (a copy that can never be delivered): one line,
    # the command exits 1 with it.
    failure: str | None = None


@dataclass
class _Work:
    message: Message
    tp: TopicPartition
    epoch: int


ConsumerFactory = Callable[..., ConsumerPort]


class ConsumerPipeline:
    """At-least-once consumer: commit only past complete messages, route failures, never sleep."""

    def __init__(
        self,
        settings: Settings,
        options: ConsumeOptions,
        handler: Any,
        dedupe: DedupeStore,
        metrics: Metrics | None = None,
        on_tick: Callable[[dict[str, Any]], None] | None = None,
        connect_consumer: ConsumerFactory = default_connect_consumer,
        connect_publisher: Callable[[Settings, Metrics], Publisher] | None = None,
        connect_cluster: Callable[[Settings], Admin] = connect_admin,
    ) -> None:
        self.settings = settings
        self.options = options
        self.handler = handler
        self.dedupe = dedupe
        self.metrics = metrics or Metrics()
        self.on_tick = on_tick
        self._connect_consumer_port = connect_consumer
        self._connect_publisher = connect_publisher or Publisher
        self._connect_cluster = connect_cluster
        self.tiers = TierMap(settings, options.topics, options.group)
        self._lock = threading.RLock()
        self._tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        self._epochs: dict[TopicPartition, int] = {}
        self._epoch_seq = 0
        self._inflight: dict[TopicPartition, int] = defaultdict(int)
        # tier partition -> epoch ms when its next record is due
        self._due: dict[TopicPartition, int] = {}
        self._backpressured: set[TopicPartition] = set()
        self._stop = threading.Event()
        self._stopped_by = "end"
        self._dispatched = 0
        self._assigned_once = False
        self._consumer: ConsumerPort | None = None
        self._admin: Admin | None = None
        self._publisher: Publisher | None = None
        self._router: RetryRouter | None = None
        self._pool: WorkerPool | None = None
        self._inline = bool(getattr(handler, "inline", False))
        self._max_records = settings.consumer_max_poll_records or 500
        self._async_commit_since: float | None = None
        self._lost_points: Offsets = {}  # done before partitions were lost (finish_revoke)
        self._undeliverable: list[str] = []  # copies the broker refused for good, stop failures
        self._capped: set[tuple[TopicPartition, int]] = set()  # due times warned about
        self._size_limits: dict[str, int] = {}
        self._output_lost = False  # the print handler's output closed under it
        self._inline_failures: list[tuple[_Work, hdr.Failure, float]] = []
        self._flushed: Offsets = {}  # commit points whose lines were flushed to the output

    @property
    def drain_timeout(self) -> float:
        """How long revoked partitions' running work may take to finish (RebalanceListener)."""
        return self.options.drain_timeout

    # --- lifecycle ---------------------------------------------------------------------

    def request_stop(self, reason: str = "signal") -> None:
        """Stop fetching, let in-flight work finish, commit, and return from run()."""
        if not self._stop.is_set():
            self._stopped_by = reason
            self._stop.set()

    def run(self) -> ConsumeSummary:
        """Consume until stopped (signal, --count, --exit-at-end); returns the summary."""
        from kafkactl.kafka.connect import HealthLoop

        admin = self._admin = self._connect_cluster(self.settings)
        try:
            self._check_topics(admin)
        except BaseException:
            admin.close()
            raise
        health = HealthLoop(admin.describe_cluster, self.settings.health_interval).start()
        self._publisher = self._connect_publisher(self.settings, self.metrics)
        self._size_limits = self._copy_limits(admin) if self.options.routes else {}
        self._router = RetryRouter(
            self.tiers,
            self._publisher,
            self.metrics,
            self.options.no_retry,
            size_limit=self._size_limits.get,
        )
        self._consumer = self._connect_consumer()
        self._pool = WorkerPool(self.options.workers, self._handle)
        committed: dict[str, int] = {}
        try:
            # Longer GIL slices only for the inline (print) handler: with workers, a worker that
            # finished a handler could wait up to a slice to record its success in the dedupe
            # store, which widens the window in which a crash re-runs a handled message.
            switches = fewer_thread_switches() if self._inline else contextlib.nullcontext()
            with fewer_collections(), switches:
                self._loop()
        finally:
            committed = self._shutdown()
            health.stop()
            admin.close()
        failure = None
        if self._undeliverable:
            failure = self._undeliverable[0]
            if len(self._undeliverable) > 1:
                failure += f" ({len(self._undeliverable) - 1} more like it in the log)"
        return ConsumeSummary(self.metrics.snapshot(), self._stopped_by, committed, failure)

    def _copy_limits(self, admin: Admin) -> dict[str, int]:
        """The largest copy each retry tier and DLQ takes (best effort: {} if unknown)."""
        from kafkactl.kafka.admin import PRODUCER_MAX_REQUEST_BYTES

        names = [self.tiers.dlq(t) for t in self.options.topics]
        if not self.options.no_retry:
            names += [
                self.tiers.tier_topic(t, n)
                for t in self.options.topics
                for n in range(1, self.tiers.tiers + 1)
            ]
        try:
            limits = admin.max_message_bytes(names)
        except Exception as exc:  # no DescribeConfigs permission: the broker judges each copy
            logger.debug("could not read the topics' max.message.bytes: {}", exc)
            return {}
        return {name: min(limit, PRODUCER_MAX_REQUEST_BYTES) for name, limit in limits.items()}

    def _check_topics(self, admin: Admin) -> None:
        from kafkactl import admin as kadmin

        needed = self.tiers.subscribed() + [self.tiers.dlq(t) for t in self.options.topics]
        if self.options.no_retry:
            needed = list(self.options.topics) + [self.tiers.dlq(t) for t in self.options.topics]
        if not self.options.routes:
            needed = list(self.options.topics)
        missing = [
            n for n, info in kadmin.describe_topics(admin, needed).items() if not info.exists
        ]
        if missing:
            flags = ("--no-retry",) if self.options.no_retry else ()
            hint = shell_command(
                "kafkactl",
                "create-topics",
                *self.options.topics,
                "--group",
                self.options.group,
                *flags,
            )
            raise KafkactlError(
                f"missing topic(s) {', '.join(missing)}; create them with: {hint}"
            )

    def _connect_consumer(self) -> ConsumerPort:
        consumer = self._connect_consumer_port(
            self.settings, self.options.group, on_commit=self._commit_done
        )
        routed_tiers = self.options.routes and not self.options.no_retry
        topics = self.tiers.subscribed() if routed_tiers else self.options.topics
        consumer.subscribe(topics, self)
        return consumer

    # --- the poll loop ------------------------------------------------------------------

    def _loop(self) -> None:
        consumer = self._consumer
        assert self._router is not None and consumer is not None
        poll_timeout = self.options.poll_timeout_ms / 1000
        next_commit = next_end_check = time.monotonic()
        next_tick = next_commit + self.options.metrics_interval
        while not self._stop.is_set():
            records = consumer.poll(poll_timeout, self._max_records)
            now = time.monotonic()
            if records:
                self._accept(records)
            self._router.tick()
            self._reconcile_pauses()
            if now >= next_commit:
                self._commit(sync=False)
                if self._lost_points:
                    self._recommit_lost()
                next_commit = now + self.options.commit_interval
            if now >= next_tick:
                if self.on_tick is not None:
                    self.on_tick(self.metrics.snapshot())
                self._log_state()
                next_tick = now + self.options.metrics_interval
            if self._count_reached():
                self.request_stop("count")
            elif self.options.exit_at_end and not records and now >= next_end_check:
                next_end_check = now + 0.5
                if self._at_end():
                    self.request_stop("end")

    def _accept(self, records: dict[TopicPartition, list[Record]]) -> None:
        """Dispatch fetched records; pause a tier partition at its first record not yet due."""
        consumer = self._consumer
        assert consumer is not None
        now_ms = int(time.time() * 1000)
        limit = self.options.count
        with self._lock:
            for tp, batch in records.items():
                if tp not in self._epochs:
                    continue  # fetched just before it was revoked; the new owner reads it
                tier = self.tiers.role(tp.topic).tier
                for record in batch:
                    if tier > 0:
                        due = self._due_time(tp, tier, record, now_ms)
                        if due is not None and due > now_ms:
                            self._due[tp] = due
                            consumer.seek(tp, record.offset)
                            break
                    if limit is not None and self._dispatched >= limit:
                        consumer.seek(tp, record.offset)
                        break
                    if self._inline:
                        if not self._handle_inline(tp, record):
                            break
                    else:
                        self._dispatch(tp, record)
        # Routed outside the lock: a publish may wait for room, and acks need the lock.
        failed, self._inline_failures = self._inline_failures, []
        for work, failure, started in failed:
            self._failed(work, failure, started)

    def _due_time(
        self, tp: TopicPartition, tier: int, record: Record, now_ms: int
    ) -> int | None:
        """When a tier record is due: its not-before, capped at the tier's delay after it was
        written (a due time years ahead, by hand or by a skewed clock, would hold -e for ever).
        """
        due = hdr.get_bounded(record.headers, hdr.NOT_BEFORE, 0, hdr.MAX_EPOCH_MS)
        if due is None:
            return None
        written = record.timestamp if 0 < record.timestamp < now_ms else now_ms
        latest = written + self.tiers.delay_ms(tier) + DUE_TIME_SKEW_MS
        if due <= latest:
            return due
        key = (tp, record.offset)
        if key not in self._capped:
            if len(self._capped) > 10_000:
                self._capped.clear()
            self._capped.add(key)
            logger.bind(topic=tp.topic, partition=tp.partition, offset=record.offset).warning(
                "{}[{}]@{}: {} {} is {:.0f}s ahead, more than the tier's delay of {:g}s after the "
                "record was written; it is due at {} instead",
                tp.topic,
                tp.partition,
                record.offset,
                hdr.NOT_BEFORE,
                due,
                (due - now_ms) / 1000,
                self.tiers.delay_ms(tier) / 1000,
                latest,
            )
        return latest

    def _filtered_out(self, tp: TopicPartition, message: Message) -> bool:
        """True (and counted, and complete) when --key/--header/--grep leave the message out."""
        wanted = self.options.record_filter
        if not wanted.active or wanted.matches(message):
            return False
        self.metrics.incr("received")
        self.metrics.incr("filtered")
        self._tracker.skip(tp, message.offset)
        return True

    def _handle_inline(self, tp: TopicPartition, record: Record) -> bool:
        """Run a handler that cannot fail (print) on the poll thread; False once output closed."""
        message = message_from_record(record)
        if self._filtered_out(tp, message):
            return True
        self._dispatched += 1
        self.metrics.incr("received")
        if self._seen(message):
            self.metrics.incr("deduplicated")
        else:
            started = time.perf_counter()
            try:
                self.handler.handle(message)
            except BaseException as exc:
                if isinstance(exc, OutputClosed):
                    self._output_lost = True
                    self.request_stop("output closed")
                    return False
                # "Never fails", yet it did (an encoder bug, a custom stream): a failure like
                # any other, routed, and the poll loop goes on.
                self._tracker.track(tp, record.offset)
                self._inflight[tp] += 1
                work = _Work(message, tp, self._epochs[tp])
                self._inline_failures.append((work, _failure("retryable", exc), started))
                return True
            self.metrics.observe_latency(time.perf_counter() - started)
            self._mark(message)
            self.metrics.incr("processed")
        self._tracker.skip(tp, record.offset)
        return True

    def _dispatch(self, tp: TopicPartition, record: Record) -> None:
        message = message_from_record(record)
        if self._filtered_out(tp, message):
            return
        self._tracker.track(tp, record.offset)
        self._inflight[tp] += 1
        self._dispatched += 1
        self.metrics.incr("received")
        assert self._pool is not None
        lane = lane_for(self.options.ordering, tp, record.key)
        self._pool.submit(_Work(message, tp, self._epochs[tp]), lane)

    def _reconcile_pauses(self) -> None:
        """Pause tier partitions not yet due and partitions with too much in flight."""
        consumer = self._consumer
        assert consumer is not None
        now_ms = int(time.time() * 1000)
        limit = self.options.max_in_flight_per_partition
        with self._lock:
            for tp, due in list(self._due.items()):
                if due <= now_ms:
                    del self._due[tp]
            for tp in list(self._epochs):
                if self._inflight[tp] >= limit:
                    self._backpressured.add(tp)
                elif self._inflight[tp] <= limit // 2:
                    self._backpressured.discard(tp)
            wanted = (set(self._due) | self._backpressured) & set(self._epochs)
            if self._stop.is_set():
                wanted = set(self._epochs)
        actual = set(consumer.paused())
        assigned = set(consumer.assignment())
        to_pause = (wanted - actual) & assigned
        to_resume = (actual - wanted) & assigned
        if to_pause:
            logger.debug("pausing {}", _names(to_pause))
            consumer.pause(to_pause)
        if to_resume:
            logger.debug("resuming {}", _names(to_resume))
            consumer.resume(to_resume)

    def _log_state(self) -> None:
        """One DEBUG line with the pipeline's state, for diagnosing a stalled partition."""
        consumer = self._consumer
        assert consumer is not None
        with self._lock:
            busy = {f"{tp.topic}[{tp.partition}]": n for tp, n in self._inflight.items() if n}
            due = {f"{tp.topic}[{tp.partition}]": t for tp, t in self._due.items()}
        logger.debug(
            "state: assigned={} paused={} in_flight={} due={} {}",
            _names(consumer.assignment()),
            _names(consumer.paused()),
            busy,
            due,
            consumer.describe_state(),
        )

    def _count_reached(self) -> bool:
        limit = self.options.count
        if limit is None:
            return False
        with self._lock:
            return self._dispatched >= limit and sum(self._inflight.values()) == 0

    def _at_end(self) -> bool:
        """True once every assigned partition is read to its end and nothing is pending."""
        assert self._router is not None and self._publisher is not None
        with self._lock:
            if not self._assigned_once or self._due or sum(self._inflight.values()):
                return False
            partitions = list(self._epochs)
        if not partitions or self._publisher.in_flight or self._router.waiting:
            return False
        assert self._consumer is not None and self._admin is not None
        try:
            ends = self._admin.list_offsets(partitions, latest=True)
        except Exception as exc:  # a broker hiccup: the next check asks again
            logger.debug("end-of-topic check failed, will retry: {}", exc)
            return False
        return self._consumer.at_end(ends)

    # --- workers ------------------------------------------------------------------------

    def _handle(self, work: _Work) -> None:
        """Run the handler on a worker; every outcome settles the work (a worker never dies)."""
        try:
            self._run_handler(work)
        except BaseException as exc:  # a bug of ours: the message stays unfinished, not lost
            logger.opt(exception=exc).error(
                "{}[{}]@{}: could not settle the message ({}: {}); it is not committed and "
                "will be redelivered",
                work.tp.topic,
                work.tp.partition,
                work.message.offset,
                type(exc).__name__,
                exc,
            )
            self._abandon(work)

    def _run_handler(self, work: _Work) -> None:
        message = work.message
        if self._seen(message):
            self.metrics.incr("deduplicated")
            self._complete(work)
            return
        started = time.perf_counter()
        try:
            self.handler.handle(message)
        except HandlerFailure as exc:
            failure = exc.failure
        except FatalError as exc:
            failure = _failure("fatal", exc)
        except (UnicodeDecodeError, ValueError) as exc:
            kind = "decode" if _is_decode_error(exc) else "retryable"
            failure = _failure(kind, exc)
        except BaseException as exc:
            # Any exception a handler raises is its failure, BaseExceptions included
            # (KeyboardInterrupt, SystemExit, GeneratorExit, a custom one): signals reach the
            # main thread only, so none of these can be a request to stop kafkactl.
            if isinstance(exc, OutputClosed):
                self._output_lost = True
                self.request_stop("output closed")
                self._abandon(work)  # not complete: redelivered next time
                return
            failure = _failure("retryable", exc)
        else:
            elapsed = time.perf_counter() - started
            self._mark(message)  # first thing after success: a crash before it re-runs it
            self.metrics.observe_latency(elapsed)
            self.metrics.incr("processed")
            self._complete(work)
            return
        self._failed(work, failure, started)

    def _seen(self, message: Message) -> bool:
        """Whether the dedupe store had this message; a store that fails says no (at least once)."""
        try:
            return self.dedupe.seen(self.options.group, message.message_id)
        except Exception as exc:
            logger.warning(
                "dedupe store failed ({}); handling {} again rather than skipping it",
                exc,
                message.message_id,
            )
            return False

    def _mark(self, message: Message) -> None:
        """Record a success in the dedupe store; a store that fails is logged, not fatal."""
        try:
            self.dedupe.mark(self.options.group, message.message_id)
        except Exception as exc:
            # The handler did succeed; only a later redelivery could run it twice.
            logger.error("could not record {} in the dedupe store: {}", message.message_id, exc)

    def _failed(self, work: _Work, failure: hdr.Failure, started: float) -> None:
        """Count a handler failure and route the message to its retry tier or the DLQ."""
        message = work.message
        self.metrics.observe_latency(time.perf_counter() - started)
        self.metrics.incr("failed")
        logger.bind(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key_text(),
            message_id=message.message_id,
            attempt=message.attempt,
        ).warning("handler failed ({}): {} {}", failure.kind, failure.error_class, failure.message)
        if self.options.on_failure == "skip":
            self.metrics.incr("skipped")
            self._complete(work)
            return
        if self.options.on_failure == "stop":
            self._stop_on_failure(work, failure)
            return
        assert self._router is not None
        self._router.route(
            message,
            failure,
            lambda: self._complete(work),
            lambda route, error: self._cannot_route(work, route.topic, error),
        )

    def _stop_on_failure(self, work: _Work, failure: hdr.Failure) -> None:
        """--on-failure stop: end the run at this message, leaving its offset uncommitted."""
        tp, offset = work.tp, work.message.offset
        line = (
            f"handler failed on {tp.topic}[{tp.partition}]@{offset}: {failure.error_class}: "
            f"{failure.message}; stopped with offset {offset} not committed (--on-failure skip "
            "passes failures over; --on-failure dlq routes them to the retry tiers and DLQ)"
        )
        with self._lock:
            self._undeliverable.append(line)
        self._abandon(work)
        self.request_stop("failure")

    def _cannot_route(self, work: _Work, topic: str, error: BaseException) -> None:
        """A copy the broker refused for good: stop, leave its offset uncommitted, say so."""
        tp, offset = work.tp, work.message.offset
        where = f"{tp.topic}[{tp.partition}]@{offset}"
        line = (
            f"cannot write the copy of {where} (topic {tp.topic}, partition {tp.partition}, "
            f"offset {offset}) to {topic}: {error} (not retriable); stopped with offset "
            f"{offset} not committed (it will be redelivered): fix {topic} (e.g. its "
            "max.message.bytes, or this client's write access to it) and run again"
        )
        with self._lock:
            self._undeliverable.append(line)
        # The run ends with `line` as its error (exit 1); meanwhile, say why it is stopping.
        logger.bind(
            topic=work.tp.topic, partition=work.tp.partition, offset=work.message.offset
        ).warning("stopping: {} refused the copy of {} for good ({})", topic, where, error)
        self._abandon(work)
        self.request_stop("undeliverable")

    def _abandon(self, work: _Work) -> None:
        """Stop counting work that will not complete here; its offset stays uncommitted."""
        with self._lock:
            if self._epochs.get(work.tp) == work.epoch:
                self._inflight[work.tp] -= 1

    def _complete(self, work: _Work) -> None:
        with self._lock:
            if self._epochs.get(work.tp) != work.epoch:
                return  # a late result for a partition we no longer own: dropped
            self._tracker.complete(work.tp, work.message.offset)
            self._inflight[work.tp] -= 1

    # --- commits and rebalances ---------------------------------------------------------

    def _commit(self, sync: bool, partitions: list[TopicPartition] | None = None) -> Offsets:
        now = time.monotonic()
        since = self._async_commit_since
        if not sync and since is not None and now - since < ASYNC_COMMIT_PATIENCE_S:
            return {}  # one at a time: see ASYNC_COMMIT_PATIENCE_S
        with self._lock:
            # The final commit sends every commit point again: an older commit the client
            # retried may have landed after a newer one.
            offsets = self._tracker.to_commit(partitions, every=sync)
        flush = getattr(self.handler, "flush", None)
        if flush is not None and not self._output_lost:
            try:
                flush()  # what the handler wrote must be out before its offsets are committed
            except Exception as exc:
                if not isinstance(exc, OutputClosed):
                    raise
                self._output_lost = True
                self.request_stop("output closed")
            else:
                with self._lock:
                    self._flushed.update(offsets)
        offsets = self._out_for_sure(offsets)
        if not offsets:
            return {}
        assert self._consumer is not None
        if sync:
            self._consumer.commit(offsets)
            self._committed(offsets)
        else:
            self._async_commit_since = now
            self._consumer.commit(offsets, asynchronous=True)
        return offsets

    def _out_for_sure(self, offsets: Offsets) -> Offsets:
        """Once the output closed, only the points whose lines were flushed before it did.

        Lines still in the print handler's buffer were lost with the output: their offsets
        must not be committed, so they are read again next time.
        """
        if not self._output_lost:
            return offsets
        with self._lock:
            return {
                tp: min(point, self._flushed[tp])
                for tp, point in offsets.items()
                if tp in self._flushed
            }

    def _commit_done(self, offsets: Offsets, error: BaseException | None) -> None:
        """An asynchronous commit settled (engine thread: kafka-python IO, librdkafka poll)."""
        self._async_commit_since = None
        if error is not None:
            logger.warning("offset commit failed (will retry): {}", error)
            return
        self._committed(offsets)

    def _committed(self, offsets: Offsets) -> None:
        with self._lock:
            moved = self._tracker.mark_committed(offsets)
        self.metrics.incr("committed", moved)

    # --- RebalanceListener: the engine calls these as partitions come and go -------------

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Track new partitions under a fresh epoch."""
        with self._lock:
            for tp in assigned:
                self._epoch_seq += 1
                self._epochs[tp] = self._epoch_seq
                self._inflight[tp] = 0
                self._tracker.add_partition(tp)
            self._assigned_once = True
        # The rebalance lines are news only when something moved.
        (logger.info if assigned else logger.debug)("assigned {}", _names(assigned))

    def begin_revoke(self, revoked: set[TopicPartition]) -> None:
        """Stop handing out work of revoked partitions; queued work is dropped (redelivered)."""
        assert self._pool is not None
        with self._lock:
            dropped = self._pool.drop(lambda w: w.tp in revoked)
            for work in dropped:
                self._inflight[work.tp] -= 1

    def revoked_busy(self, revoked: set[TopicPartition]) -> int:
        """Work of revoked partitions still running or waiting for a routing ack."""
        if self._router is not None:
            # librdkafka drains inside poll(), on the poll loop's thread: copies waiting for
            # a publish retry must be retried from here, or the drain waits for nothing.
            self._router.tick()
        with self._lock:
            return sum(self._inflight.get(tp, 0) for tp in revoked)

    def finish_revoke(self, revoked: set[TopicPartition], commit: bool) -> Offsets:
        """Forget revoked partitions; returns their commit points (to commit asynchronously)."""
        with self._lock:
            offsets = self._tracker.to_commit([tp for tp in revoked if tp in self._epochs])
            offsets = self._out_for_sure(offsets)
            for tp in revoked:
                self._flushed.pop(tp, None)
            if not commit:
                # Lost (the group fenced us, e.g. a session that expired while the broker
                # restarted): no commit is possible now. Kept, to commit once they are ours again.
                self._lost_points.update(offsets)
            for tp in revoked:
                self._epochs.pop(tp, None)
                self._inflight.pop(tp, None)
                self._due.pop(tp, None)
                self._backpressured.discard(tp)
                self._tracker.remove_partition(tp)
        if revoked:
            logger.info("{} {}", "revoked" if commit else "lost", _names(revoked))
        return offsets if commit else {}

    def _recommit_lost(self) -> None:
        """Commit what was done on lost partitions that came back to this member.

        Only forward: a point at or below what the group has committed (another member went
        on) is dropped. The records in between were handled here (dedupe remembers them).
        """
        assert self._consumer is not None and self._admin is not None
        with self._lock:
            back = {tp: o for tp, o in self._lost_points.items() if tp in self._epochs}
        if not back:
            return
        try:
            group_now = self._admin.committed(self.options.group, list(back))
            ahead = {}
            for tp, point in back.items():
                done = group_now.get(tp)
                if done is None or done.offset < point:
                    ahead[tp] = point
            if ahead:
                self._consumer.commit(ahead)
                done_at = ", ".join(f"{tp.topic}[{tp.partition}]@{o}" for tp, o in ahead.items())
                logger.info("committed work done before the partitions were lost: {}", done_at)
        except Exception as exc:
            logger.warning("could not commit work done before a rebalance (will retry): {}", exc)
            return
        with self._lock:
            for tp in back:
                self._lost_points.pop(tp, None)

    def _abandon_unfinished(self) -> None:
        """Give up on work still running or queued when --shutdown-timeout is over.

        Its offsets stay uncommitted (redelivered on the next run) and a late result is
        dropped: a new epoch per partition. Without this, closing the consumer would revoke
        the partitions and wait --drain-timeout again for the same work.
        """
        with self._lock:
            busy = {tp: n for tp, n in self._inflight.items() if n > 0}
            if self._pool is not None:
                self._pool.drop(lambda w: True)  # queued behind stuck work: never started
            for tp in busy:
                self._epoch_seq += 1
                if tp in self._epochs:
                    self._epochs[tp] = self._epoch_seq
                self._inflight[tp] = 0
        if not busy:
            return
        count = sum(busy.values())
        self.metrics.incr("abandoned", count)
        logger.warning(
            "{} message(s) still unfinished after --shutdown-timeout {:g}s in {}: abandoned, "
            "not committed; they will be redelivered on the next run",
            count,
            self.options.shutdown_timeout,
            _names(set(busy)),
        )

    def _shutdown(self) -> dict[str, int]:
        """Stop fetching, drain in-flight work, flush routing, commit synchronously, close."""
        self._stop.set()
        committed: Offsets = {}
        deadline = time.monotonic() + self.options.shutdown_timeout
        try:
            if self._consumer is not None:
                self._reconcile_pauses()  # pause everything: stop fetching
            while time.monotonic() < deadline:
                with self._lock:
                    busy = sum(self._inflight.values())
                if not busy:
                    break
                if self._router is not None:
                    self._router.tick()
                if self._consumer is not None:
                    self._consumer.poll(0.05, 1)  # keeps the group membership alive
                else:
                    time.sleep(0.05)
            self._abandon_unfinished()
            if self._publisher is not None:
                self._publisher.flush(max(0.5, deadline - time.monotonic()))
            if self._consumer is not None and self._lost_points:
                # Partitions were lost and the group has not given them back yet (a rejoin
                # under way): wait a little for them, so the work done on them is committed.
                logger.info(
                    "waiting up to {:.0f}s for the group to give back lost partitions, to commit "
                    "the work done on them (Ctrl-C again to skip)",
                    max(0.0, deadline - time.monotonic()),
                )
                while time.monotonic() < deadline:
                    with self._lock:
                        owned = bool(self._epochs)
                    if owned:
                        self._recommit_lost()
                        break
                    self._consumer.poll(0.1, 1)
            if self._consumer is not None:
                # An asynchronous commit still under way could land after the final one.
                settle_by = min(deadline, time.monotonic() + 5.0)
                while self._async_commit_since is not None and time.monotonic() < settle_by:
                    self._consumer.poll(0.05, 1)
                try:
                    committed = self._commit(sync=True)
                except Exception as exc:
                    logger.error("final offset commit failed: {}", exc)
        finally:
            if self._pool is not None:
                self._pool.close(timeout=0.5)  # a handler still running is abandoned
            if self._consumer is not None:
                self._consumer.close()
            if self._publisher is not None:
                self._publisher.close(timeout=5.0)
            self.dedupe.close()
            close = getattr(self.handler, "close", None)
            if close is not None:
                close()
        return {f"{tp.topic}:{tp.partition}": offset for tp, offset in committed.items()}


def _failure(kind: str, exc: BaseException) -> hdr.Failure:
    cls = type(exc)
    name = cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"
    trace = "".join(traceback.format_exception(exc))
    return hdr.Failure(kind, name, hdr.truncate(str(exc) or name, hdr.MAX_MESSAGE_BYTES), trace)


def _is_decode_error(exc: BaseException) -> bool:
    import orjson

    return isinstance(exc, UnicodeDecodeError | orjson.JSONDecodeError)


def _names(partitions: set[TopicPartition]) -> str:
    return ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions)) or "nothing"
