"""Reading a dead letter: where and why it failed, from whichever DLQ convention wrote it.

The origin of a record comes from, in this order: kafkactl's own headers (DESIGN §8.4), Kafka
Connect's `__connect.errors.*` (text values), Spring Kafka's `kafka_dlt-original-*` (a
DeadLetterPublishingRecoverer) or `kafka_original-*` (@RetryableTopic) headers (partition and
offset as big-endian 4- and 8-byte ints) and Karafka's `source_*` headers (text); the names
are in `conventions`. The error class and message read kafkactl's, Connect's and Spring's
(Karafka writes none). The group a record goes back to is its `kafkactl.group`, else the one
the user named, else Spring's or Karafka's original consumer group.

A framework writes its headers again each time a record fails, and some (Connect, Spring's
original-* headers) append rather than replace: every header is read from its **last**
occurrence, the framework's newest, and `DeadLetter.repeated` names the framework headers read
that repeat (the dry run says so).

A number is read only within the range Kafka gives it (partition 0..2^31-1, offset and
timestamp 0..2^63-1, counters 0..2^31-1) and in ASCII digits: a framework's origin partition of
-1 or offset of 10^23 is treated as absent (`DeadLetter.ignored` says which and why) and never
copied into `kafkactl.original.*`; such a kafkactl header makes the dead letter `malformed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

from kafkactl import headers as hdr
from kafkactl.replay import conventions as cv

if TYPE_CHECKING:
    from kafkactl.kafka.ports import Record

# Which convention told where the record came from.
Style = Literal["kafkactl", "connect", "spring", "karafka", "unknown"]


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ record and what its headers say about where and why it failed."""

    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: hdr.Headers
    style: Style
    original_topic: str | None = None
    original_partition: int | None = None
    original_offset: int | None = None
    original_timestamp: int | None = None
    group: str | None = None  # kafkactl.group
    foreign_group: str | None = None  # Spring's or Karafka's original consumer group
    error_classes: tuple[str, ...] = ()
    error_message: str | None = None
    replay_count: int = 0
    # failed attempts before the DLQ: kafkactl.attempt, or Karafka's source_attempts
    attempts: int | None = None
    # kafkactl's numeric headers that are present but not a whole number in range: (name, raw)
    malformed: tuple[tuple[str, str], ...] = ()
    # other numbers (a framework's origin, attempts) present but not a number in range, read
    # as absent and never copied: (name, value as read)
    ignored: tuple[tuple[str, str], ...] = ()
    # framework headers read that occur more than once (the last occurrence was), sorted
    repeated: tuple[str, ...] = ()

    @property
    def error_class(self) -> str | None:
        """The main error class, if any header names one."""
        return self.error_classes[0] if self.error_classes else None

    def error_text(self) -> str:
        """`Class: message` for tables and logs."""
        parts = [p for p in (self.error_class, self.error_message) if p]
        return ": ".join(parts)

    def key_text(self) -> str | None:
        """The key as text (invalid UTF-8 replaced)."""
        return None if self.key is None else self.key.decode("utf-8", "replace")


# The ranges Kafka gives these numbers: a number read from any header outside them (a Spring
# partition of -1, a Connect offset of 10^23) is not one, and is treated as absent.
PARTITION_MAX = 2**31 - 1
OFFSET_MAX = 2**63 - 1
COUNTER_MAX = 2**31 - 1
_DECIMAL = re.compile(r"[0-9]{1,19}")
# kafkactl's numeric headers a replay reads, and the largest value each may hold.
NUMERIC_HEADERS = {
    hdr.ORIGINAL_PARTITION: PARTITION_MAX,
    hdr.ORIGINAL_OFFSET: OFFSET_MAX,
    hdr.ORIGINAL_TIMESTAMP: OFFSET_MAX,
    hdr.REPLAY_COUNT: COUNTER_MAX,
}


def _shown(raw: bytes) -> str:
    """A header value as a reason quotes it (cut, bytes that are not UTF-8 as \\xNN)."""
    return raw[:40].decode("utf-8", "backslashreplace")


def _decimal(raw: bytes, high: int) -> int | None:
    """A whole number from 0 to `high` in ASCII digits (spaces around allowed), else None."""
    text = raw.decode("ascii", "replace").strip()
    if _DECIMAL.fullmatch(text) and int(text) <= high:
        return int(text)
    return None


def decode_int(raw: bytes | None, high: int = OFFSET_MAX) -> int | None:
    """A Spring-style header int from 0 to `high`: 4- or 8-byte big-endian signed, else decimal
    text; None when absent, not a number, or out of range."""
    if raw is None:
        return None
    if len(raw) in (4, 8):
        value = int.from_bytes(raw, "big", signed=True)
        return value if 0 <= value <= high else None
    return _decimal(raw, high)


