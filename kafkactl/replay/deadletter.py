"""Reading a dead letter: where and why it failed, from whichever DLQ convention wrote it.

The origin of a record comes from, in this order: kafkactl's own headers (SPEC §8), Kafka
Connect's `__connect.errors.*` (text values), Spring Kafka's `kafka_dlt-*` headers
(partition and offset as big-endian 4- and 8-byte ints) and Karafka's `source_*` headers (text).
The error class and message read the first three families (Karafka writes none). The group a
record goes back to is its `kafkactl.group`, else the one the user named, else Spring's or
Karafka's original consumer group.

A framework writes its headers again each time a record fails, and some (Connect, Spring's
"original" headers) append rather than replace: every header is read from its **last**
occurrence, the framework's newest, and `DeadLetter.repeated` names the ones that repeat. A
replayed copy leaves a framework's error context out (`without_error_context`): Connect's
`__connect.errors.*`, Spring's `kafka_dlt-*`, `retry_topic-*` and deserializer-exception
headers, Karafka's `source_*`; what kafkactl needs of them goes into its own headers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

from kafkactl import headers as hdr

if TYPE_CHECKING:
    from kafkactl.kafka.ports import Record

# Kafka Connect dead-letter headers (values are UTF-8 text).
CONNECT_TOPIC = "__connect.errors.topic"
CONNECT_PARTITION = "__connect.errors.partition"
CONNECT_OFFSET = "__connect.errors.offset"
CONNECT_ERROR_CLASS = "__connect.errors.exception.class.name"
CONNECT_ERROR_MESSAGE = "__connect.errors.exception.message"

# Spring Kafka dead-letter headers (partition: 4-byte, offset and timestamp: 8-byte big-endian).
SPRING_TOPIC = "kafka_dlt-original-topic"
SPRING_PARTITION = "kafka_dlt-original-partition"
SPRING_OFFSET = "kafka_dlt-original-offset"
SPRING_TIMESTAMP = "kafka_dlt-original-timestamp"
SPRING_GROUP = "kafka_dlt-original-consumer-group"
SPRING_ERROR_CLASS = "kafka_dlt-exception-fqcn"
SPRING_CAUSE_CLASS = "kafka_dlt-exception-cause-fqcn"
SPRING_ERROR_MESSAGE = "kafka_dlt-exception-message"

# Karafka (Ruby) dead-letter headers, all decimal/plain text. Karafka Pro's Enhanced DLQ
# (`build_dlq_message` in karafka/karafka lib/karafka/pro/processing/strategies/dlq/default.rb;
# https://karafka.io/docs/Pro-Enhanced-Dead-Letter-Queue) merges these into the original headers:
# source_topic, source_partition, source_offset, source_consumer_group, source_attempts and
# source_trace_id. It sets no error class or message header (an app may add its own in
# `enhance_dlq_message`); the OSS DLQ writes the payload only, with no headers at all.
KARAFKA_TOPIC = "source_topic"
KARAFKA_PARTITION = "source_partition"
KARAFKA_OFFSET = "source_offset"
KARAFKA_GROUP = "source_consumer_group"
KARAFKA_ATTEMPTS = "source_attempts"
KARAFKA_TRACE_ID = "source_trace_id"
KARAFKA_HEADERS = (
    KARAFKA_TOPIC,
    KARAFKA_PARTITION,
    KARAFKA_OFFSET,
    KARAFKA_GROUP,
    KARAFKA_ATTEMPTS,
    KARAFKA_TRACE_ID,
)

# A framework's error context, by header-name prefix (the family shown to the user: prefix*).
# Connect and Spring append theirs again at every failure, so copies that kept them would grow
# by a stack trace per round. Spring's `retry_topic-*` is @RetryableTopic's retry state
# (attempts, due time, first timestamp): a copy back on the main topic that kept it would skip
# the retry topics (attempts already at the maximum) and go straight to the DLT.
CONNECT_PREFIX = "__connect.errors."
SPRING_PREFIX = "kafka_dlt-"
SPRING_RETRY_PREFIX = "retry_topic-"
SPRING_DESERIALIZER_PREFIX = "springDeserializerException"
ERROR_CONTEXT_PREFIXES = (
    CONNECT_PREFIX,
    SPRING_PREFIX,
    SPRING_RETRY_PREFIX,
    SPRING_DESERIALIZER_PREFIX,
)
# Karafka's `source_*` names are plain words an application might use too: they count as error
# context only on a record that carries Karafka's whole origin (topic, partition and offset).
KARAFKA_FAMILY = "source_* (Karafka)"

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
    # framework headers that occur more than once (the last occurrence was read), sorted
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


def decode_int(raw: bytes | None) -> int | None:
    """A Spring-style header int: 4- or 8-byte big-endian signed, else decimal text, else None."""
    if raw is None:
        return None
    if len(raw) in (4, 8):
        return int.from_bytes(raw, "big", signed=True)
    try:
        return int(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None


def _text_int(raw: bytes | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw.decode("utf-8").strip())
    except (UnicodeDecodeError, ValueError):
        return None


_DECIMAL = re.compile(r"[0-9]{1,19}")
# kafkactl's numeric headers a replay reads, and the largest value each may hold.
NUMERIC_HEADERS = {
    hdr.ORIGINAL_PARTITION: 2**31 - 1,
    hdr.ORIGINAL_OFFSET: 2**63 - 1,
    hdr.ORIGINAL_TIMESTAMP: 2**63 - 1,
    hdr.REPLAY_COUNT: 2**31 - 1,
}


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


def _karafka_origin(names: set[str] | Counter[str]) -> bool:
    return all(n in names for n in (KARAFKA_TOPIC, KARAFKA_PARTITION, KARAFKA_OFFSET))


def context_family(name: str, karafka: bool) -> str | None:
    """The error-context family (`__connect.errors.*`, ...) header `name` belongs to, or None
    for a business header; `karafka`: the record carries Karafka's origin headers."""
    for prefix in ERROR_CONTEXT_PREFIXES:
        if name.startswith(prefix):
            return prefix + "*"
    if karafka and name in KARAFKA_HEADERS:
        return KARAFKA_FAMILY
    return None


