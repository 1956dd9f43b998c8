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
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from kafkactl import headers as hdr
from kafkactl.replay import conventions as cv

if TYPE_CHECKING:
    from kafkactl.kafka.ports import Record

# Which convention told where the record came from.
Style = Literal["kafkactl", "connect", "spring", "karafka", "unknown"]


class Origin(NamedTuple):
    """What a dead letter's numbers and origin headers say, read together on first use."""

    style: Style
    topic: str | None
    partition: int | None
    offset: int | None
    timestamp: int | None
    replay_count: int
    attempts: int | None
    malformed: tuple[tuple[str, str], ...]
    ignored: tuple[tuple[str, str], ...]


class DeadLetter:
    """One DLQ record and what its headers say about where and why it failed.

    The headers are walked once, into a dict of each name's last value (the framework's
    newest); each fact is read from it when first asked for (DESIGN §8.4): `dlq summary`
    reads a million of these and asks only for what its grouping needs.
    """

    __slots__ = (
        "_headers",
        "_last",
        "_origin",
        "_raw",
        "key",
        "offset",
        "partition",
        "timestamp",
        "value",
    )

    def __init__(
        self,
        partition: int,
        offset: int,
        timestamp: int,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[Any, Any]] | None,
    ) -> None:
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self._raw = headers or ()
        self._headers: hdr.Headers | None = None
        self._origin: Origin | None = None
        last = dict(self._raw)  # later occurrences win
        try:  # (str, bytes) pairs, as the engines give them: nothing to normalise
            "".join(last)
            b"".join(last.values())
        except TypeError:  # a None value, a bytes name: read them as normalised
            last = dict(self.headers)
        self._last: dict[str, bytes] = last

    @property
    def headers(self) -> hdr.Headers:
        """The record's headers, normalised (`kafkactl.headers.normalize`) when first asked."""
        headers = self._headers
        if headers is None:
            headers = self._headers = hdr.normalize(self._raw)
        return headers

    def __repr__(self) -> str:
        return f"DeadLetter(partition={self.partition}, offset={self.offset}, style={self.style})"

    def _text(self, name: str) -> str | None:
        raw = self._last.get(name)
        return None if raw is None else raw.decode("utf-8", "replace")

    @property
    def origin(self) -> Origin:
        """Where it came from, its numbers and attempts: read from the headers once."""
        origin = self._origin
        if origin is None:
            origin = self._origin = _read_origin(self._last, self._text)
        return origin

    @property
    def style(self) -> Style:
        """Which convention told where the record came from."""
        return self.origin.style

    @property
    def original_topic(self) -> str | None:
        """The topic the record first failed on."""
        return self.origin.topic

    @property
    def original_partition(self) -> int | None:
        """Its partition there."""
        return self.origin.partition

    @property
    def original_offset(self) -> int | None:
        """Its offset there."""
        return self.origin.offset

    @property
    def original_timestamp(self) -> int | None:
        """Its timestamp there."""
        return self.origin.timestamp

    @property
    def replay_count(self) -> int:
        """How often it was replayed (kafkactl.replay.count; 0 when absent or malformed)."""
        return self.origin.replay_count

    @property
    def attempts(self) -> int | None:
        """Failed attempts before the DLQ: kafkactl.attempt, or Karafka's source_attempts."""
        return self.origin.attempts

    @property
    def malformed(self) -> tuple[tuple[str, str], ...]:
        """kafkactl's numeric headers present but not a whole number in range: (name, raw)."""
        return self.origin.malformed

    @property
    def ignored(self) -> tuple[tuple[str, str], ...]:
        """Other numbers (a framework's origin, attempts) present but not a number in range,
        read as absent and never copied: (name, value as read)."""
        return self.origin.ignored

    @property
    def group(self) -> str | None:
        """kafkactl.group."""
        return self._text(hdr.GROUP) or None

    @property
    def foreign_group(self) -> str | None:
        """Spring's or Karafka's original consumer group."""
        return self._text(cv.SPRING_GROUP) or self._text(cv.KARAFKA_GROUP) or None

    @property
    def error_classes(self) -> tuple[str, ...]:
        """The error classes the headers name, the main one first."""
        return tuple(c for c in map(self._text, CLASS_HEADERS) if c)

    @property
    def error_class(self) -> str | None:
        """The main error class, if any header names one."""
        return _first_text(self._last, CLASS_HEADERS) or None

    @property
    def error_message(self) -> str | None:
        """The error message of the first convention that wrote one."""
        return _first_text(self._last, MESSAGE_HEADERS)

    @property
    def error_kind(self) -> str | None:
        """kafkactl.error.kind (kafkactl's convention only)."""
        raw = self._last.get(hdr.ERROR_KIND)
        return None if raw is None else raw.decode("utf-8", "replace")

    @property
    def repeated(self) -> tuple[str, ...]:
        """Framework headers read that occur more than once (the last occurrence was), sorted."""
        if len(self._last) == len(self._raw):  # no name repeats
            return ()
        return cv.repeated_read_headers(self.headers)

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
# In the order _read_origin unpacks them.
_NUMERIC_ITEMS = tuple(NUMERIC_HEADERS.items())


# Where the error class and message are read, in order of preference.
CLASS_HEADERS = (
    hdr.ERROR_CLASS,
    cv.CONNECT_ERROR_CLASS,
    cv.SPRING_DLT.error_class,
    cv.SPRING_DLT.cause_class,
    cv.SPRING_RETRY_TOPICS.error_class,
    cv.SPRING_RETRY_TOPICS.cause_class,
)
MESSAGE_HEADERS = (
    hdr.ERROR_MESSAGE,
    cv.CONNECT_ERROR_MESSAGE,
    cv.SPRING_DLT.error_message,
    cv.SPRING_RETRY_TOPICS.error_message,
)


