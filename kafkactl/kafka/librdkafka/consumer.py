"""The consumer port on librdkafka: rebalance callbacks inside poll(), EOF events for `-e`.

Reading (fetching, EOF events, errors) is `fetching.FetchingConsumer`; this adds the group
membership, assignment, seeking, positions and commits.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from loguru import logger

from kafkactl.config import Settings
from kafkactl.errors import KafkactlError
from kafkactl.kafka.librdkafka.config import consumer_config
from kafkactl.kafka.librdkafka.connect import LibrdkafkaError, connect
from kafkactl.kafka.librdkafka.fetching import FetchingConsumer
from kafkactl.kafka.librdkafka.headers import HeaderRescuer
from kafkactl.kafka.librdkafka.producer import ErrorSink
from kafkactl.kafka.ports import (
    CommitCallback,
    Offsets,
    RebalanceListener,
    TopicPartition,
)

WATERMARK_TIMEOUT_S = 5.0
# How long the end-of-topic check waits for the group's committed offsets.
COMMITTED_S = 5.0
# How long watermarks are asked again while a partition's leader moves.
WATERMARK_RETRY_S = 15.0


class LibrdkafkaConsumer(FetchingConsumer):
    """ConsumerPort over confluent_kafka.Consumer.

    librdkafka runs the rebalance callbacks inside poll(), on the polling thread: the drain
    of revoked work and its commit happen there, synchronously (heartbeats run on
    librdkafka's own threads meanwhile).
    """

    def __init__(
        self,
        consumer: Any,
        on_commit: CommitCallback | None = None,
        rescuer: HeaderRescuer | None = None,
    ) -> None:
        super().__init__(consumer, rescuer)
        self._on_commit = on_commit
        self._paused: set[TopicPartition] = set()
        self._closing = False

    @classmethod
    def connect(
        cls,
        settings: Settings,
        group: str | None,
        on_commit: CommitCallback | None = None,
        read_committed: bool = False,
        bulk: bool = False,
    ) -> LibrdkafkaConsumer:
        """A connected consumer (in `group`, or none; `bulk`: reading straight through, a
        deeper prefetch); exits 3 when unreachable."""
        from confluent_kafka import Consumer

        config = consumer_config(settings, group, read_committed, bulk)
        sink = ErrorSink()
        holder: list[LibrdkafkaConsumer] = []

        def committed(error: Any, partitions: Any) -> None:
            if holder:
                holder[0]._committed(error, partitions)

        def build(on_error: Any) -> Any:
            sink.target = on_error
            return Consumer({**config, "error_cb": sink, "on_commit": committed})

        what = "the consumer group" if group else "Kafka"
        consumer = connect(settings, build, lambda c: c.close(), what)
        sink.target = None
        adapter = cls(consumer, on_commit, HeaderRescuer(settings, read_committed))
        holder.append(adapter)
        return adapter

    # --- membership -------------------------------------------------------------------------

    def subscribe(self, topics: list[str], listener: RebalanceListener) -> None:
        """Join the group; the listener runs inside poll()."""

        def assigned(_consumer: Any, partitions: list[Any]) -> None:
            tps = {self._tp(p.topic, p.partition) for p in partitions}
            for tp in tps:
                self._eof.pop(tp, None)
                self._next.pop(tp, None)
                self._paused.discard(tp)
            self._unpause(partitions)
            listener.on_assigned(tps)

        def revoked(_consumer: Any, partitions: list[Any]) -> None:
            self._revoke(listener, {self._tp(p.topic, p.partition) for p in partitions}, True)

        def lost(_consumer: Any, partitions: list[Any]) -> None:
            self._revoke(listener, {self._tp(p.topic, p.partition) for p in partitions}, False)

        self._consumer.subscribe(topics, on_assign=assigned, on_revoke=revoked, on_lost=lost)

    def _revoke(
        self, listener: RebalanceListener, revoked: set[TopicPartition], commit: bool
    ) -> None:
        if not revoked:
            return
        listener.begin_revoke(revoked)
        deadline = time.monotonic() + listener.drain_timeout
        while listener.revoked_busy(revoked) and time.monotonic() < deadline:
            time.sleep(0.05)
        offsets = listener.finish_revoke(revoked, commit)
        self._unpause([self._ctp(tp.topic, tp.partition) for tp in revoked & self._paused])
        for tp in revoked:
            self._eof.pop(tp, None)
            self._next.pop(tp, None)
            self._paused.discard(tp)
        if offsets:
            try:
                self.commit(offsets)
            except Exception as exc:
                logger.warning("offset commit on revoke failed: {}", exc)

    def _unpause(self, partitions: list[Any]) -> None:
        """Clear librdkafka's pause of these partitions: it outlives a rebalance that gives a
        partition back to this member, while the pipeline starts each assigned partition
        unpaused (a tier partition paused at the revoke was never fetched again: no records,
        no EOF, and `-e` never ended; DESIGN §3.4)."""
        from confluent_kafka import KafkaException

        if not partitions:
            return
        try:
            self._consumer.resume(partitions)
        except KafkaException as exc:  # a partition librdkafka does not know: not paused
            logger.debug("resuming {} partition(s) at a rebalance: {}", len(partitions), exc)

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Read these partitions without a group (applied at the next poll, with any seek)."""
        from confluent_kafka import OFFSET_STORED

        self._manual = {TopicPartition(*tp): OFFSET_STORED for tp in partitions}
        self._manual_dirty = True
        self._eof.clear()
        self._next.clear()
        self._paused.clear()

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop fetching; librdkafka drops what it buffered and refetches from the position."""
        tps = list(partitions)
        self._consumer.pause([self._ctp(tp.topic, tp.partition) for tp in tps])
        self._paused.update(tps)

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Fetch these partitions again."""
        tps = list(partitions)
        self._consumer.resume([self._ctp(tp.topic, tp.partition) for tp in tps])
        self._paused.difference_update(tps)

    def paused(self) -> set[TopicPartition]:
        """Partitions paused now."""
        return set(self._paused)

    def assignment(self) -> set[TopicPartition]:
        """Partitions assigned now."""
        return {self._tp(p.topic, p.partition) for p in self._consumer.assignment()}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """The next fetch of `tp` starts at `offset`."""
        from confluent_kafka import KafkaException

        self._eof.pop(tp, None)
        self._next[tp] = offset
        if self._manual is not None and tp in self._manual and self._manual_dirty:
            self._manual[tp] = offset
            return
        try:
            self._consumer.seek(self._ctp(tp.topic, tp.partition, offset))
        except KafkaException:
            if self._manual is None or tp not in self._manual:
                raise
            # Not fetching yet: librdkafka takes a start offset only with assign().
            self._manual[tp] = offset
            self._manual_dirty = True

    def position(self, tp: TopicPartition) -> int | None:
        """The next offset to fetch; past an EOF event, the end offset it reported."""
        if self._manual_dirty and self._manual is not None and tp in self._manual:
            wanted = self._manual[tp]
            return wanted if wanted >= 0 else None
        [answer] = self._consumer.position([self._ctp(tp.topic, tp.partition)])
        position = answer.offset if answer.offset >= 0 else None
        eof = self._eof.get(tp)
        if eof is not None and (position is None or eof > position):
            return eof
        return position

    def watermarks(self, partitions: list[TopicPartition]) -> dict[TopicPartition, tuple[int, int]]:
        """(beginning, end) offsets of each partition, asked of the broker."""
        out = {}
        for tp in partitions:
            out[TopicPartition(*tp)] = self._watermarks_of(tp)
        return out

    def _watermarks_of(self, tp: TopicPartition) -> tuple[int, int]:
        """One partition's watermarks; asked again while its leader moves (a node restarting
        answers "Not leader for partition" until the new leader is known), within a bound."""
        from kafkactl.kafka.librdkafka.admin_calls import is_transient, kafka_error

        deadline = time.monotonic() + WATERMARK_RETRY_S
        delay = 0.1
        while True:
            try:
                low, high = self._consumer.get_watermark_offsets(
                    self._ctp(tp.topic, tp.partition), timeout=WATERMARK_TIMEOUT_S, cached=False
                )
                return int(low), int(high)
            except Exception as exc:
                error = kafka_error(exc)
                # A timeout already waited WATERMARK_TIMEOUT_S: asking again would only wait more.
                if error is None or not is_transient(error) or error.name() == "_TIMED_OUT":
                    raise
                if time.monotonic() >= deadline:
                    raise
                logger.debug("watermarks of {}:{}: {}; asking again", tp.topic, tp.partition, error)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def at_end(self, ends: Offsets) -> bool:
        """Every partition was read to its given end offset: its EOF event, or the offset
        after what poll returned, is at (or past) it.

        The end offsets come from the caller (one batched request): asking librdkafka for
        fresh watermarks queues each request behind the partition's long-poll fetch.
        librdkafka emits a partition's EOF once per end offset: read up to the same end again
        (after a seek back, or a rebalance that gave the partition back) and no event comes.
        A group member's partition nothing was read from since it was assigned is at its end
        when the group's committed offset is (DESIGN §3.4).
        """
        unread: list[TopicPartition] = []
        for tp, end in ends.items():
            if self._eof.get(tp, -1) >= end:
                continue
            position = self._next.get(tp)
            if position is None and self._manual is None:
                unread.append(tp)
            elif position is None or position < end:
                return False
        return not unread or self._committed_reach(unread, ends)

    def _committed_reach(self, partitions: list[TopicPartition], ends: Offsets) -> bool:
        """True when the group's committed offset of each partition is at its end."""
        from confluent_kafka import KafkaException

        try:
            found = self._consumer.committed(
                [self._ctp(tp.topic, tp.partition) for tp in partitions], timeout=COMMITTED_S
            )
        except KafkaException as exc:
            logger.debug("end-of-topic check failed, will retry: {}", exc)
            return False
        return all(
            p.error is None and p.offset >= 0 and p.offset >= ends[self._tp(p.topic, p.partition)]
            for p in found
        )

    def lag(self, positions: Offsets | None = None) -> Offsets:
        """Cached high watermark (updated by each fetch, no request) minus the next offset the
        caller gets (known from what poll returned and seek set)."""
        from confluent_kafka import KafkaException

        out: Offsets = {}
        for theirs in self._consumer.assignment():
            tp = self._tp(theirs.topic, theirs.partition)
            try:
                position = (positions or {}).get(tp, self._next.get(tp))
                marks = self._consumer.get_watermark_offsets(theirs, cached=True)
            except KafkaException:
                continue  # not known yet: left out, like a partition never fetched
            if position is None or marks is None or marks[1] < 0:
                continue
            out[tp] = max(0, marks[1] - position)
        return out

    def offsets_for_times(self, times: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """First offset at or after each time; the end offset when there is none."""
        query = [self._ctp(tp.topic, tp.partition, ts) for tp, ts in times.items()]
        found = self._consumer.offsets_for_times(query, timeout=15)
        out: dict[TopicPartition, int] = {}
        for answer in found:
            tp = TopicPartition(answer.topic, answer.partition)
            if answer.offset >= 0:
                out[tp] = answer.offset
            else:
                out[tp] = self.watermarks([tp])[tp][1]
        return out

    def partitions_for(self, topic: str) -> list[int]:
        """Partition ids of `topic` (empty if it does not exist)."""
        metadata = self._consumer.list_topics(topic, timeout=15)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            return []
        return sorted(info.partitions)

    # --- commits ----------------------------------------------------------------------------

    def commit(
        self,
        offsets: Offsets,
        metadata: dict[TopicPartition, str] | None = None,
        asynchronous: bool = False,
    ) -> None:
        """Commit; an asynchronous result reaches on_commit from a later poll()."""
        meta = metadata or {}
        payload = [
            self._ctp(tp.topic, tp.partition, offset, meta[tp])
            if tp in meta
            else self._ctp(tp.topic, tp.partition, offset)
            for tp, offset in offsets.items()
        ]
        if asynchronous:
            self._consumer.commit(offsets=payload, asynchronous=True)
            return
        answer = self._consumer.commit(offsets=payload, asynchronous=False)
        failed = [p for p in answer or () if p.error is not None]
        if failed:
            raise KafkactlError(
                f"offset commit failed for {failed[0].topic}[{failed[0].partition}]: "
                f"{LibrdkafkaError(failed[0].error)}"
            )

    def _committed(self, error: Any, partitions: list[Any]) -> None:
        if self._on_commit is None:
            return
        if error is not None:
            self._on_commit({}, LibrdkafkaError(error))
            return
        done = {
            self._tp(p.topic, p.partition): p.offset
            for p in partitions
            if p.error is None and p.offset >= 0
        }
        self._on_commit(done, None)

    def describe_state(self) -> str:
        """Partitions at their end (EOF events seen)."""
        names = sorted(f"{tp.topic}[{tp.partition}]@{o}" for tp, o in self._eof.items())
        return f"eof={', '.join(names) or 'nothing'}"

    def close(self) -> None:
        """Leave the group (revoking without committing) and release the client."""
        self._closing = True
        if self._rescuer is not None:
            self._rescuer.close()
        self._consumer.close()
