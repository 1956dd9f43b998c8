"""Partitions: the state the pipeline's threads share, under its one lock.

Threads: the poll loop owns the consumer (it is not thread-safe); workers run handlers; the
producer's delivery thread reports routing acks; the rebalance hooks run where the engine runs
them (kafka-python: its IO thread; librdkafka: inside poll, on the poll loop's thread). Shared
state (tracker, in-flight counts, epochs, and the flow and commit state kept beside them) is
guarded by one lock: `Partitions.lock`.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from kafkactl.consumer.offsets import OffsetTracker
from kafkactl.kafka import TopicPartition
from kafkactl.message import Message
from kafkactl.ranges import RangeSet


@dataclass(slots=True)
class Work:
    """One message handed out, under the epoch of its partition when it was fetched."""

    message: Message
    tp: TopicPartition
    epoch: int


class Droppable(Protocol):
    """A queue of work that can be dropped (the WorkerPool)."""

    def drop(self, predicate: Callable[[Work], bool]) -> list[Work]:
        """Remove the queued work matching `predicate`."""
        ...


class Partitions:
    """Owned partitions: their epochs, work in flight and commit points (OffsetTracker).

    An epoch changes whenever a partition is assigned anew (or its work is abandoned): a result
    carrying an older epoch is late, for a partition no longer owned, and is dropped.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        self.epochs: dict[TopicPartition, int] = {}
        self.inflight: dict[TopicPartition, int] = defaultdict(int)
        # Partitions being revoked: a batch a worker took skips their records not yet started
        # (the pool drops only what is still queued).
        self.revoking: set[TopicPartition] = set()
        self.assigned_once = False
        self._epoch_seq = 0

    def add(self, tp: TopicPartition) -> None:
        """Track a newly assigned partition under a fresh epoch (the caller holds the lock)."""
        self._epoch_seq += 1
        self.epochs[tp] = self._epoch_seq
        self.inflight[tp] = 0
        self.revoking.discard(tp)
        self.tracker.add_partition(tp)

    def renew_epoch(self, tp: TopicPartition) -> None:
        """A new epoch for `tp` (if owned) and nothing in flight: late results are dropped
        (the caller holds the lock)."""
        self._epoch_seq += 1
        if tp in self.epochs:
            self.epochs[tp] = self._epoch_seq
        self.inflight[tp] = 0

    def abandon_busy(self, pool: Droppable | None) -> dict[TopicPartition, int]:
        """Give up on the work in flight: queued work is dropped (never started), each busy
        partition gets a new epoch (late results dropped); returns what was in flight."""
        with self.lock:
            busy = {tp: n for tp, n in self.inflight.items() if n > 0}
            if pool is not None:
                pool.drop(lambda w: True)  # queued behind stuck work: never started
            for tp in busy:
                self.renew_epoch(tp)
        return busy

    def forget(self, tp: TopicPartition) -> None:
        """Stop tracking a revoked partition (the caller holds the lock)."""
        self.epochs.pop(tp, None)
        self.inflight.pop(tp, None)
        self.revoking.discard(tp)
        self.tracker.remove_partition(tp)

    def busy(self, partitions: Iterable[TopicPartition] | None = None) -> int:
        """Messages in flight: handed out, not complete (of `partitions`, default all)."""
        with self.lock:
            if partitions is None:
                return sum(self.inflight.values())
            return sum(self.inflight.get(tp, 0) for tp in partitions)

    def complete(self, work: Work) -> None:
        """The message is done: its offset may be committed past."""
        with self.lock:
            if self.epochs.get(work.tp) != work.epoch:
                return  # a late result for a partition we no longer own: dropped
            self.tracker.complete(work.tp, work.message.offset)
            self.inflight[work.tp] -= 1

    def complete_many(self, works: list[Work]) -> None:
        """`complete` for each of a batch's finished messages, under one lock acquisition."""
        with self.lock:
            epochs, tracker, inflight = self.epochs, self.tracker, self.inflight
            for work in works:
                if epochs.get(work.tp) == work.epoch:
                    tracker.complete(work.tp, work.message.offset)
                    inflight[work.tp] -= 1

    def wanted(self, work: Work) -> bool:
        """True while `work` may still start: its partition is owned under its epoch and not
        being revoked. Read without the lock (a worker asks before each record of a batch; a
        revoke that begins just after lets the record run, as work already running)."""
        return self.epochs.get(work.tp) == work.epoch and work.tp not in self.revoking

    def owns(self, work: Work) -> bool:
        """True while `work`'s partition is still owned under the epoch it was handed out in."""
        with self.lock:
            return self.epochs.get(work.tp) == work.epoch

    def abandon(self, work: Work) -> None:
        """Stop counting work that will not complete here; its offset stays uncommitted."""
        with self.lock:
            if self.epochs.get(work.tp) == work.epoch:
                self.inflight[work.tp] -= 1


def partition_names(partitions: Iterable[TopicPartition]) -> str:
    """`orders[0-2,5], orders.billing.retry.1[0-2]`: each topic once with its partitions as
    ranges, topics sorted; `nothing` when empty."""
    by_topic: dict[str, RangeSet] = {}
    for tp in partitions:
        by_topic.setdefault(tp.topic, RangeSet()).add(tp.partition)
    names = [f"{topic}[{_spans(ids)}]" for topic, ids in sorted(by_topic.items())]
    return ", ".join(names) or "nothing"


def _spans(ids: RangeSet) -> str:
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ids.ranges())
