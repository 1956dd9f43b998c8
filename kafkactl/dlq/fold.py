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

from typing import Any

from kafkactl import headers as hdr
from kafkactl.dlq.triage import (
    MESSAGE_CHARS,
    GroupStats,
    TopK,
    TriageSummary,
    bucket,
    class_label,
    error_kind,
    hour_label,
    normalize_message,
)
from kafkactl.replay import conventions as cv
from kafkactl.replay.deadletter import (
    CLASS_HEADERS,
    MESSAGE_HEADERS,
    NUMERIC_HEADERS,
    DeadLetter,
    int_or_raw,
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
    *CLASS_HEADERS,
    hdr.GROUP,
    cv.SPRING_GROUP,
    cv.KARAFKA_GROUP,
)
_ABSENT = object()
_FACT_ABSENT = (_ABSENT,) * len(FACT_HEADERS)
_EM, _CEM, _SDM, _SRM = MESSAGE_HEADERS
_OP, _OO, _OT = hdr.ORIGINAL_PARTITION, hdr.ORIGINAL_OFFSET, hdr.ORIGINAL_TIMESTAMP
_OP_MAX, _OO_MAX, _OT_MAX = NUMERIC_HEADERS[_OP], NUMERIC_HEADERS[_OO], NUMERIC_HEADERS[_OT]
# ASCII digits 2-9 as "1": a message's normalised form does not depend on which digits it
# holds (every digit run becomes <n>; only "0x" is matched literally), so messages that differ
# only in numbers share one entry.
_DIGITS = bytes.maketrans(b"23456789", b"11111111")


class Facts:
    """What a combination of FACT_HEADERS values says, as the summary counts it (hashed by
    identity: one object per combination, a cheap part of a plan's key)."""

    __slots__ = (
        "attempts",
        "attempts_bucket",
        "error_class",
        "group",
        "kind",
        "label",
        "parked",
        "replays_bucket",
        "style",
        "topic",
    )

    def __init__(self, dl: DeadLetter, max_replays: int) -> None:
        origin = dl.origin
        self.style: str = origin.style
        self.topic: str = origin.topic or "-"
        self.kind: str = error_kind(dl)
        self.error_class: str | None = dl.error_class
        self.label: str = class_label(self.kind, self.error_class)  # the --by class group
        self.group: str = dl.group or dl.foreign_group or "-"
        self.attempts: int | None = origin.attempts
        self.attempts_bucket = None if self.attempts is None else bucket(self.attempts)
        self.replays_bucket: str = bucket(origin.replay_count)
        # replayed --max-replays times, or its replay count malformed
        replay_malformed = any(name == hdr.REPLAY_COUNT for name, _ in origin.malformed)
        self.parked: bool = origin.replay_count >= max_replays or replay_malformed


def _bad_number(raw: bytes | None, high: int) -> bool:
    """True when kafkactl's numeric header is not a whole number from 0 to `high` (a header
    without a value reads as b"": not one)."""
    return int_or_raw(raw or b"", high)[1] is not None


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
        # records counted together, by (facts, message, group, parked): [count, first, last]
        self._plans: dict[tuple[Facts, str, str, bool], list[int]] = {}

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
        facts = Facts(DeadLetter(*record), self.summary.max_replays)
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
        """Count a record now, or with the others of its plan (same facts, message, group and
        parked) when every counter it adds to has its key already: no key is made or evicted
        while a plan waits (`flush` runs first), so the counts come out as one by one."""
        by = self.summary.by
        if by == "class":
            label = facts.label
        elif by == "message":
            label = text
        elif by == "topic":
            label = facts.topic
        elif by == "key":
            label = "-" if key is None else key.decode("utf-8", "replace")[:MESSAGE_CHARS]
            self.flush()  # a key seldom repeats: no plan
            self._apply(facts, parked, text, label, 1, ts, ts)
            return
        else:
            label = self._hours.get(ts // 3_600_000) or self._hour(ts)
        plan_key = (facts, text, label, parked)
        plan = self._plans.get(plan_key)
        if plan is not None:
            plan[0] += 1
            if ts < plan[1]:
                plan[1] = ts
            elif ts > plan[2]:
                plan[2] = ts
        elif self._known(facts, text, label):
            self._plans[plan_key] = [1, ts, ts]
        else:
            self.flush()
            self._apply(facts, parked, text, label, 1, ts, ts)

    def _known(self, facts: Facts, text: str, label: str) -> bool:
        """Whether counting in this group adds to known keys only (and, by class, leaves the
        group's kind and class as they are: the last record's)."""
        slot = self.summary.groups.slots.get(label)
        if slot is None:
            return False
        stats: GroupStats = slot[2]
        if self.summary.by == "class" and (
            stats.kind != facts.kind or stats.error_class != facts.error_class
        ):
            return False
        return (
            text in stats.messages.slots
            and facts.topic in stats.topics.slots
            and facts.group in stats.groups.slots
        )

    def flush(self) -> None:
        """Count the records waiting in plans (after each poll, and before any new key)."""
        plans = self._plans
        if plans:
            self._plans = {}
            for (facts, text, label, parked), (n, first, last) in plans.items():
                self._apply(facts, parked, text, label, n, first, last, planned=True)

    def _apply(
        self,
        facts: Facts,
        parked: bool,
        text: str,
        label: str,
        n: int,
        first: int,
        last: int,
        planned: bool = False,
    ) -> None:
        """TriageSummary.add and GroupStats.add for `n` records of the same facts, message and
        group, at times from `first` to `last` (`planned`: a plan's, its keys all known)."""
        summary = self.summary
        summary.matched += n
        styles = summary.styles
        styles[facts.style] = styles.get(facts.style, 0) + n
        if summary.first_ms is None or first < summary.first_ms:
            summary.first_ms = first
        if summary.last_ms is None or last > summary.last_ms:
            summary.last_ms = last
        if parked:
            summary.parked += n
        stats: GroupStats = _add(summary.groups, label, n, planned)
        stats.kind, stats.error_class = facts.kind, facts.error_class
        if stats.first_ms is None or first < stats.first_ms:
            stats.first_ms = first
        if stats.last_ms is None or last > stats.last_ms:
            stats.last_ms = last
        _add(stats.messages, text, n, planned)
        _add(stats.topics, facts.topic, n, planned)
        _add(stats.groups, facts.group, n, planned)
        a = facts.attempts
        if a is not None:
            low, high = stats.attempts_min, stats.attempts_max
            stats.attempts_min = a if low is None or a < low else low
            stats.attempts_max = a if high is None or a > high else high
            at = facts.attempts_bucket
            assert at is not None
            stats.attempts[at] = stats.attempts.get(at, 0) + n
        replays = stats.replays
        replays[facts.replays_bucket] = replays.get(facts.replays_bucket, 0) + n
        if parked:
            stats.parked += n

    def _hour(self, ts: int) -> str:
        text = self._hours[ts // 3_600_000] = hour_label(ts)
        return text


def _add(counter: TopK[str, Any], key: str, n: int, planned: bool) -> Any:
    """TopK.add `n` times: a known key counted in place; a new one made by `add`, which may
    evict (one record only: a plan's keys are all known). Returns the key's payload."""
    slot = counter.slots.get(key)
    if slot is None:
        if planned or n != 1:
            raise AssertionError(f"a plan of {n} records counted in a new key {key!r}")
        return counter.add(key)
    slot[0] += n
    return slot[2]
