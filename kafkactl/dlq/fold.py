"""Folding dead letters into a `TriageSummary` straight from the engine's fields (DESIGN §10).

`dlq summary` reads millions of records and asks each the same dozen questions. A `Folder`
answers them without a `DeadLetter` per record: the headers become one dict, the values that
decide a record's convention, topic, error kind and class, groups, attempts and replay count
are looked up together, and what they mean is read once per distinct combination (a DLQ
repeats them) by `DeadLetter` itself, so both paths agree by construction. What varies per
record (the message, kafkactl's origin numbers, the key, the time) is read on its own; a
message is normalised once per shape (its digits do not change the result). A record the fast
path does not cover (a header with no value, a name that is not text) goes through
`TriageSummary.add` unchanged. The counts are the same, in the same order, as folding
`DeadLetter`s one by one.
"""

from __future__ import annotations

from typing import Any, NamedTuple, cast

from kafkactl import headers as hdr
from kafkactl.dlq.triage import (
    MESSAGE_CHARS,
    GroupStats,
    TriageSummary,
    _bucket,
    _hour,
    class_label,
    error_kind,
    normalize_message,
)
from kafkactl.replay import conventions as cv
from kafkactl.replay.deadletter import (
    _CLASS_HEADERS,
    _MESSAGE_HEADERS,
    NUMERIC_HEADERS,
    DeadLetter,
    _int_or_raw,
)

CACHE_ENTRIES = 50_000  # facts and messages remembered; past it the cache starts over
# The headers whose values decide a record's facts (all but its message and origin numbers).
FACT_HEADERS = (
    hdr.ORIGINAL_TOPIC,
    cv.CONNECT_TOPIC,
    cv.SPRING_DLT.topic,
    cv.SPRING_RETRY_TOPICS.topic,
    cv.KARAFKA_TOPIC,
    hdr.REPLAY_COUNT,
    hdr.ATTEMPT,
    cv.KARAFKA_ATTEMPTS,
    hdr.ERROR_KIND,
    *_CLASS_HEADERS,
    hdr.GROUP,
    cv.SPRING_GROUP,
    cv.KARAFKA_GROUP,
)
_ABSENT = object()
_FACT_ABSENT = (_ABSENT,) * len(FACT_HEADERS)
_EM, _CEM, _SDM, _SRM = _MESSAGE_HEADERS
_OP, _OO, _OT = hdr.ORIGINAL_PARTITION, hdr.ORIGINAL_OFFSET, hdr.ORIGINAL_TIMESTAMP
_OP_MAX, _OO_MAX, _OT_MAX = NUMERIC_HEADERS[_OP], NUMERIC_HEADERS[_OO], NUMERIC_HEADERS[_OT]
# ASCII digits 2-9 as "1": a message's normalised form does not depend on which digits it
# holds (every digit run becomes <n>; only "0x" is matched literally), so messages that differ
# only in numbers share one entry.
_DIGITS = bytes.maketrans(b"23456789", b"11111111")


class Facts(NamedTuple):
    """What a combination of FACT_HEADERS values says, as the summary counts it."""

    style: str
    topic: str  # "-" when none
    kind: str
    error_class: str | None
    label: str  # the --by class group
    group: str  # kafkactl's, else Spring's or Karafka's, else "-"
    attempts: int | None
    attempts_bucket: str | None
    replays_bucket: str
    parked: bool  # replayed --max-replays times, or its replay count malformed


def facts_of(dl: DeadLetter, max_replays: int) -> Facts:
    """A dead letter's facts that FACT_HEADERS decide (DeadLetter reads them)."""
    origin = dl.origin
    kind, error_class = error_kind(dl), dl.error_class
    attempts = origin.attempts
    replay_malformed = any(name == hdr.REPLAY_COUNT for name, _ in origin.malformed)
    return Facts(
        origin.style,
        origin.topic or "-",
        kind,
        error_class,
        class_label(kind, error_class),
        dl.group or dl.foreign_group or "-",
        attempts,
        None if attempts is None else _bucket(attempts),
        _bucket(origin.replay_count),
        origin.replay_count >= max_replays or replay_malformed,
    )


def _bad_number(raw: bytes | None, high: int) -> bool:
    """True when kafkactl's numeric header is not a whole number from 0 to `high` (a header
    without a value reads as b"": not one)."""
    return _int_or_raw(raw or b"", high)[1] is not None