class _Numbers:
    """Reads the foreign headers' numbers, noting each present one that is out of range."""

    def __init__(self, headers: hdr.Headers) -> None:
        self.headers = headers
        self.ignored: list[tuple[str, str]] = []

    def read(self, name: str, high: int, binary: bool = False) -> int | None:
        raw = hdr.get(self.headers, name)
        if raw is None:
            return None
        fixed = binary and len(raw) in (4, 8)
        value = decode_int(raw, high) if binary else _decimal(raw, high)
        if value is None:
            shown = str(int.from_bytes(raw, "big", signed=True)) if fixed else _shown(raw)
            self.ignored.append((name, shown))
        return value


def header_int(headers: hdr.Headers, name: str, high: int) -> tuple[int | None, str | None]:
    """(value, None) for a decimal header from 0 to `high`; (None, raw) when it is present but
    not that (negative, fractional, not a number, not UTF-8); (None, None) when absent."""
    raw = hdr.get(headers, name)
    if raw is None:
        return None, None
    text = raw.decode("utf-8", "backslashreplace")
    if _DECIMAL.fullmatch(text) and int(text) <= high:
        return int(text), None
    return None, text[:40]


def read_dead_letter(record: Record) -> DeadLetter:
    """Parse a consumed DLQ record (each header read from its last occurrence)."""
    headers = hdr.normalize(record.headers)
    text = partial(hdr.get_text, headers)
    style: Style = "unknown"
    topic = partition = offset = timestamp = None
    numbers: dict[str, int | None] = {}
    foreign = _Numbers(headers)
    malformed: list[tuple[str, str]] = []
    for name, high in NUMERIC_HEADERS.items():
        numbers[name], bad = header_int(headers, name, high)
        if bad is not None:
            malformed.append((name, bad))
    if text(hdr.ORIGINAL_TOPIC):
        style = "kafkactl"
        topic = text(hdr.ORIGINAL_TOPIC)
        partition = numbers[hdr.ORIGINAL_PARTITION]
        offset = numbers[hdr.ORIGINAL_OFFSET]
        timestamp = numbers[hdr.ORIGINAL_TIMESTAMP]
    elif text(cv.CONNECT_TOPIC):
        style = "connect"
        topic = text(cv.CONNECT_TOPIC)
        partition = foreign.read(cv.CONNECT_PARTITION, PARTITION_MAX)
        offset = foreign.read(cv.CONNECT_OFFSET, OFFSET_MAX)
    elif text(cv.SPRING_DLT.topic) or text(cv.SPRING_RETRY_TOPICS.topic):
        style = "spring"
        spring = cv.SPRING_DLT if text(cv.SPRING_DLT.topic) else cv.SPRING_RETRY_TOPICS
        topic = text(spring.topic)
        partition = foreign.read(spring.partition, PARTITION_MAX, binary=True)
        offset = foreign.read(spring.offset, OFFSET_MAX, binary=True)
        timestamp = foreign.read(spring.timestamp, OFFSET_MAX, binary=True)
    elif text(cv.KARAFKA_TOPIC):
        style = "karafka"
        topic = text(cv.KARAFKA_TOPIC)
        partition = foreign.read(cv.KARAFKA_PARTITION, PARTITION_MAX)
        offset = foreign.read(cv.KARAFKA_OFFSET, OFFSET_MAX)
    attempts = foreign.read(hdr.ATTEMPT, COUNTER_MAX)
    if attempts is None:
        attempts = foreign.read(cv.KARAFKA_ATTEMPTS, COUNTER_MAX)
    classes = tuple(
        c
        for c in (
            text(hdr.ERROR_CLASS),
            text(cv.CONNECT_ERROR_CLASS),
            text(cv.SPRING_DLT.error_class),
            text(cv.SPRING_DLT.cause_class),
            text(cv.SPRING_RETRY_TOPICS.error_class),
            text(cv.SPRING_RETRY_TOPICS.cause_class),
        )
        if c
    )
    message = (
        text(hdr.ERROR_MESSAGE)
        or text(cv.CONNECT_ERROR_MESSAGE)
        or text(cv.SPRING_DLT.error_message)
        or text(cv.SPRING_RETRY_TOPICS.error_message)
    )
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        key=record.key,
        value=record.value,
        headers=headers,
        style=style,
        original_topic=topic,
        original_partition=partition,
        original_offset=offset,
        original_timestamp=timestamp,
        group=text(hdr.GROUP) or None,
        foreign_group=text(cv.SPRING_GROUP) or text(cv.KARAFKA_GROUP) or None,
        error_classes=classes,
        error_message=message,
        replay_count=numbers[hdr.REPLAY_COUNT] or 0,
        attempts=attempts,
        malformed=tuple(malformed),
        ignored=tuple(foreign.ignored),
        repeated=cv.repeated_read_headers(headers),
    )


def replay_group_for(dl: DeadLetter, fallback_group: str | None) -> str | None:
    """The group the retry target belongs to."""
    return dl.group or fallback_group or dl.foreign_group
