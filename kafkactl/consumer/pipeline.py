"""ConsumerPipeline: the lifecycle of a run and its poll loop.

The loop polls, hands fetched records to Handling (pausing a tier partition at its first record
not yet due), lets the router retry its publishes, reconciles pauses (FlowControl), commits
(Commits) and checks for the end. The rebalance hooks are PartitionListener's; the threads and
the one lock they share are described in `kafkactl.consumer.state`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from loguru import logger

from kafkactl.config import Settings
from kafkactl.consumer.commits import Commits
from kafkactl.consumer.dedupe import DedupeStore
from kafkactl.consumer.flow import FlowControl
from kafkactl.consumer.handling import Handling
from kafkactl.consumer.keyorder import KeyOrder
from kafkactl.consumer.keyscan import KeyScan
from kafkactl.consumer.options import ConsumeOptions, ConsumeStop, ConsumeSummary
from kafkactl.consumer.rebalance import PartitionListener
from kafkactl.consumer.router import RetryRouter
from kafkactl.consumer.state import Partitions, partition_names
from kafkactl.consumer.strict import StrictOrder, check_copartitioned
from kafkactl.consumer.topics import check_topics, copy_limits
from kafkactl.gctune import fewer_collections, fewer_thread_switches
from kafkactl.handlers.base import Handler
from kafkactl.kafka import ConsumerPort, Offsets, Record, TopicPartition, connect_admin
from kafkactl.kafka import connect_consumer as default_connect_consumer
from kafkactl.kafka.admin_port import AdminPort
from kafkactl.metrics import Metrics
from kafkactl.positions import ReadProgress
from kafkactl.producer import Publisher
from kafkactl.topology import TierMap

ConsumerFactory = Callable[..., ConsumerPort]

LAG_INTERVAL_S = 0.5  # how often the poll loop measures the lag gauge


class ConsumerPipeline:
    """At-least-once consumer: commit only past complete messages, route failures, never sleep."""

    def __init__(
        self,
        settings: Settings,
        options: ConsumeOptions,
        handler: Handler,
        dedupe: DedupeStore,
        metrics: Metrics | None = None,
        on_tick: Callable[[dict[str, Any]], None] | None = None,
        connect_consumer: ConsumerFactory = default_connect_consumer,
        connect_publisher: Callable[[Settings, Metrics], Publisher] | None = None,
        connect_cluster: Callable[[Settings], AdminPort] = connect_admin,
    ) -> None:
        self.settings = settings
        self.options = options = options.for_handler(handler)
        self.handler = handler
        self.dedupe = dedupe
        self.metrics = metrics or Metrics()
        self.on_tick = on_tick
        self._connect_consumer_port = connect_consumer
        self._connect_publisher = connect_publisher or Publisher
        self._connect_cluster = connect_cluster
        self.tiers = TierMap(settings, options.topics, options.group)
        self._stop = threading.Event()
        self._stopped_by: ConsumeStop = "end"
        self.partitions = Partitions()
        self.flow = FlowControl(
            self.partitions, self.tiers, options.max_in_flight_per_partition, self._stop
        )
        self.commits = Commits(
            self.partitions, options.group, handler, self.metrics, self.request_stop
        )
        # Made by run(), once the clients they use are connected:
        self.handling: Handling | None = None
        self.listener: PartitionListener | None = None
        self._consumer: ConsumerPort | None = None
        self._admin: AdminPort | None = None
        self._publisher: Publisher | None = None
        self._router: RetryRouter | None = None
        self._inline = handler.inline
        self._max_records = settings.consumer_max_poll_records or 500
        # Records between the positions and the end offsets the consumer has seen; measured
        # by the poll loop (the only thread that may use the consumer), None until then.
        self.lag: int | None = None
        self._received_at_lag = 0  # `received` when the lag was measured
        self.metrics.gauge("in_flight", self.partitions.busy)
        self.metrics.gauge("paused_partitions", lambda: self.flow.paused)
        self.metrics.gauge("lag", lambda: self.lag)

    # --- lifecycle ---------------------------------------------------------------------

    def request_stop(self, reason: ConsumeStop = "signal") -> None:
        """Stop fetching, let in-flight work finish, commit, and return from run()."""
        if not self._stop.is_set():
            self._stopped_by = reason
            self._stop.set()

    def run(self) -> ConsumeSummary:
        """Consume until stopped (signal, --count, --exit-at-end); returns the summary."""
        from kafkactl.kafka.connect import HealthLoop

        admin = self._admin = self._connect_cluster(self.settings)
        try:
            check_topics(admin, self.tiers, self.options)
            if self.options.strict:
                check_copartitioned(admin, self.tiers, self.options.topics)
        except BaseException:
            admin.close()
            raise
        health = HealthLoop(admin.describe_cluster, self.settings.health_interval).start()
        self._publisher = self._connect_publisher(self.settings, self.metrics)
        size_limits = copy_limits(admin, self.tiers, self.options) if self.options.routes else {}
        self._router = RetryRouter(
            self.tiers,
            self._publisher,
            self.metrics,
            self.options.no_retry,
            size_limit=size_limits.get,
            strict=self.options.strict,
        )
        self._consumer = self._connect_consumer(self._router)
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
        lines = [self.commits.output_failure] if self.commits.output_failure else []
        lines += self.handling.stop_lines if self.handling is not None else []
        if lines:
            failure = lines[0]
            if len(lines) > 1:
                failure += f" ({len(lines) - 1} more like it in the log)"
        # Output that failed at the final flush, after the run had ended for another reason,
        # still is why it did not finish its work.
        stopped = "output error" if self.commits.output_failure else self._stopped_by
        return ConsumeSummary(self.metrics.snapshot(), stopped, committed, failure)

    def _connect_consumer(self, router: RetryRouter) -> ConsumerPort:
        """Connect, start the workers, and subscribe with the rebalance listener."""
        consumer = self._connect_consumer_port(
            self.settings, self.options.group, on_commit=self.commits.commit_done
        )
        handling = self.handling = Handling(
            self.options,
            self.handler,
            self.dedupe,
            self.metrics,
            self.partitions,
            self.commits,
            router,
            self.request_stop,
        )
        self.listener = PartitionListener(
            self.partitions,
            self.flow,
            self.commits,
            handling.pool,
            router,
            self.options.drain_timeout,
            held=handling.drop_held,
            release=handling.guard.release,
            settle=lambda: handling.flush_stale(every=True),
        )
        self.flow.hold_all = lambda: handling.guard.is_open
        self.commits.metadata = handling.guard.commit_metadata
        if self.options.strict:
            handling.set_strict(self._strict_order(router))
        if handling.guard.breaker.rules.enabled:
            self.metrics.detail("breaker", handling.guard.snapshot)
        routed_tiers = self.options.routes and not self.options.no_retry
        topics = self.tiers.subscribed() if routed_tiers else self.options.topics
        consumer.subscribe(topics, self.listener)
        return consumer

    def _strict_order(self, router: RetryRouter) -> StrictOrder:
        """--ordering key-strict: blocked keys, rebuilt from the tiers on each assignment."""
        follow_dead = self.options.after_dead_letter == "dlq"
        keyorder = KeyOrder(self.tiers.tiers, follow_dead)
        connect = self._connect_consumer_port
        scan = KeyScan(self.settings, self.tiers, follow_dead, self._connect_cluster, connect)
        return StrictOrder(keyorder, scan, self.tiers, self.partitions, router)

    # --- the poll loop ------------------------------------------------------------------

    def _loop(self) -> None:
        consumer = self._consumer
        assert self._router is not None and self._admin is not None and consumer is not None
        poll_timeout = self.options.poll_timeout_ms / 1000
        next_commit = next_end_check = next_lag = time.monotonic()
        next_tick = next_commit + self.options.metrics_interval
        assert self.handling is not None
        pool = self.handling.pool
        while not self._stop.is_set():
            self.flow.pace(pool.wait_until)
            records = consumer.poll(poll_timeout, self._max_records)
            now = time.monotonic()
            if records:
                self._accept(records)
            self.handling.flush_stale()
            self.handling.guard.tick()
            self._router.tick()
            self.flow.reconcile(consumer)
            if now >= next_lag:
                self._measure_lag()
                next_lag = now + LAG_INTERVAL_S
            if now >= next_commit:
                self.commits.commit(consumer, sync=False)
                if self.commits.lost_points:
                    self.commits.recommit_lost(consumer, self._admin)
                next_commit = now + self.options.commit_interval
            if now >= next_tick:
                if self.on_tick is not None:
                    self.on_tick(self.metrics.snapshot())
                self.flow.log_state(consumer)
                next_tick = now + self.options.metrics_interval
            if self._count_reached():
                self.request_stop("count")
            elif self.options.exit_at_end and not records and now >= next_end_check:
                next_end_check = now + 0.5
                if self._at_end():
                    self.request_stop("end")

    def _accept(self, records: dict[TopicPartition, list[Record]]) -> None:
        """Dispatch fetched records; pause a tier partition at its first record not yet due."""
        consumer, handling = self._consumer, self.handling
        assert consumer is not None and handling is not None
        now_ms = int(time.time() * 1000)
        limit = self.options.count
        partitions = self.partitions
        # Main-topic records with no filter or --count to check go to the workers in one go.
        whole = limit is None and not self._inline and not self.options.record_filter.active
        with partitions.lock:
            for tp, batch in records.items():
                if tp not in partitions.epochs:
                    continue  # fetched just before it was revoked; the new owner reads it
                if handling.guard.is_open:
                    consumer.seek(tp, batch[0].offset)  # read again once the breaker closes
                    continue
                tier = self.tiers.role(tp.topic).tier
                if whole and tier == 0:
                    handling.dispatch_run(tp, batch)
                    continue
                for record in batch:
                    if tier > 0 and self.flow.holds(tp, tier, record, now_ms):
                        consumer.seek(tp, record.offset)
                        break
                    if limit is not None and handling.dispatched >= limit:
                        consumer.seek(tp, record.offset)
                        break
                    if self._inline:
                        if not handling.handle_inline(tp, record):
                            break
                    else:
                        handling.dispatch(tp, record)
            handling.submit_dispatched()  # to the workers, a lane's run at once
        # Routed outside the lock: a publish may wait for room, and acks need the lock.
        handling.route_inline_failures()

    def progress(self) -> ReadProgress | None:
        """With -e: the records received this run, of those plus the lag left to read; the
        total grows as records arrive (retries too). None without -e or before a lag is known.
        """
        lag = self.lag
        if not self.options.exit_at_end or lag is None:
            return None
        total = self._received_at_lag + lag
        return ReadProgress(min(self.metrics.get("received"), total), total)

    def _measure_lag(self) -> None:
        """Sum the consumer's lag over the partitions it knows both offsets of (None: none)."""
        assert self._consumer is not None
        received = self.metrics.get("received")
        try:
            known = self._consumer.lag()
        except Exception as exc:  # a gauge never stops the pipeline
            logger.debug("measuring the lag failed: {}", exc)
            return
        self.lag = sum(known.values()) if known else None
        self._received_at_lag = received

    def _count_reached(self) -> bool:
        limit = self.options.count
        if limit is None:
            return False
        assert self.handling is not None
        with self.partitions.lock:
            return self.handling.dispatched >= limit and self.partitions.busy() == 0

    def _at_end(self) -> bool:
        """True once every assigned partition is read to its end and nothing is pending."""
        assert self._router is not None and self._publisher is not None
        partitions = self.partitions
        with partitions.lock:
            if not partitions.assigned_once or self.flow.due or partitions.busy():
                return False
            owned = list(partitions.epochs)
        if not owned or self._publisher.in_flight or self._router.waiting:
            return False
        assert self._consumer is not None and self._admin is not None
        try:
            ends = self._admin.list_offsets(owned, latest=True)
        except Exception as exc:  # a broker hiccup: the next check asks again
            logger.debug("end-of-topic check failed, will retry: {}", exc)
            return False
        return self._consumer.at_end(ends)

    # --- shutdown -----------------------------------------------------------------------

    def _abandon_unfinished(self) -> None:
        """Give up on work still running or queued when --shutdown-timeout is over.

        Its offsets stay uncommitted (redelivered on the next run) and a late result is
        dropped: a new epoch per partition. Without this, closing the consumer would revoke
        the partitions and wait --drain-timeout again for the same work.
        """
        pool = self.handling.pool if self.handling is not None else None
        busy = self.partitions.abandon_busy(pool)
        if not busy:
            return
        count = sum(busy.values())
        self.metrics.incr("abandoned", count)
        logger.warning(
            "{} message(s) still unfinished after --shutdown-timeout {:g}s in {}: abandoned, "
            "not committed; they will be redelivered on the next run",
            count,
            self.options.shutdown_timeout,
            partition_names(busy),
        )

    def _shutdown(self) -> dict[str, int]:
        """Stop fetching, drain in-flight work, flush routing, commit synchronously, close."""
        self._stop.set()
        if self.handling is not None:
            self.handling.guard.abandon_all()  # the breaker's held records: not committed
            if self.handling.strict is not None:
                self.handling.strict.abandon_all()  # records parked behind them, too
        committed: Offsets = {}
        deadline = time.monotonic() + self.options.shutdown_timeout
        consumer = self._consumer
        try:
            if consumer is not None:
                self.flow.reconcile(consumer)  # pause everything: stop fetching
            while time.monotonic() < deadline:
                if not self.partitions.busy():
                    break
                if self.handling is not None:
                    self.handling.flush_stale()
                if self._router is not None:
                    self._router.tick()
                if consumer is not None:
                    consumer.poll(0.05, 1)  # keeps the group membership alive
                else:
                    time.sleep(0.05)
            self._abandon_unfinished()
            if self._publisher is not None:
                self._publisher.flush(max(0.5, deadline - time.monotonic()))
            if consumer is not None and self.commits.lost_points:
                assert self._admin is not None
                self.commits.wait_for_lost(consumer, self._admin, deadline)
            if consumer is not None:
                self._measure_lag()
                # An asynchronous commit still under way could land after the final one.
                settle_by = min(deadline, time.monotonic() + 5.0)
                while self.commits.settling and time.monotonic() < settle_by:
                    consumer.poll(0.05, 1)
                try:
                    committed = self.commits.commit(consumer, sync=True)
                except Exception as exc:
                    logger.error("final offset commit failed: {}", exc)
        finally:
            if self.handling is not None:
                self.handling.pool.close(timeout=0.5)  # a handler still running is abandoned
            if consumer is not None:
                consumer.close()
                self.flow.paused = 0  # a closed consumer fetches nothing, pauses nothing
            if self._publisher is not None:
                self._publisher.close(timeout=5.0)
            self.dedupe.close()
            self.handler.close()
        return {f"{tp.topic}:{tp.partition}": offset for tp, offset in committed.items()}
