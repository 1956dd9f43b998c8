"""The consumer port on librdkafka: rebalance callbacks inside poll(), EOF events for `-e`."""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from loguru import logger

from kafkactl.config import Settings
from kafkactl.errors import KafkactlError
from kafkactl.kafka.librdkafka.config import consumer_config
from kafkactl.kafka.librdkafka.connect import LibrdkafkaError, connect
from kafkactl.kafka.librdkafka.headers import HeaderRescuer
from kafkactl.kafka.librdkafka.producer import ErrorSink
from kafkactl.kafka.ports import (
    CREATE_TIME,
    LOG_APPEND_TIME,
    UNREADABLE_HEADERS,
    CommitCallback,
    ConsumedRecord,
    EncodedBatch,
    Headers,
    Offsets,
    RebalanceListener,
    Record,
    RecordEncoder,
    TopicPartition,
)

WATERMARK_TIMEOUT_S = 5.0
T = TypeVar("T")
# Message.headers() through a generic call, never `m.headers()`: for a header name that is not
# UTF-8 it returns a list holding a NULL with an exception set, which only a generic call
# checks (CPython 3.11's specialized method call does not: the broken list would flow on).
_headers_of = operator.methodcaller("headers")


class LibrdkafkaConsumer:
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
        from confluent_kafka import KafkaError
        from confluent_kafka import TopicPartition as CTP

        self._consumer = consumer
        self._on_commit = on_commit
        self._ctp = CTP
        self._eof_code = KafkaError._PARTITION_EOF
        self._tps: dict[tuple[str, int], TopicPartition] = {}
        self._eof: dict[TopicPartition, int] = {}
        # The next offset the caller will get, per partition: librdkafka's own position() is
        # unknown after a seek and before a partition's first record (for the lag gauge).
        self._next: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._manual: dict[TopicPartition, int] | None = None
        self._manual_dirty = False
        self._closing = False
        self._last_error: tuple[str, float] | None = None
        self._rescuer = rescuer

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
        for tp in revoked:
            self._eof.pop(tp, None)
            self._next.pop(tp, None)
            self._paused.discard(tp)
        if offsets:
            try:
                self.commit(offsets)
            except Exception as exc:
                logger.warning("offset commit on revoke failed: {}", exc)

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Read these partitions without a group (applied at the next poll, with any seek)."""
        from confluent_kafka import OFFSET_STORED

        self._manual = {TopicPartition(*tp): OFFSET_STORED for tp in partitions}
        self._manual_dirty = True
        self._eof.clear()
        self._next.clear()
        self._paused.clear()

    # --- fetching ---------------------------------------------------------------------------

    def poll(self, timeout: float, max_records: int) -> dict[TopicPartition, list[Record]]:
        """Records by partition in offset order; EOF events are remembered, errors logged."""
        # ConsumedRecord takes the fields in an encoder's order: a record is their encoding.
        polled: dict[TopicPartition, tuple[list[int], list[Record]]]
        polled = self._poll_as(timeout, max_records, ConsumedRecord)
        return {tp: records for tp, (_offsets, records) in polled.items()}

    def poll_encoded(
        self, timeout: float, max_records: int, encode: RecordEncoder
    ) -> dict[TopicPartition, EncodedBatch]:
        """As poll(), each message encoded straight from librdkafka's (no record objects)."""
        return {
            tp: EncodedBatch(offsets, lines)
            for tp, (offsets, lines) in self._poll_as(timeout, max_records, encode).items()
        }

    def _poll_as(
        self, timeout: float, max_records: int, make: Callable[..., T]
    ) -> dict[TopicPartition, tuple[list[int], list[T]]]:
        """Each fetched message as `make(topic, partition, offset, key, value, headers, ts,
        tstype)`, by partition in offset order, with the offsets."""
        out: dict[TopicPartition, tuple[list[int], list[T]]] = {}
        tps = self._tps
        current: tuple[str, int] | None = None
        offsets: list[int] = []
        made: list[T] = []
        for m in self._fetch(timeout, max_records):
            error = m.error()
            if error is not None:
                self._event(m, error)
                continue
            topic, partition, offset = m.topic(), m.partition(), m.offset()
            if current is None or current[1] != partition or current[0] != topic:
                current = (topic, partition)  # a consume() batch comes in runs per partition
                tp = tps.get(current)
                if tp is None:
                    tp = tps[current] = TopicPartition(topic, partition)
                batch = out.get(tp)
                if batch is None:
                    batch = out[tp] = ([], [])
                offsets, made = batch
            ts_type, ts = m.timestamp()
            try:
                headers = _headers_of(m) or []
            except SystemError:  # a header name that is not UTF-8
                headers = self._unreadable_headers(m)
            offsets.append(offset)
            made.append(
                make(
                    topic,
                    partition,
                    offset,
                    m.key(),
                    m.value(),
                    headers,
                    ts,
                    LOG_APPEND_TIME if ts_type == 2 else CREATE_TIME,
                )
            )
        self._settle({tp: batch[0][-1] for tp, batch in out.items()})
        return out

    def _fetch(self, timeout: float, max_records: int) -> list[Any]:
        """What librdkafka has now, else what comes within `timeout`: consume(n, 0) first.

        consume(n, timeout) waits until it has n messages or the timeout passed: take what is
        there, else wait for one and take what came with it.
        """
        if self._manual_dirty and self._manual is not None:
            self._consumer.assign([self._ctp(t, p, o) for (t, p), o in self._manual.items()])
            self._manual_dirty = False
        consume = self._consumer.consume
        messages: list[Any] = consume(max_records, 0)
        if not messages and timeout > 0:
            messages = consume(1, timeout)
            if messages and max_records > 1:
                messages += consume(max_records - 1, 0)
        return messages

    def _settle(self, last_offsets: dict[TopicPartition, int]) -> None:
        """After a poll: the next offsets, and EOF events made stale by later records."""
        for tp, offset in last_offsets.items():  # per partition, not per record
            self._next[tp] = offset + 1
        if last_offsets and self._eof:
            # A record at or past a partition's EOF offset makes that EOF stale; an EOF event
            # later in the same batch (offset past its last record) stands.
            for tp, offset in last_offsets.items():
                eof = self._eof.get(tp)
                if eof is not None and offset >= eof:
                    del self._eof[tp]

    def _unreadable_headers(self, message: Any) -> Headers:
        if self._rescuer is None:
            return [(UNREADABLE_HEADERS, b"header names that are not UTF-8")]
        return self._rescuer.headers(message)

    def _event(self, message: Any, error: Any) -> None:
        if error.code() == self._eof_code:
            tp = self._tp(message.topic(), message.partition())
            self._eof[tp] = self._next[tp] = message.offset()
            return
        if error.fatal():
            raise KafkactlError(f"the Kafka client failed: {LibrdkafkaError(error)}")
        text = f"{error.name()}: {error.str()}"
        now = time.monotonic()
        if (
            self._last_error is None
            or self._last_error[0] != text
            or now - self._last_error[1] > 30
        ):
            self._last_error = (text, now)
            logger.warning("consumer error on {}: {}", message.topic() or "the client", text)

    def _tp(self, topic: str, partition: int) -> TopicPartition:
        key = (topic, partition)
        tp = self._tps.get(key)
        if tp is None:
            tp = self._tps[key] = TopicPartition(topic, partition)
        return tp

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
            low, high = self._consumer.get_watermark_offsets(
                self._ctp(tp.topic, tp.partition), timeout=WATERMARK_TIMEOUT_S, cached=False
            )
            out[TopicPartition(*tp)] = (low, high)
        return out

    def at_end(self, ends: Offsets) -> bool:
        """Every partition had its EOF event at (or past) its given end offset.

        The end offsets come from the caller (one batched request): asking librdkafka for
        fresh watermarks queues each request behind the partition's long-poll fetch.
        """
        return all(self._eof.get(tp, -1) >= end for tp, end in ends.items())

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
