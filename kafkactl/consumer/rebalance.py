"""PartitionListener: the pipeline's side of a rebalance (kafka.ports.RebalanceListener).

The engine calls it as partitions come and go, where its library allows: kafka-python on its
IO thread (waiting cooperatively, committing asynchronously: never a blocking commit() there),
librdkafka inside poll() on the poll loop's thread. Revoked partitions stop dispatching, their
running work gets a bounded drain (the engine waits on `revoked_busy`), then their completed
offsets are returned for the engine to commit; late results are dropped (redelivered to the new
owner: a duplicate, never a loss).
"""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger

from kafkactl.consumer.commits import Commits
from kafkactl.consumer.dispatch import WorkerPool
from kafkactl.consumer.flow import FlowControl
from kafkactl.consumer.router import RetryRouter
from kafkactl.consumer.state import Partitions, Work, partition_names
from kafkactl.kafka import Offsets, TopicPartition


class PartitionListener:
    """Tracks assigned partitions under fresh epochs; drains and forgets revoked ones."""

    def __init__(
        self,
        partitions: Partitions,
        flow: FlowControl,
        commits: Commits,
        pool: WorkerPool[Work],
        router: RetryRouter,
        drain_timeout: float,
        held: Callable[[Callable[[Work], bool]], list[Work]] | None = None,
        release: Callable[[Callable[[Work], bool]], None] | None = None,
        settle: Callable[[], None] | None = None,
    ) -> None:
        self._partitions = partitions
        self._flow = flow
        self._commits = commits
        self._pool = pool
        self._router = router
        self._drain_timeout = drain_timeout
        self._held = held  # drops what the failure-storm breaker holds (StormGuard.drop)
        self._release = release  # routes its failures awaiting a verdict (StormGuard.release)
        # Settles what workers finished in a batch whose later record still runs (batch.py).
        self._settle = settle

    @property
    def drain_timeout(self) -> float:
        """How long revoked partitions' running work may take to finish (--drain-timeout)."""
        return self._drain_timeout

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Track new partitions under a fresh epoch."""
        partitions = self._partitions
        with partitions.lock:
            for tp in assigned:
                partitions.add(tp)
            partitions.assigned_once = True
        # The rebalance lines are news only when something moved.
        (logger.info if assigned else logger.debug)("assigned {}", partition_names(assigned))

    def begin_revoke(self, revoked: set[TopicPartition]) -> None:
        """Stop handing out work of revoked partitions; queued work is dropped (redelivered)."""
        partitions = self._partitions
        with partitions.lock:
            partitions.revoking.update(revoked)  # batches already taken skip their records
            dropped: list[Work] = self._pool.drop(lambda w: w.tp in revoked)
            if self._held is not None:
                dropped += self._held(lambda w: w.tp in revoked)
            for work in dropped:
                partitions.inflight[work.tp] -= 1

    def revoked_busy(self, revoked: set[TopicPartition]) -> int:
        """Work of revoked partitions still running or waiting for a routing ack."""
        # librdkafka drains inside poll(), on the poll loop's thread: copies waiting for
        # a publish retry must be retried from here, and failures that finished during the
        # drain routed without waiting for the breaker's verdict, or the drain waits for
        # nothing (its whole --drain-timeout, at every rebalance).
        if self._release is not None:
            self._release(lambda w: w.tp in revoked)
        if self._settle is not None:
            self._settle()
        self._router.tick()
        return self._partitions.busy(revoked)

    def finish_revoke(self, revoked: set[TopicPartition], commit: bool) -> Offsets:
        """Forget revoked partitions; returns their commit points (to commit asynchronously)."""
        with self._partitions.lock:
            offsets = self._commits.revoked(revoked, commit)
            for tp in revoked:
                self._partitions.forget(tp)
                self._flow.forget(tp)
        if revoked:
            logger.info("{} {}", "revoked" if commit else "lost", partition_names(revoked))
        return offsets if commit else {}
