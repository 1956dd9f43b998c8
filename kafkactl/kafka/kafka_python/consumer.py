"""The consumer port on kafka-python, with its 3.0 workarounds kept here, out of the pipeline."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from loguru import logger

from kafkactl.config import Settings
from kafkactl.kafka.kafka_python.compat import (
    finish_join,
    known_lag,
    read_any_header_names,
    release_drained_records,
)
from kafkactl.kafka.kafka_python.config import consumer_config
from kafkactl.kafka.kafka_python.connect import connect
from kafkactl.kafka.ports import (
    CommitCallback,
    EncodedBatch,
    Offsets,
    RebalanceListener,
    Record,
    RecordEncoder,
    TopicPartition,
    encode_records,
)


class KafkaPythonConsumer:
    """ConsumerPort over kafka-python's KafkaConsumer."""

    def __init__(self, consumer: Any, on_commit: CommitCallback | None = None) -> None:
        self._consumer = consumer
        self._on_commit = on_commit
        self._watchdog: _RejoinWatchdog | None = None
        self._max_records = int(consumer.config.get("max_poll_records") or 500)

    @classmethod
    def connect(
        cls,
        settings: Settings,
        group: str | None,
        on_commit: CommitCallback | None = None,
        read_committed: bool = False,
        bulk: bool = False,  # librdkafka's prefetch depth; kafka-python's suits both
    ) -> KafkaPythonConsumer:
        """A connected consumer (in `group`, or none); exits 3 when unreachable."""
        from kafka import KafkaConsumer

        read_any_header_names()
        config = consumer_config(settings, group, read_committed)
        what = "the consumer group" if group else "Kafka"
        return cls(connect(settings, lambda: KafkaConsumer(**config), what), on_commit)

    def subscribe(self, topics: list[str], listener: RebalanceListener) -> None:
        """Join the group; the listener runs on kafka-python's IO thread."""
        self._consumer.subscribe(topics, listener=_make_listener(listener, self._consumer))
        self._watchdog = _RejoinWatchdog(self._consumer)

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Read these partitions without a group."""
        self._consumer.assign(_theirs(partitions))

    def poll(self, timeout: float, max_records: int) -> dict[TopicPartition, list[Record]]:
        """Records by partition; kafka-python's ConsumerRecord already fits the Record port."""
        release_drained_records(self._consumer)
        records = self._consumer.poll(
            timeout_ms=int(timeout * 1000), max_records=min(max_records, self._max_records)
        )
        if self._watchdog is not None:
            finish_join(self._consumer)
            self._watchdog.check(time.monotonic(), bool(self._consumer.assignment()))
        return records

    def poll_encoded(
        self, timeout: float, max_records: int, encode: RecordEncoder
    ) -> dict[TopicPartition, EncodedBatch]:
        """As poll(), each record encoded (kafka-python made its record objects already)."""
        return encode_records(self.poll(timeout, max_records), encode)

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop fetching these partitions."""
        self._consumer.pause(*_theirs(partitions))

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Fetch these partitions again."""
        self._consumer.resume(*_theirs(partitions))

    def paused(self) -> set[TopicPartition]:
        """Partitions paused now."""
        return {TopicPartition(tp.topic, tp.partition) for tp in self._consumer.paused()}

    def assignment(self) -> set[TopicPartition]:
        """Partitions assigned now."""
        return {TopicPartition(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """The next fetch of `tp` starts at `offset`."""
        self._consumer.seek(_theirs([tp])[0], offset)

    def position(self, tp: TopicPartition) -> int | None:
        """The next offset to fetch."""
        return self._consumer.position(_theirs([tp])[0], timeout_ms=5000)

    def watermarks(self, partitions: list[TopicPartition]) -> dict[TopicPartition, tuple[int, int]]:
        """(beginning, end) offsets of each partition."""
        if not partitions:
            return {}
        theirs = _theirs(partitions)
        ends = self._consumer.end_offsets(theirs, timeout_ms=5000)
        begins = self._consumer.beginning_offsets(theirs, timeout_ms=5000)
        return {TopicPartition(*tp): (begins[tp], ends[tp]) for tp in theirs}

    def at_end(self, ends: Offsets) -> bool:
        """Every partition's position is at its given end offset."""
        from kafka.errors import KafkaError

        try:
            for tp, end in ends.items():
                position = self._consumer.position(_theirs([tp])[0], timeout_ms=5000)
                if position is None or position < end:
                    return False
        except KafkaError as exc:
            logger.debug("end-of-topic check failed, will retry: {}", exc)
            return False
        return True

    def lag(self, positions: Offsets | None = None) -> Offsets:
        """End offset from the last fetch response (the highwater) minus the position."""
        out: Offsets = {}
        for theirs in self._consumer.assignment():
            tp = TopicPartition(theirs.topic, theirs.partition)
            lag = known_lag(self._consumer, theirs, (positions or {}).get(tp))
            if lag is not None:
                out[tp] = lag
        return out

    def offsets_for_times(self, times: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """First offset at or after each time; the end offset when there is none."""
        query = dict(zip(_theirs(times), times.values(), strict=True))
        found = self._consumer.offsets_for_times(query)
        missing = [tp for tp in query if found.get(tp) is None]
        ends = self._consumer.end_offsets(missing) if missing else {}
        return {
            TopicPartition(*tp): (found[tp].offset if found.get(tp) is not None else ends[tp])
            for tp in query
        }

    def partitions_for(self, topic: str) -> list[int]:
        """Partition ids of `topic` (empty if it does not exist)."""
        return sorted(self._consumer.partitions_for_topic(topic) or ())

    def commit(
        self,
        offsets: Offsets,
        metadata: dict[TopicPartition, str] | None = None,
        asynchronous: bool = False,
    ) -> None:
        """Commit; an asynchronous result is reported to on_commit on the IO thread."""
        from kafka.structs import OffsetAndMetadata

        meta = metadata or {}
        payload = {
            _theirs([tp])[0]: OffsetAndMetadata(o, meta.get(tp, ""), -1)
            for tp, o in offsets.items()
        }
        if not asynchronous:
            self._consumer.commit(payload)
            return
        sent = dict(offsets)

        def done(_offsets: Any, response: Any) -> None:
            if self._on_commit is not None:
                error = response if isinstance(response, BaseException) else None
                self._on_commit(sent, error)

        self._consumer.commit_async(payload, callback=done)

    def describe_state(self) -> str:
        """Partitions whose buffered records kafka-python parked on a pause."""
        fetcher = getattr(self._consumer, "_fetcher", None)
        parked = getattr(fetcher, "_paused_partition_records", {}) or {}
        names = sorted(f"{tp.topic}[{tp.partition}]" for tp in parked)
        return f"parked={', '.join(names) or 'nothing'}"

    def close(self) -> None:
        """Leave the group without committing."""
        self._consumer.close(autocommit=False)


class _RejoinWatchdog:
    """Asks for a rejoin when the group has given this member nothing for a while.

    kafka-python 3.0.12 sometimes drops the SyncGroup answer that carries the assignment after
    a first, empty one: the member then sits in the group with nothing, for ever. A rejoin is
    harmless when the emptiness is real (more members than partitions), so it backs off from
    10s to 5 min between tries and stops as soon as partitions arrive.
    """

    def __init__(self, consumer: Any) -> None:
        self._consumer = consumer
        self._empty_since: float | None = None
        self._wait = 10.0

    def check(self, now: float, assigned: bool) -> None:
        """Call from the poll loop after each poll."""
        if assigned:
            self._empty_since = None
            self._wait = 10.0
            return
        if self._empty_since is None:
            self._empty_since = now
            return
        if now - self._empty_since < self._wait:
            return
        coordinator = getattr(self._consumer, "_coordinator", None)
        if coordinator is None or not hasattr(coordinator, "request_rejoin"):
            return
        logger.info("no partitions assigned for {:.0f}s; asking the group to rebalance", self._wait)
        coordinator.request_rejoin()
        self._empty_since = now
        self._wait = min(self._wait * 2, 300.0)


def _make_listener(listener: RebalanceListener, consumer: Any) -> Any:
    """Rebalance hooks, run on kafka-python's IO thread: never block there, only await."""
    from kafka import AsyncConsumerRebalanceListener

    class Listener(AsyncConsumerRebalanceListener):
        async def on_partitions_revoked(self, revoked: set[Any]) -> None:
            await _revoke(listener, consumer, _ours(revoked), commit=True)

        async def on_partitions_lost(self, lost: set[Any]) -> None:
            await _revoke(listener, consumer, _ours(lost), commit=False)

        async def on_partitions_assigned(self, assigned: set[Any]) -> None:
            _restart_from_committed(consumer, assigned)
            listener.on_assigned(_ours(assigned))

    return Listener()


def _restart_from_committed(consumer: Any, assigned: set[Any]) -> None:
    """Assigned partitions start again from the group's committed offset.

    kafka-python 3 keeps a partition's fetch position when a rebalance gives the member the
    partition back (an eager rebalance revokes everything first). The pipeline dropped that
    partition's fetched, unhandled records at the revoke, so the kept position would skip them:
    with members coming and going, 523 records of a partition were never handled. A fresh
    partition state makes the fetcher ask for the committed offset again, and drops what it
    had buffered (DESIGN §3.4).
    """
    from kafka.consumer.subscription_state import TopicPartitionState

    state = getattr(consumer, "_subscription", None)
    if state is None:
        return
    for tp in assigned:
        if tp in state.assignment:
            state.assignment[tp] = TopicPartitionState()


def _theirs(partitions: Iterable[TopicPartition]) -> list[Any]:
    """kafka-python checks isinstance(tp, its own TopicPartition) in several calls."""
    from kafka import TopicPartition as KafkaTopicPartition

    return [KafkaTopicPartition(tp.topic, tp.partition) for tp in partitions]


def _ours(partitions: Iterable[Any]) -> set[TopicPartition]:
    return {TopicPartition(tp.topic, tp.partition) for tp in partitions}


async def _revoke(
    listener: RebalanceListener, consumer: Any, revoked: set[TopicPartition], commit: bool
) -> None:
    from kafka.structs import OffsetAndMetadata

    if not revoked:
        return
    listener.begin_revoke(revoked)
    deadline = time.monotonic() + listener.drain_timeout
    # Bounded drain: kafka-python's IO loop sleeps cooperatively here, so heartbeats continue.
    net = getattr(consumer, "_net", None)
    while listener.revoked_busy(revoked) and time.monotonic() < deadline and net is not None:
        await net.sleep(0.05)
    offsets = listener.finish_revoke(revoked, commit)
    if offsets:
        payload = {_theirs([tp])[0]: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()}
        # A blocking commit() raises on the IO thread; commit_async is the supported way.
        consumer.commit_async(payload, callback=_log_revoke_commit)


def _log_revoke_commit(_offsets: Any, response: Any) -> None:
    if isinstance(response, BaseException):
        logger.warning("offset commit on revoke failed: {}", response)
