"""The ports kafkactl talks to, whichever Kafka library runs underneath (DESIGN §3.2).

Everything outside `kafkactl/kafka/` uses these types and protocols only. Each engine adapter
(`kafka_python/`, `librdkafka/`) implements them and maps its library's errors to kafkactl's
(`kafkactl.errors`), so messages and exit codes are the same on both engines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal, NamedTuple, Protocol

EngineName = Literal["kafka-python", "librdkafka"]
ENGINES: tuple[EngineName, ...] = ("kafka-python", "librdkafka")

# Timestamp types, as kafka-python numbers them (and the envelope's `tstype` reads them).
CREATE_TIME = 0
LOG_APPEND_TIME = 1

# Header names are Kafka strings, yet the wire carries any bytes (kcat -H writes them as given).
# A name that is not UTF-8 is held as a str whose stray bytes are escaped by 'surrogateescape'
# (PEP 383): `header_name_bytes` gives back exactly the bytes on the wire. Each adapter
# translates at its boundary; everything above sees (str, bytes) pairs.
Headers = list[tuple[str, bytes]]
# Set (with the reason) on a record whose headers its engine could not read at all, in place
# of them: the record still flows rather than stopping its partition.
UNREADABLE_HEADERS = "kafkactl.headers-unreadable"


def header_name(data: bytes) -> str:
    """A header name read off the wire: its UTF-8 text, non-UTF-8 bytes surrogate-escaped."""
    return data.decode("utf-8", "surrogateescape")


def header_name_bytes(name: str) -> bytes:
    """The exact bytes of a header name on the wire (the inverse of `header_name`)."""
    return name.encode("utf-8", "surrogateescape")


def is_raw_name(name: str) -> bool:
    """True when a header name holds bytes that are not UTF-8 (escaped surrogates)."""
    if name.isascii():
        return False
    try:
        str.encode(name, "utf-8")  # not name.encode: an adapter's str subclass may override it
    except UnicodeEncodeError:
        return True
    return False


class TopicPartition(NamedTuple):
    """One partition of a topic (equal to kafka-python's TopicPartition, a tuple too)."""

    topic: str
    partition: int


class Record(Protocol):
    """A consumed record (kafka-python's ConsumerRecord fits as it is; librdkafka's is copied)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Headers: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def timestamp_type(self) -> int: ...


class ConsumedRecord(NamedTuple):
    """A concrete Record, for engines whose own record type does not fit (and for fakes)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp: int
    timestamp_type: int = CREATE_TIME


# One record's fields, in ConsumedRecord's order, to the bytes printed for it (a whole line):
# the reader's fast path prints straight from the engine's records with it (DESIGN §6.6).
RecordEncoder = Callable[[str, int, int, bytes | None, bytes | None, Headers, int, int], bytes]


class EncodedBatch(NamedTuple):
    """One partition's records of a poll as their encoded lines, with their offsets (both in
    offset order)."""

    offsets: list[int]
    lines: list[bytes]


def encode_records(
    polled: dict[TopicPartition, list[Record]], encode: RecordEncoder
) -> dict[TopicPartition, EncodedBatch]:
    """A poll's records encoded, for engines whose records are objects already (kafka-python)."""
    out: dict[TopicPartition, EncodedBatch] = {}
    for tp, records in polled.items():
        out[tp] = EncodedBatch(
            [r.offset for r in records],
            [
                encode(
                    r.topic,
                    r.partition,
                    r.offset,
                    r.key,
                    r.value,
                    r.headers,
                    r.timestamp,
                    r.timestamp_type,
                )
                for r in records
            ],
        )
    return out


class Delivery(NamedTuple):
    """The outcome of one publish: where it landed, or why it did not.

    A NamedTuple rather than a frozen dataclass: one is made per record on the engine's
    delivery thread, where a frozen dataclass costs several times more.
    """

    topic: str
    partition: int | None
    offset: int | None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the broker acknowledged the record."""
        return self.error is None


DeliveryCallback = Callable[[Delivery], None]
Offsets = dict[TopicPartition, int]
CommitCallback = Callable[[Offsets, BaseException | None], None]


class DeliveryTimeout(Exception):
    """A flush ran out of time with records still unacknowledged."""


# How `send_batch` reports a record that failed: its token, value, key and the error.
BatchFailure = Callable[[Any, bytes | None, bytes | None, BaseException], None]
# send_batch(topic, values, keys, tokens, headers, partition, on_failure) -> records taken.
SendBatch = Callable[..., int]


class ProducerPort(Protocol):
    """An engine's producer: asynchronous sends, one delivery report per record.

    An `errors_only` producer (librdkafka's delivery.report.only.error) reports failures
    only: a record not reported once `pending()` is zero was acknowledged. Bulk produce uses it
    to skip a Python callback per acknowledged record. Such a producer bounds its own queue
    (records and bytes): `send` waits for room. librdkafka's also has `send_batch` (a block of
    records with one failure report, the fast path of `produce`: DESIGN §5.4).
    """

    errors_only: bool
    # The largest record (key, value, headers, framing) it can ever send; None: unknown.
    max_record_bytes: int | None

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Headers | None,
        partition: int | None,
        timestamp_ms: int | None,
        on_delivery: DeliveryCallback,
    ) -> None:
        """Queue one record; `on_delivery` runs exactly once, on the engine's delivery thread.

        A record the engine refuses at once (too large, unknown partition) is reported
        through `on_delivery` too, never raised.
        """
        ...

    def flush(self, timeout: float | None) -> bool:
        """Send what is queued and wait for its delivery reports; False on timeout."""
        ...

    def pending(self) -> int:
        """Records sent whose delivery has not settled yet."""
        ...

    def serve(self, timeout: float) -> None:
        """Wait up to `timeout` for delivery reports, running their callbacks on this thread
        where the engine allows it (librdkafka); a plain wait elsewhere."""
        ...

    def close(self, timeout: float) -> None:
        """Flush (bounded) and release the client."""
        ...

    def batch_sender(self) -> SendBatch | None:
        """Its `send_batch` (an errors-only librdkafka producer: produce's fast path, DESIGN
        §5.4), or None when it sends one record at a time only."""
        ...

    def fault(self) -> str | None:
        """Why it can no longer deliver anything (a dead sender thread, a fatal client
        error), or None while it works."""
        ...

    def cancel(self) -> None:
        """Stop waiting for room (SIGINT/SIGTERM): a blocked send raises KeyboardInterrupt."""
        ...

    def abandon(self, reason: str) -> None:
        """Report every record still unsettled as not delivered (`reason`), now, once each."""
        ...


class RebalanceListener(Protocol):
    """What a group consumer's owner does when partitions come and go.

    The adapter runs it the way its library allows: kafka-python on its IO thread (waiting
    cooperatively, committing asynchronously), librdkafka inside poll() on the polling
    thread (waiting and committing synchronously).
    """

    @property
    def drain_timeout(self) -> float:
        """Seconds revoked partitions' running work may take to finish."""
        ...

    def on_assigned(self, partitions: set[TopicPartition]) -> None:
        """New partitions are ours."""
        ...

    def begin_revoke(self, partitions: set[TopicPartition]) -> None:
        """Stop handing out work of these partitions."""
        ...

    def revoked_busy(self, partitions: set[TopicPartition]) -> int:
        """Work of these partitions still running; the adapter waits (bounded) for zero."""
        ...

    def finish_revoke(self, partitions: set[TopicPartition], commit: bool) -> Offsets:
        """Forget the partitions; returns the offsets to commit for them (lost: none)."""
        ...


class ConsumerPort(Protocol):
    """An engine's consumer. Not thread-safe: one thread (the poll loop) uses it."""

    def subscribe(self, topics: list[str], listener: RebalanceListener) -> None:
        """Join the group for these topics."""
        ...

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Read these partitions without group management."""
        ...

    def poll(self, timeout: float, max_records: int) -> dict[TopicPartition, list[Record]]:
        """Fetched records by partition, each list in offset order (empty on timeout)."""
        ...

    def poll_encoded(
        self, timeout: float, max_records: int, encode: RecordEncoder
    ) -> dict[TopicPartition, EncodedBatch]:
        """As `poll`, each record encoded by `encode` as it comes off the engine (no record
        object per message where the engine allows it)."""
        ...

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop fetching these partitions; records buffered for them are not returned."""
        ...

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Fetch these partitions again from their position."""
        ...

    def paused(self) -> set[TopicPartition]:
        """Partitions paused now."""
        ...

    def assignment(self) -> set[TopicPartition]:
        """Partitions assigned now."""
        ...

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """The next poll of `tp` starts at `offset`."""
        ...

    def position(self, tp: TopicPartition) -> int | None:
        """The offset of the next record to fetch from `tp` (None if unknown)."""
        ...

    def watermarks(self, partitions: list[TopicPartition]) -> dict[TopicPartition, tuple[int, int]]:
        """(first retained offset, end offset) of each partition, asked of the broker."""
        ...

    def at_end(self, ends: Offsets) -> bool:
        """Every partition read up to the given end offset (for `-e`; ends from the admin)."""
        ...

    def lag(self, positions: Offsets | None = None) -> Offsets:
        """Records between the position (the consumer's, or the caller's own in `positions`)
        and the end offset last seen, per assigned partition where both are known: from what
        fetches brought back, never asking the broker."""
        ...

    def offsets_for_times(self, times: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """The first offset at or after each epoch-ms time; the end offset when none."""
        ...

    def partitions_for(self, topic: str) -> list[int]:
        """Partition ids of a topic (empty when it does not exist)."""
        ...

    def commit(
        self,
        offsets: Offsets,
        metadata: dict[TopicPartition, str] | None = None,
        asynchronous: bool = False,
    ) -> None:
        """Commit the next offsets to read; async results go to the consumer's on_commit."""
        ...

    def describe_state(self) -> str:
        """Engine internals worth a DEBUG line when diagnosing a stalled partition."""
        ...

    def close(self) -> None:
        """Leave the group (committing nothing) and release the client."""
        ...
