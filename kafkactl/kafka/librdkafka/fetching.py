"""Fetching on librdkafka: its messages to kafkactl's batches, EOF events, errors, positions.

`FetchingConsumer` is the half of the librdkafka consumer port that reads: `consume(n, 0)`
first, each message taken apart once (into a record, or straight into an encoder's line or
a fold, no object per record: DESIGN §7.4), partition EOF events remembered for `-e`, the next
offset of each partition kept for the lag gauge. `consumer.LibrdkafkaConsumer` adds
membership, seeking, positions and commits.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from typing import Any, TypeVar

from loguru import logger

from kafkactl.errors import KafkactlError
from kafkactl.kafka.librdkafka.connect import LibrdkafkaError
from kafkactl.kafka.librdkafka.headers import HeaderRescuer
from kafkactl.kafka.ports import (
    CREATE_TIME,
    LOG_APPEND_TIME,
    UNREADABLE_HEADERS,
    ConsumedRecord,
    EncodedBatch,
    Headers,
    Record,
    RecordEncoder,
    TopicPartition,
)

T = TypeVar("T")
# Message.headers() through a generic call, never `m.headers()`: for a header name that is not
# UTF-8 it returns a list holding a NULL with an exception set, which only a generic call
# checks (CPython 3.11's specialized method call does not: the broken list would flow on).
_headers_of = operator.methodcaller("headers")


class FetchingConsumer:
    """What a librdkafka consumer reads, by partition, and the state reading keeps."""

    def __init__(self, consumer: Any, rescuer: HeaderRescuer | None = None) -> None:
        from confluent_kafka import KafkaError
        from confluent_kafka import TopicPartition as CTP

        self._consumer = consumer
        self._ctp = CTP
        self._eof_code = KafkaError._PARTITION_EOF
        self._tps: dict[tuple[str, int], TopicPartition] = {}
        self._eof: dict[TopicPartition, int] = {}
        # The next offset the caller will get, per partition: librdkafka's own position() is
        # unknown after a seek and before a partition's first record (for the lag gauge).
        self._next: dict[TopicPartition, int] = {}
        # assign() without a group: applied (with the seeks made meanwhile) at the next fetch
        self._manual: dict[TopicPartition, int] | None = None
        self._manual_dirty = False
        self._last_error: tuple[str, float] | None = None
        self._rescuer = rescuer

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
        # A consume() batch comes in runs per partition: the lists change with the run.
        run_topic: str | None = None
        run_partition = -1
        offsets: list[int] = []  # set by the first message's run
        made: list[T] = []
        add_offset, add_made = offsets.append, made.append
        for m in self._fetch(timeout, max_records):
            error = m.error()
            if error is not None:
                self._event(m, error)
                continue
            topic, partition = m.topic(), m.partition()
            if partition != run_partition or topic != run_topic:
                run_topic, run_partition = topic, partition
                tp = tps.get((topic, partition))
                if tp is None:
                    tp = tps[(topic, partition)] = TopicPartition(topic, partition)
                batch = out.get(tp)
                if batch is None:
                    batch = out[tp] = ([], [])
                add_offset, add_made = batch[0].append, batch[1].append
            offset = m.offset()
            ts_type, ts = m.timestamp()
            try:
                headers = _headers_of(m) or []
            except SystemError:  # a header name that is not UTF-8
                headers = self._unreadable_headers(m)
            add_offset(offset)
            add_made(
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