def error_context_families(headers: hdr.Headers) -> list[str]:
    """The error-context families among `headers`, in order of first appearance."""
    karafka = _karafka_origin({name for name, _ in headers})
    found = (context_family(name, karafka) for name, _ in headers)
    return list(dict.fromkeys(f for f in found if f is not None))


def without_error_context(headers: hdr.Headers) -> hdr.Headers:
    """`headers` without any framework's error context (business headers kept, in order)."""
    karafka = _karafka_origin({name for name, _ in headers})
    return [(name, value) for name, value in headers if context_family(name, karafka) is None]


def _repeated(headers: hdr.Headers) -> tuple[str, ...]:
    counts = Counter(name for name, _ in headers)
    karafka = _karafka_origin(counts)
    return tuple(
        sorted(name for name, n in counts.items() if n > 1 and context_family(name, karafka))
    )


def read_dead_letter(record: Record) -> DeadLetter:
    """Parse a consumed DLQ record (each header read from its last occurrence)."""
    headers = hdr.normalize(record.headers)
    text = partial(hdr.get_text, headers)
    style: Style = "unknown"
    topic = partition = offset = timestamp = None
    numbers: dict[str, int | None] = {}
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
    elif text(CONNECT_TOPIC):
        style = "connect"
        topic = text(CONNECT_TOPIC)
        partition = _text_int(hdr.get(headers, CONNECT_PARTITION))
        offset = _text_int(hdr.get(headers, CONNECT_OFFSET))
    elif text(SPRING_TOPIC):
        style = "spring"
        topic = text(SPRING_TOPIC)
        partition = decode_int(hdr.get(headers, SPRING_PARTITION))
        offset = decode_int(hdr.get(headers, SPRING_OFFSET))
        timestamp = decode_int(hdr.get(headers, SPRING_TIMESTAMP))
    elif text(KARAFKA_TOPIC):
        style = "karafka"
        topic = text(KARAFKA_TOPIC)
        partition = _text_int(hdr.get(headers, KARAFKA_PARTITION))
        offset = _text_int(hdr.get(headers, KARAFKA_OFFSET))
    classes = tuple(
        c
        for c in (
            text(hdr.ERROR_CLASS),
            text(CONNECT_ERROR_CLASS),
            text(SPRING_ERROR_CLASS),
            text(SPRING_CAUSE_CLASS),
        )
        if c
    )
    message = text(hdr.ERROR_MESSAGE) or text(CONNECT_ERROR_MESSAGE) or text(SPRING_ERROR_MESSAGE)
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
        foreign_group=text(SPRING_GROUP) or text(KARAFKA_GROUP) or None,
        error_classes=classes,
        error_message=message,
        replay_count=numbers[hdr.REPLAY_COUNT] or 0,
        attempts=_text_int(hdr.get(headers, hdr.ATTEMPT))
        or _text_int(hdr.get(headers, KARAFKA_ATTEMPTS)),
        malformed=tuple(malformed),
        repeated=_repeated(headers),
    )


def replay_group_for(dl: DeadLetter, fallback_group: str | None) -> str | None:
    """The group the retry target belongs to."""
    return dl.group or fallback_group or dl.foreign_group
