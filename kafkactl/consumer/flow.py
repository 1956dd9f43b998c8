"""FlowControl: which partitions must not be fetched now, and pausing exactly those.

A tier partition whose next record is not due yet is paused (never slept on) and resumed when
due; a partition with too much work in flight is paused until half of it is done; every partition
is paused while the failure-storm breaker is open. `poll()` keeps being called either way, so the
group membership stays alive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from loguru import logger

from kafkactl import headers as hdr
from kafkactl.consumer.state import Partitions, partition_names
from kafkactl.kafka import ConsumerPort, Record, TopicPartition
from kafkactl.topology import TierMap

# A tier record is due at its kafkactl.not-before, but never later than the tier's delay after
# the record was written plus this much (clocks of client and broker may differ a little).
DUE_TIME_SKEW_MS = 5_000
# How long the poll loop waits, at most, for the workers to catch up before fetching more.
PACE_S = 0.02


class FlowControl:
    """Due times of tier partitions and backpressure; `reconcile` pauses and resumes to match.

    Its state is guarded by the pipeline's lock (`Partitions.lock`).
    """

    def __init__(
        self,
        partitions: Partitions,
        tiers: TierMap,
        max_in_flight: int,
        stop: threading.Event,
    ) -> None:
        self._partitions = partitions
        self._tiers = tiers
        self._max_in_flight = max_in_flight
        self._stop = stop
        # tier partition -> epoch ms when its next record is due
        self.due: dict[TopicPartition, int] = {}
        self._backpressured: set[TopicPartition] = set()
        self._capped: set[tuple[TopicPartition, int]] = set()  # due times warned about
        self.paused = 0  # partitions paused after the last reconcile (a gauge)
        # True while the failure-storm breaker is open: every partition is paused.
        self.hold_all: Callable[[], bool] = lambda: False

    def holds(self, tp: TopicPartition, tier: int, record: Record, now_ms: int) -> bool:
        """True when a record of tier `tier` is not due yet: its partition waits for it.

        The caller holds the lock, and seeks the partition back to the record.
        """
        due = self.due_time(tp, tier, record, now_ms)
        if due is not None and due > now_ms:
            self.due[tp] = due
            return True
        return False

    def due_time(self, tp: TopicPartition, tier: int, record: Record, now_ms: int) -> int | None:
        """When a tier record is due: its not-before, capped at the tier's delay after it was
        written (a due time years ahead, by hand or by a skewed clock, would hold -e for ever).
        """
        due = hdr.get_bounded(record.headers, hdr.NOT_BEFORE, 0, hdr.MAX_EPOCH_MS)
        if due is None:
            return None
        written = record.timestamp if 0 < record.timestamp < now_ms else now_ms
        latest = written + self._tiers.delay_ms(tier) + DUE_TIME_SKEW_MS
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
                self._tiers.delay_ms(tier) / 1000,
                latest,
            )
        return latest

    def pace(self, wait: Callable[[Callable[[], bool], float], bool]) -> None:
        """Before fetching more: while a flowing partition nears its in-flight limit, give the
        workers up to PACE_S to catch up (`wait(done, timeout)`). Cheaper than reaching the limit:
        a pause drops what librdkafka prefetched, and the resume waits for a fetch."""
        near = self._max_in_flight * 3 // 4
        inflight = self._partitions.inflight
        held = self._backpressured
        hot = [tp for tp, n in list(inflight.items()) if n >= near and tp not in held]
        if hot and not self._stop.is_set():
            wait(lambda: all(inflight.get(tp, 0) < near for tp in hot), PACE_S)

    def forget(self, tp: TopicPartition) -> None:
        """A revoked partition waits for nothing here any more (the caller holds the lock)."""
        self.due.pop(tp, None)
        self._backpressured.discard(tp)

    def reconcile(self, consumer: ConsumerPort) -> None:
        """Pause tier partitions not yet due and partitions with too much in flight."""
        now_ms = int(time.time() * 1000)
        limit = self._max_in_flight
        partitions = self._partitions
        with partitions.lock:
            for tp, due in list(self.due.items()):
                if due <= now_ms:
                    del self.due[tp]
            for tp in list(partitions.epochs):
                if partitions.inflight[tp] >= limit:
                    self._backpressured.add(tp)
                elif partitions.inflight[tp] <= limit // 2:
                    self._backpressured.discard(tp)
            wanted = (set(self.due) | self._backpressured) & set(partitions.epochs)
            if self._stop.is_set() or self.hold_all():
                wanted = set(partitions.epochs)
        actual = set(consumer.paused())
        if wanted == actual:
            # Nothing to change: no assignment() call (librdkafka's holds the GIL while it
            # asks its main thread, stalling every worker: once per turn was a fifth of the
            # pipeline's time).
            self.paused = len(actual)
            return
        assigned = set(consumer.assignment())
        to_pause = (wanted - actual) & assigned
        to_resume = (actual - wanted) & assigned
        if to_pause:
            logger.debug("pausing {}", partition_names(to_pause))
            consumer.pause(to_pause)
        if to_resume:
            logger.debug("resuming {}", partition_names(to_resume))
            consumer.resume(to_resume)
        self.paused = len(((actual | to_pause) - to_resume) & assigned)

    def log_state(self, consumer: ConsumerPort) -> None:
        """One DEBUG line with the pipeline's state, for diagnosing a stalled partition."""
        with self._partitions.lock:
            inflight = self._partitions.inflight.items()
            busy = {f"{tp.topic}[{tp.partition}]": n for tp, n in inflight if n}
            due = {f"{tp.topic}[{tp.partition}]": t for tp, t in self.due.items()}
        logger.debug(
            "state: assigned={} paused={} in_flight={} due={} {}",
            partition_names(consumer.assignment()),
            partition_names(consumer.paused()),
            busy,
            due,
            consumer.describe_state(),
        )