class Folder:
    """Folds records into one `TriageSummary` (time bounds applied), as `summarize` does.

    `fold` has a `RecordEncoder`'s shape, so an engine hands it each message's fields as it
    reads them (`ConsumerPort.poll_encoded`, DESIGN §7.4) and no record object is made: it
    folds the record and returns no line. A record at or past its partition's `ends` offset
    is left out, uncounted.
    """

    def __init__(self, summary: TriageSummary, ends: dict[int, int] | None = None) -> None:
        self.summary = summary
        self._ends = ends
        self._facts: dict[tuple[Any, ...], Facts] = {}
        self._messages: dict[bytes, str] = {}
        self._hours: dict[int, str] = {}

    def fold(
        self,
        _topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: Any,
        timestamp: int,
        _timestamp_type: int = 0,
    ) -> bytes:
        """Count one record (headers as the engine's (str, bytes | None) pairs); returns b""."""
        if self._ends is not None and offset >= self._ends.get(partition, offset):
            return b""
        summary = self.summary
        summary.scanned += 1
        since, until = summary.since_ms, summary.until_ms
        if (since is not None and timestamp < since) or (until is not None and timestamp >= until):
            return b""
        last = dict(headers or ())  # later occurrences win, as in DeadLetter
        get = last.get
        # A header without a value (None) reads as b"" in DeadLetter, not as absent: the key
        # keeps the two apart, and so does each number read below.
        found = tuple(map(get, FACT_HEADERS, _FACT_ABSENT))
        facts = self._facts.get(found)
        if facts is None:
            facts = self._learn(found, partition, offset, timestamp, key, value, headers)
        parked = facts.parked
        if not parked:
            raw = get(_OP, _ABSENT)
            if raw is not _ABSENT and not (raw is not None and raw.isdigit() and len(raw) < 10):
                parked = _bad_number(raw, _OP_MAX)
            raw = get(_OO, _ABSENT)
            if raw is not _ABSENT and not (raw is not None and raw.isdigit() and len(raw) < 19):
                parked = parked or _bad_number(raw, _OO_MAX)
            raw = get(_OT, _ABSENT)
            if raw is not _ABSENT and not (raw is not None and raw.isdigit() and len(raw) < 19):
                parked = parked or _bad_number(raw, _OT_MAX)
        # An empty or valueless message header reads as absent in DeadLetter too: the next one.
        message = get(_EM) or get(_CEM) or get(_SDM) or get(_SRM)
        text = self._message(message) if message else "-"
        self._count(facts, parked, text, timestamp, key)
        return b""

    def _learn(self, found: tuple[Any, ...], *record: Any) -> Facts:
        if len(self._facts) >= CACHE_ENTRIES:
            self._facts.clear()
        facts = facts_of(DeadLetter(*record), self.summary.max_replays)
        self._facts[found] = facts
        return facts

    def _message(self, raw: bytes) -> str:
        """The normalised message or "-", once per shape of message."""
        shape = raw.translate(_DIGITS)
        text = self._messages.get(shape)
        if text is None:
            if len(self._messages) >= CACHE_ENTRIES:
                self._messages.clear()
            text = self._messages[shape] = normalize_message(raw.decode("utf-8", "replace")) or "-"
        return text

    def _count(self, facts: Facts, parked: bool, text: str, ts: int, key: bytes | None) -> None:
        """TriageSummary.add and GroupStats.add, on facts already read."""
        summary = self.summary
        summary.matched += 1
        styles = summary.styles
        styles[facts.style] = styles.get(facts.style, 0) + 1
        if summary.first_ms is None or ts < summary.first_ms:
            summary.first_ms = ts
        if summary.last_ms is None or ts > summary.last_ms:
            summary.last_ms = ts
        if parked:
            summary.parked += 1
        by = summary.by
        if by == "class":
            label = facts.label
        elif by == "message":
            label = text
        elif by == "topic":
            label = facts.topic
        elif by == "key":
            label = "-" if key is None else key.decode("utf-8", "replace")[:MESSAGE_CHARS]
        else:
            label = self._hours.get(ts // 3_600_000) or self._hour(ts)
        # TopK.add where the key is new (it may evict); a known key counted here, no call
        slot = summary.groups.slots.get(label)
        if slot is None:
            stats = cast(GroupStats, summary.groups.add(label))
        else:
            slot[0] += 1
            stats = slot[2]
        stats.kind, stats.error_class = facts.kind, facts.error_class
        if stats.first_ms is None or ts < stats.first_ms:
            stats.first_ms = ts
        if stats.last_ms is None or ts > stats.last_ms:
            stats.last_ms = ts
        slot = stats.messages.slots.get(text)
        if slot is None:
            stats.messages.add(text)
        else:
            slot[0] += 1
        slot = stats.topics.slots.get(facts.topic)
        if slot is None:
            stats.topics.add(facts.topic)
        else:
            slot[0] += 1
        slot = stats.groups.slots.get(facts.group)
        if slot is None:
            stats.groups.add(facts.group)
        else:
            slot[0] += 1
        a = facts.attempts
        if a is not None:
            low, high = stats.attempts_min, stats.attempts_max
            stats.attempts_min = a if low is None or a < low else low
            stats.attempts_max = a if high is None or a > high else high
            bucket = facts.attempts_bucket
            assert bucket is not None
            stats.attempts[bucket] = stats.attempts.get(bucket, 0) + 1
        replays = stats.replays
        replays[facts.replays_bucket] = replays.get(facts.replays_bucket, 0) + 1
        if parked:
            stats.parked += 1

    def _hour(self, ts: int) -> str:
        text = self._hours[ts // 3_600_000] = _hour(ts)
        return text