def _first_text(last: Mapping[str, bytes], names: tuple[str, ...]) -> str | None:
    """The text of the first of `names` that is not empty; else the last one's ("" or None)."""
    raw = None
    for name in names:
        raw = last.get(name)
        if raw:  # non-empty bytes decode to non-empty text
            break
    return None if raw is None else raw.decode("utf-8", "replace")


def _shown(raw: bytes) -> str:
    """A header value as a reason quotes it (cut, bytes that are not UTF-8 as \\xNN)."""
    return raw[:40].decode("utf-8", "backslashreplace")


def _decimal(raw: bytes, high: int) -> int | None:
    """A whole number from 0 to `high` in ASCII digits (spaces around allowed), else None."""
    if 0 < len(raw) <= 19 and raw.isdigit():  # bytes.isdigit: ASCII digits only
        value = int(raw)
        return value if value <= high else None
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


def _foreign(
    last: Mapping[str, bytes],
    name: str,
    high: int,
    ignored: list[tuple[str, str]],
    binary: bool = False,
) -> int | None:
    """A foreign header's number (`binary`: Spring's big-endian ints too); a present one out
    of range is noted in `ignored` and read as absent."""
    raw = last.get(name)
    if raw is None:
        return None
    fixed = binary and len(raw) in (4, 8)
    value = decode_int(raw, high) if binary else _decimal(raw, high)
    if value is None:
        shown = str(int.from_bytes(raw, "big", signed=True)) if fixed else _shown(raw)
        ignored.append((name, shown))
    return value


def header_int(headers: hdr.Headers, name: str, high: int) -> tuple[int | None, str | None]:
    """(value, None) for a decimal header from 0 to `high`; (None, raw) when it is present but
    not that (negative, fractional, not a number, not UTF-8); (None, None) when absent."""
    return int_or_raw(hdr.get(headers, name), high)


def int_or_raw(raw: bytes | None, high: int) -> tuple[int | None, str | None]:
    """`header_int` of a value already looked up (None: absent)."""
    if raw is None:
        return None, None
    if 0 < len(raw) <= 19 and raw.isdigit() and int(raw) <= high:
        return int(raw), None
    text = raw.decode("utf-8", "backslashreplace")
    if _DECIMAL.fullmatch(text) and int(text) <= high:
        return int(text), None
    return None, text[:40]


def read_dead_letter(record: Record) -> DeadLetter:
    """A consumed DLQ record as a DeadLetter (its facts are read from the headers on use)."""
    return DeadLetter(
        record.partition, record.offset, record.timestamp, record.key, record.value, record.headers
    )


def _read_origin(last: Mapping[str, bytes], text: Callable[[str], str | None]) -> Origin:
    """Where the record came from, by the first convention whose topic header it carries,
    with kafkactl's numbers and the attempts."""
    style: Style = "unknown"
    topic = None
    get = last.get  # an empty header names nothing: b"" is as false as ""
    malformed: list[tuple[str, str]] = []
    ignored: list[tuple[str, str]] = []
    numbers: list[int | None] = []
    for name, high in _NUMERIC_ITEMS:
        raw = get(name)
        value, bad = (None, None) if raw is None else int_or_raw(raw, high)
        if bad is not None:
            malformed.append((name, bad))
        numbers.append(value)
    partition, offset, timestamp, replay_count = numbers
    if get(hdr.ORIGINAL_TOPIC):
        style = "kafkactl"
        topic = text(hdr.ORIGINAL_TOPIC)
    else:
        partition = offset = timestamp = None
        if get(cv.CONNECT_TOPIC):
            style = "connect"
            topic = text(cv.CONNECT_TOPIC)
            partition = _foreign(last, cv.CONNECT_PARTITION, PARTITION_MAX, ignored)
            offset = _foreign(last, cv.CONNECT_OFFSET, OFFSET_MAX, ignored)
        elif get(cv.SPRING_DLT.topic) or get(cv.SPRING_RETRY_TOPICS.topic):
            style = "spring"
            spring = cv.SPRING_DLT if get(cv.SPRING_DLT.topic) else cv.SPRING_RETRY_TOPICS
            topic = text(spring.topic)
            partition = _foreign(last, spring.partition, PARTITION_MAX, ignored, True)
            offset = _foreign(last, spring.offset, OFFSET_MAX, ignored, True)
            timestamp = _foreign(last, spring.timestamp, OFFSET_MAX, ignored, True)
        elif get(cv.KARAFKA_TOPIC):
            style = "karafka"
            topic = text(cv.KARAFKA_TOPIC)
            partition = _foreign(last, cv.KARAFKA_PARTITION, PARTITION_MAX, ignored)
            offset = _foreign(last, cv.KARAFKA_OFFSET, OFFSET_MAX, ignored)
    attempts = _foreign(last, hdr.ATTEMPT, COUNTER_MAX, ignored)
    if attempts is None:
        attempts = _foreign(last, cv.KARAFKA_ATTEMPTS, COUNTER_MAX, ignored)
    return Origin(
        style,
        topic,
        partition,
        offset,
        timestamp,
        replay_count or 0,
        attempts,
        tuple(malformed),
        tuple(ignored),
    )


def replay_group_for(dl: DeadLetter, fallback_group: str | None) -> str | None:
    """The group the retry target belongs to."""
    return dl.group or fallback_group or dl.foreign_group
